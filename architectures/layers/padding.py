"""Convolution padding modes: PyTorch-symmetric and TensorFlow "SAME" (static and dynamic).

TensorFlow's "SAME" padding makes a convolution produce ``ceil(in / stride)`` outputs per
spatial dimension, padding more on the bottom/right when the total pad is odd. PyTorch's
symmetric ``k // 2`` padding gives the same size only for odd inputs or stride 1.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

PaddingMode = Literal["symmetric", "same_static", "same_dynamic"]
PADDING_MODES: tuple[str, ...] = get_args(PaddingMode)


def same_pad_total(size: int, kernel: int, stride: int, dilation: int = 1) -> int:
    """Total TF-"SAME" padding (pixels) along one dimension of length ``size``."""
    out = math.ceil(size / stride)
    return max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)


def same_pad_2d(
    size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> tuple[int, int, int, int]:
    """``F.pad`` tuple (left, right, top, bottom) for TF-"SAME" on an ``(H, W)`` input."""
    pad_h = same_pad_total(size[0], kernel[0], stride[0], dilation[0])
    pad_w = same_pad_total(size[1], kernel[1], stride[1], dilation[1])
    return (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)


class Conv2dSameDynamic(nn.Conv2d):
    """Conv2d with TF-"SAME" padding computed from each input's size (any resolution)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = same_pad_2d(
            (x.shape[-2], x.shape[-1]), self.kernel_size, self.stride, self.dilation  # type: ignore[arg-type]
        )
        if any(pad):
            x = F.pad(x, pad)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class Conv2dSameStatic(nn.Conv2d):
    """Conv2d with TF-"SAME" padding fixed once for one input size (exportable, no shape logic).

    Raises ``ValueError`` at run time if the input size differs from the size it was built
    for, since a fixed pad would then silently change the output size.
    """

    def __init__(self, *args: object, input_size: tuple[int, int], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.input_size = input_size
        self.same_pad = same_pad_2d(input_size, self.kernel_size, self.stride, self.dilation)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.input_size:
            raise ValueError(
                f"same_static conv was built for {self.input_size[0]}x{self.input_size[1]} inputs "
                f"but got {x.shape[-2]}x{x.shape[-1]}; build the model with image_size="
                f"{x.shape[-2]} or use padding='same_dynamic'"
            )
        if any(self.same_pad):
            x = F.pad(x, self.same_pad)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, same_pad={self.same_pad}"


def check_padding_mode(padding: str) -> None:
    """Raise ``ValueError`` unless ``padding`` is one of :data:`PADDING_MODES`."""
    if padding not in PADDING_MODES:
        raise ValueError(f"padding must be one of {', '.join(PADDING_MODES)}; got {padding!r}")


def create_conv2d(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    *,
    groups: int = 1,
    dilation: int = 1,
    bias: bool = False,
    padding: PaddingMode = "symmetric",
    input_size: tuple[int, int] | None = None,
) -> nn.Conv2d:
    """Build a square 2-d convolution with the given padding mode.

    Args:
        padding: ``symmetric`` pads ``dilation * (k - 1) // 2`` on every side (PyTorch
            style); ``same_static`` and ``same_dynamic`` give TF "SAME" output size
            ``ceil(in / stride)``.
        input_size: ``(H, W)`` this conv will see; required for ``same_static``.
    """
    check_padding_mode(padding)
    if padding == "symmetric":
        return nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding=dilation * (kernel_size - 1) // 2,
            dilation=dilation, groups=groups, bias=bias,
        )
    if padding == "same_dynamic":
        return Conv2dSameDynamic(
            in_channels, out_channels, kernel_size, stride, dilation=dilation, groups=groups, bias=bias
        )
    if input_size is None:
        raise ValueError("padding='same_static' needs input_size (the H, W the conv will see)")
    return Conv2dSameStatic(
        in_channels, out_channels, kernel_size, stride, dilation=dilation, groups=groups, bias=bias,
        input_size=input_size,
    )


def strided_size(size: tuple[int, int], stride: int) -> tuple[int, int]:
    """Output ``(H, W)`` of an odd-kernel conv with "SAME" or symmetric padding: ``ceil(in / stride)``."""
    return (math.ceil(size[0] / stride), math.ceil(size[1] / stride))
