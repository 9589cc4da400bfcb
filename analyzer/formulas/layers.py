"""Layer formulas from hyper-parameters: params and MACs of convolutions and linear layers.

These read only a layer's configuration and its input shape (never a measured count),
so they are an independent check on the operator-level engines.

Convolution (any kind), with ``k`` the kernel sizes and ``g`` the groups:
    params = C_out · (C_in / g) · prod(k) + (C_out if bias)
    MACs   = N · C_out · prod(out_spatial) · (C_in / g) · prod(k)
    transposed: MACs = N · C_in · prod(in_spatial) · (C_out / g) · prod(k)
Linear: params = in · out + (out if bias); MACs = (elements of the input / in) · in · out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from ..naming import StrEnum


class ConvKind(StrEnum):
    """What kind of conv or linear layer a module is (from its hyper-parameters, never its name)."""

    STANDARD = "standard"
    DEPTHWISE = "depthwise"
    POINTWISE = "pointwise"
    GROUPED = "grouped"
    TRANSPOSED = "transposed"
    LINEAR = "linear"

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LayerHyper:
    """Hyper-parameters of a conv or linear layer (linear: kernel ``()``, groups 1).

    Attributes:
        padding: per-dimension pixels, or ``"same"``/``"valid"``, or ``"in forward"`` for a
            conv subclass that pads inside its own forward (TF "same").
    """

    in_channels: int
    out_channels: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str
    dilation: tuple[int, ...]
    groups: int
    bias: bool
    transposed: bool = False
    output_padding: tuple[int, ...] = ()
    is_linear: bool = False

    @property
    def kind(self) -> ConvKind:
        """``depthwise``: one group per input channel; ``pointwise``: 1×1, ungrouped; ``grouped``: other groups."""
        if self.is_linear:
            return ConvKind.LINEAR
        if self.transposed:
            return ConvKind.TRANSPOSED
        if self.groups > 1 and self.groups == self.in_channels:
            return ConvKind.DEPTHWISE
        if self.groups > 1:
            return ConvKind.GROUPED
        if all(k == 1 for k in self.kernel):
            return ConvKind.POINTWISE
        return ConvKind.STANDARD


_CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def layer_hyper(module: nn.Module) -> LayerHyper | None:
    """Hyper-parameters of a conv or linear module, or None for any other module."""
    if isinstance(module, nn.Linear):
        return LayerHyper(module.in_features, module.out_features, (), (), (), (), 1, module.bias is not None,
                          is_linear=True)
    if not isinstance(module, _CONV_TYPES):
        return None
    padding: tuple[int, ...] | str = module.padding if isinstance(module.padding, str) else tuple(module.padding)
    base = next(t for t in type(module).__mro__ if t in _CONV_TYPES)
    overridden = [method for method in ("forward", "_conv_forward")
                  if getattr(type(module), method, None) is not getattr(base, method, None)]
    if overridden:  # a subclass that pads itself (TF "same") before calling F.convNd
        padding = "in forward"
    return LayerHyper(
        module.in_channels, module.out_channels, tuple(module.kernel_size), tuple(module.stride), padding,
        tuple(module.dilation), module.groups, module.bias is not None, module.transposed,
        tuple(module.output_padding),
    )


def layer_params(h: LayerHyper) -> int:
    """Trainable parameters of the layer."""
    if h.is_linear:
        return h.in_channels * h.out_channels + (h.out_channels if h.bias else 0)
    weights = h.out_channels * (h.in_channels // h.groups) * math.prod(h.kernel)
    return weights + (h.out_channels if h.bias else 0)


def conv_output_spatial(h: LayerHyper, in_spatial: Shape) -> Shape | None:
    """Output spatial size from the PyTorch shape formula, or None when padding happens in forward."""
    if h.padding == "in forward":
        return None
    if h.padding == "same":
        return tuple(in_spatial)
    padding = (0,) * len(in_spatial) if isinstance(h.padding, str) else h.padding  # "valid"
    sizes = []
    for i, size in enumerate(in_spatial):
        reach = h.dilation[i] * (h.kernel[i] - 1)
        if h.transposed:
            sizes.append((size - 1) * h.stride[i] - 2 * padding[i] + reach + h.output_padding[i] + 1)
        else:
            sizes.append((size + 2 * padding[i] - reach - 1) // h.stride[i] + 1)
    return tuple(sizes)


def layer_macs(h: LayerHyper, input_shape: Shape, output_spatial: Shape) -> int:
    """Multiply-accumulates for one call on ``input_shape`` (batch included)."""
    if h.is_linear:
        return math.prod(input_shape[:-1]) * h.in_channels * h.out_channels
    spatial_dims = len(h.kernel)
    batch = input_shape[0] if len(input_shape) == spatial_dims + 2 else 1  # unbatched (C, *spatial) input
    per_position = (h.in_channels // h.groups) * h.out_channels * math.prod(h.kernel)
    if h.transposed:
        return batch * math.prod(input_shape[-spatial_dims:]) * per_position
    return batch * math.prod(output_spatial) * per_position


def separable_ratio_theory(out_channels: int, kernel: int) -> float:
    """MobileNet's cost ratio of depthwise + pointwise to a standard k×k conv: ``1/C_out + 1/k²``."""
    return 1 / out_channels + 1 / kernel**2
