"""The CPU kernel library a convolution runs on: what torch's dispatch picks for its shapes and thread count.

On a CPU torch runs a float32 convolution either on oneDNN (``mkldnn``), which reorders the input, weights and
output into its blocked layouts on every call, or natively (``slow_conv2d``: im2col and a BLAS matrix product; a
1x1 conv is the product alone). It picks by shape and thread count: at batch 1 an ungrouped, unstrided 1x1 conv
goes to oneDNN only with more than one thread and more than 20,480 input elements, so a MobileNetV2's 1x1 convs on
14x14 maps split between the two by channel count. The fixed cost of a call differs by library: fitted on this
machine's micro-benchmarks at 2 threads, 69-71 µs per oneDNN 1x1 conv against 22-27 µs per native one (two fits).
The latency model (:mod:`convcost.analyzer.latency_model`) fits a class per library where its micro-benchmarks
cover more than one.

The pick is torch's own (``torch._C._select_conv_backend``, asked on an uninitialised contiguous tensor of the
layer's input shape, nothing run): None where this torch does not say, or for a layer that is not a convolution.
"""

from __future__ import annotations

import torch

from .formulas.layers import ConvKind
from .naming import StrEnum
from .records import LayerRecord

__all__ = ["ConvLibrary", "conv_library"]

#: The name torch's bindings give a pick they do not name: on a CPU, for a transposed conv, oneDNN's
#: ``MkldnnTranspose`` (its other picks there, ``SlowTranspose2d`` and ``SlowTranspose3d``, are named).
_UNNAMED = "???"


class ConvLibrary(StrEnum):
    """The kernel libraries the latency model tells apart."""

    ONEDNN = "onednn"
    NATIVE = "native"
    OTHER = "other"


def conv_library(record: LayerRecord) -> ConvLibrary | None:
    """The library torch runs ``record``'s convolution on here, with the intra-op threads now set (see the module
    docstring); None for a layer that is not a convolution or when this torch does not say."""
    check = record.check
    select = getattr(torch._C, "_select_conv_backend", None)
    if check is None or check.kind is ConvKind.LINEAR or select is None or not record.input_shapes:
        return None
    spatial, transposed = len(check.kernel), check.kind is ConvKind.TRANSPOSED
    weight = ((check.in_channels, check.out_channels // check.groups) if transposed
              else (check.out_channels, check.in_channels // check.groups))
    try:
        chosen = select(torch.empty(record.input_shapes[0]), torch.empty(*weight, *check.kernel),
                        None, list(check.stride), _padding(check.padding, check.kernel, check.dilation),
                        list(check.dilation), transposed, [0] * spatial, check.groups, None)
    except (RuntimeError, TypeError, ValueError):
        return None
    name = getattr(chosen, "name", "")
    if name.startswith("Mkldnn") or (transposed and name == _UNNAMED):
        return ConvLibrary.ONEDNN
    return ConvLibrary.NATIVE if name.startswith("Slow") else ConvLibrary.OTHER


def _padding(stated: str, kernel: tuple[int, ...], dilation: tuple[int, ...]) -> list[int]:
    """Pixels of padding per side: as the layer states them (``"2x2"``; ``"valid"``: none), else (``"same"``,
    padding in its own forward) what keeps the map's size."""
    sizes = stated.split("x")
    if len(sizes) == len(kernel) and all(size.isdigit() for size in sizes):
        return [int(size) for size in sizes]
    if stated == "valid":
        return [0] * len(kernel)
    return [spread * (size - 1) // 2 for size, spread in zip(kernel, dilation, strict=True)]
