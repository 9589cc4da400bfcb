"""Building blocks shared by every family: convs with padding modes, norm, activations, SE."""

from .activations import ACTIVATIONS, MemoryEfficientSwish, Swish, check_activation, create_activation
from .conv_norm_act import ConvNormAct, ConvOptions
from .drop_path import DropPath
from .padding import (
    PADDING_MODES,
    Conv2dSameDynamic,
    Conv2dSameStatic,
    PaddingMode,
    check_padding_mode,
    create_conv2d,
    same_pad_2d,
    strided_size,
)
from .squeeze_excite import SqueezeExcite, se_channels

__all__ = [
    "ACTIVATIONS",
    "PADDING_MODES",
    "Conv2dSameDynamic",
    "Conv2dSameStatic",
    "ConvNormAct",
    "ConvOptions",
    "DropPath",
    "MemoryEfficientSwish",
    "PaddingMode",
    "SqueezeExcite",
    "Swish",
    "check_activation",
    "check_padding_mode",
    "create_activation",
    "create_conv2d",
    "same_pad_2d",
    "se_channels",
    "strided_size",
]
