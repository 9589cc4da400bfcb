"""Typed stage tables and build options: the single source of truth for every family.

A stage reads like a row of the paper's table. Builders read these objects, and so can
analytic formulas and studies, so the numbers never come from two places.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, get_args

from .layers import ConvOptions, PaddingMode, check_activation, check_padding_mode

BlockKind = Literal["ds", "mbconv", "fused", "ir"]
BLOCK_KINDS: tuple[str, ...] = get_args(BlockKind)
ResNetBlockKind = Literal["bottleneck", "preact_basic"]
RESNET_BLOCK_KINDS: tuple[str, ...] = get_args(ResNetBlockKind)
VALID_STRIDES = (1, 2)


def _check_stride(name: str, stride: int) -> None:
    if stride not in VALID_STRIDES:
        raise ValueError(f"{name} must be one of {VALID_STRIDES}; got {stride}")


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0; got {value}")


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never going below 90% of it.

    This is the rule of the official TF EfficientNet/MobileNet code (torchvision
    ``_make_divisible``): ``max(divisor, int(v + divisor/2) // divisor * divisor)``, plus one
    more ``divisor`` when that rounded down by more than 10%.
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """Channels after width scaling: ``make_divisible(channels * width, divisor)``."""
    return make_divisible(channels * width, divisor)


def round_repeats(repeats: int, depth: float) -> int:
    """Blocks per stage after depth scaling: ``ceil(repeats * depth)``."""
    return math.ceil(repeats * depth)


@dataclass(frozen=True)
class BlockStage:
    """One row of a mobile-network stage table (EfficientNet, EfficientNetV2, MobileNetV2).

    Attributes:
        block: ``ds`` depthwise-separable, ``mbconv`` (expand → depthwise → SE → project),
            ``fused`` (Fused-MBConv), ``ir`` (MobileNetV2 inverted residual).
        expand_ratio: hidden width / input width (``t`` in MobileNetV2).
        kernel: spatial kernel of the depthwise (or fused) conv.
        stride: stride of the first block in the stage; later blocks use 1.
        in_channels, out_channels: channels into the first block and out of every block.
        repeats: number of blocks (``n`` / ``L`` in the papers).
        se_ratio: squeeze width as a fraction of the block's input channels; 0 means no SE.
    """

    block: BlockKind
    expand_ratio: int
    kernel: int
    stride: int
    in_channels: int
    out_channels: int
    repeats: int
    se_ratio: float = 0.0

    def __post_init__(self) -> None:
        if self.block not in BLOCK_KINDS:
            raise ValueError(f"block must be one of {', '.join(BLOCK_KINDS)}; got {self.block!r}")
        _check_stride("stride", self.stride)
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError(f"kernel must be a positive odd integer; got {self.kernel}")
        if self.expand_ratio < 1:
            raise ValueError(f"expand_ratio must be >= 1; got {self.expand_ratio}")
        for name in ("in_channels", "out_channels", "repeats"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}")
        if not 0.0 <= self.se_ratio < 1.0:
            raise ValueError(f"se_ratio must be in [0, 1); got {self.se_ratio}")

    def scaled(self, width: float, depth: float) -> BlockStage:
        """This stage under compound scaling: channels by ``round_filters``, repeats by ``round_repeats``."""
        return replace(
            self,
            in_channels=round_filters(self.in_channels, width),
            out_channels=round_filters(self.out_channels, width),
            repeats=round_repeats(self.repeats, depth),
        )


@dataclass(frozen=True)
class ResNetStage:
    """One ResNet stage: ``blocks`` blocks of width ``planes``, the first with ``stride``."""

    block: ResNetBlockKind
    planes: int
    blocks: int
    stride: int

    def __post_init__(self) -> None:
        if self.block not in RESNET_BLOCK_KINDS:
            raise ValueError(f"block must be one of {', '.join(RESNET_BLOCK_KINDS)}; got {self.block!r}")
        _check_stride("stride", self.stride)
        _check_positive("planes", self.planes)
        _check_positive("blocks", self.blocks)


@dataclass(frozen=True)
class NetOptions:
    """Variant switches shared by the mobile families; every field is a ``create_model`` keyword.

    Attributes:
        padding: ``symmetric``, ``same_static`` or ``same_dynamic`` (see ``layers.padding``).
        activation: name from ``layers.ACTIVATIONS``.
        se: keep squeeze-and-excitation where the stage table has it.
        drop_connect_rate: final stochastic-depth rate; block ``i`` of ``n`` uses ``rate * i / n``.
        dropout: dropout before the classifier.
        separable: False replaces every depthwise + pointwise pair with one standard k×k
            conv with the same in/out channels and stride.
        image_size: input resolution, which ``same_static`` padding is computed for.
        num_classes: classifier outputs.
        stem_stride: stride of the stem conv.
        bn_eps: BatchNorm epsilon.
    """

    padding: PaddingMode = "symmetric"
    activation: str = "silu"
    se: bool = True
    drop_connect_rate: float = 0.2
    dropout: float = 0.2
    separable: bool = True
    image_size: int = 224
    num_classes: int = 1000
    stem_stride: int = 2
    bn_eps: float = 1e-5

    def __post_init__(self) -> None:
        check_padding_mode(self.padding)
        check_activation(self.activation)
        for name in ("drop_connect_rate", "dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1); got {value}")
        if self.image_size < 1:
            raise ValueError(f"image_size must be >= 1; got {self.image_size}")
        if self.num_classes < 1:
            raise ValueError(f"num_classes must be >= 1; got {self.num_classes}")
        _check_stride("stem_stride", self.stem_stride)

    def conv_options(self) -> ConvOptions:
        """The padding and BatchNorm epsilon every ``ConvNormAct`` of the network is built with."""
        return ConvOptions(padding=self.padding, bn_eps=self.bn_eps)
