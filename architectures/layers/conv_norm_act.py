"""Conv → BatchNorm → activation, the unit every family is built from."""

from __future__ import annotations

from typing import TypedDict

from torch import nn

from .activations import create_activation
from .padding import PaddingMode, create_conv2d


class ConvOptions(TypedDict):
    """The :class:`ConvNormAct` keywords every conv of one network shares; spread them with ``**``.

    Typed, so a type checker matches each key against ``ConvNormAct``'s own parameters.
    """

    padding: PaddingMode
    bn_eps: float


class ConvNormAct(nn.Sequential):
    """``conv`` (no bias) → ``bn`` → ``act`` (omitted when ``activation`` is None).

    Args:
        input_size: ``(H, W)`` the conv sees; needed only for ``same_static`` padding.
        bn_eps: BatchNorm epsilon (TF-ported EfficientNets use 1e-3).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        *,
        groups: int = 1,
        activation: str | None = "silu",
        padding: PaddingMode = "symmetric",
        input_size: tuple[int, int] | None = None,
        bn_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.conv = create_conv2d(
            in_channels, out_channels, kernel_size, stride, groups=groups, padding=padding, input_size=input_size
        )
        self.bn = nn.BatchNorm2d(out_channels, eps=bn_eps)
        if activation is not None:
            self.act = create_activation(activation)
