"""Blocks, and the one table mapping a stage's block kind to its constructor."""

from collections.abc import Callable

from torch import nn

from .mobile import DepthwiseSeparable, FusedMBConv, InvertedResidual, MBConv
from .resnet import PoolSqueezeExcite, PreActSEBlock, SEBottleneck

#: ``BlockStage.block`` → block class. Add a new mobile block kind here and in ``specs.BlockKind``.
MOBILE_BLOCKS: dict[str, Callable[..., nn.Module]] = {
    "ds": DepthwiseSeparable,
    "mbconv": MBConv,
    "ir": InvertedResidual,
    "fused": FusedMBConv,
}

#: ``ResNetStage.block`` → block class.
RESNET_BLOCKS: dict[str, Callable[..., nn.Module]] = {
    "bottleneck": SEBottleneck,
    "preact_basic": PreActSEBlock,
}

__all__ = [
    "MOBILE_BLOCKS",
    "RESNET_BLOCKS",
    "DepthwiseSeparable",
    "FusedMBConv",
    "InvertedResidual",
    "MBConv",
    "PoolSqueezeExcite",
    "PreActSEBlock",
    "SEBottleneck",
]
