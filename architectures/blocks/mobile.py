"""Mobile blocks: depthwise-separable, MBConv, MobileNetV2 inverted residual, Fused-MBConv."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from ..layers import ConvNormAct, DropPath, SqueezeExcite, se_channels, strided_size
from ..specs import BlockStage, NetOptions


class _ResidualBlock(nn.Module):
    """Runs its children in registration order, then adds the input through stochastic depth.

    Subclasses register their layers in forward order and set ``use_residual``.
    """

    use_residual: bool

    def _init_residual(self, use_residual: bool, drop_path_rate: float) -> None:
        self.use_residual = use_residual
        if use_residual:
            self.drop_path = DropPath(drop_path_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for name, layer in self.named_children():
            if name != "drop_path":
                out = layer(out)
        if self.use_residual:
            out = self.drop_path(out) + x
        return out


class MBConv(_ResidualBlock):
    """Mobile inverted bottleneck (Sandler et al. 2018; Tan & Le 2019).

    ``expand`` (1×1, omitted when ``expand_ratio`` is 1) → ``depthwise`` (k×k, stride) →
    ``se`` → ``project`` (1×1, linear). The residual, through stochastic depth, is used
    when stride is 1 and ``in_channels == out_channels``.

    With ``options.separable`` False, depthwise + project become one standard k×k conv
    ``conv`` (hidden → out channels, same stride, linear) and SE gates its output.

    Args:
        block: this block's row (``repeats`` is ignored; ``stride`` and ``in_channels`` are the block's own).
        input_size: ``(H, W)`` of the block input, for ``same_static`` padding.
        drop_path_rate: stochastic-depth rate of this block.
    """

    def __init__(
        self, block: BlockStage, options: NetOptions, input_size: tuple[int, int], drop_path_rate: float = 0.0
    ) -> None:
        super().__init__()
        in_channels, out_channels, kernel, stride = block.in_channels, block.out_channels, block.kernel, block.stride
        expand_ratio, se_ratio = block.expand_ratio, block.se_ratio
        hidden = in_channels * expand_ratio
        common = options.conv_options()
        act = options.activation
        squeeze = se_channels(in_channels, se_ratio) if options.se and se_ratio > 0 else 0
        if expand_ratio != 1:
            self.expand = ConvNormAct(in_channels, hidden, 1, activation=act, input_size=input_size, **common)
        if options.separable:
            self.depthwise = ConvNormAct(
                hidden, hidden, kernel, stride, groups=hidden, activation=act, input_size=input_size, **common
            )
            if squeeze:
                self.se = SqueezeExcite(hidden, squeeze, activation=act)
            out_size = strided_size(input_size, stride)
            self.project = ConvNormAct(hidden, out_channels, 1, activation=None, input_size=out_size, **common)
        else:
            self.conv = ConvNormAct(
                hidden, out_channels, kernel, stride, activation=None, input_size=input_size, **common
            )
            if squeeze:
                self.se = SqueezeExcite(out_channels, squeeze, activation=act)
        self._init_residual(stride == 1 and in_channels == out_channels, drop_path_rate)


class DepthwiseSeparable(MBConv):
    """Depthwise k×k → SE → pointwise 1×1 (MobileNetV1 / EfficientNet stage 1): MBConv without expansion."""

    def __init__(
        self, block: BlockStage, options: NetOptions, input_size: tuple[int, int], drop_path_rate: float = 0.0
    ) -> None:
        super().__init__(replace(block, expand_ratio=1), options, input_size, drop_path_rate)


class InvertedResidual(MBConv):
    """MobileNetV2 inverted residual with linear bottleneck: MBConv with no SE (ReLU6 set by the net)."""

    def __init__(
        self, block: BlockStage, options: NetOptions, input_size: tuple[int, int], drop_path_rate: float = 0.0
    ) -> None:
        super().__init__(replace(block, se_ratio=0.0), options, input_size, drop_path_rate)


class FusedMBConv(_ResidualBlock):
    """Fused-MBConv (Tan & Le 2021): ``expand`` k×k conv (stride) → ``se`` → ``project`` 1×1 (linear).

    With ``expand_ratio`` 1 it is a single k×k conv ``conv`` with activation. No depthwise
    conv, so ``options.separable`` does not change it.
    """

    def __init__(
        self, block: BlockStage, options: NetOptions, input_size: tuple[int, int], drop_path_rate: float = 0.0
    ) -> None:
        super().__init__()
        in_channels, out_channels, kernel, stride = block.in_channels, block.out_channels, block.kernel, block.stride
        expand_ratio, se_ratio = block.expand_ratio, block.se_ratio
        hidden = in_channels * expand_ratio
        common = options.conv_options()
        act = options.activation
        if expand_ratio == 1:
            self.conv = ConvNormAct(
                in_channels, out_channels, kernel, stride, activation=act, input_size=input_size, **common
            )
        else:
            self.expand = ConvNormAct(
                in_channels, hidden, kernel, stride, activation=act, input_size=input_size, **common
            )
            if options.se and se_ratio > 0:
                self.se = SqueezeExcite(hidden, se_channels(in_channels, se_ratio), activation=act)
            out_size = strided_size(input_size, stride)
            self.project = ConvNormAct(hidden, out_channels, 1, activation=None, input_size=out_size, **common)
        self._init_residual(stride == 1 and in_channels == out_channels, drop_path_rate)
