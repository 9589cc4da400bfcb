"""The kernel class of a layer: what the latency model fits one efficiency for.

Conv and linear layers take their kind from their hyper-parameters
(:class:`~convcost.analyzer.formulas.layers.ConvKind`; a transposed conv counts as standard); a
module that multiplies through a functional call (``F.conv2d``, ``matmul``) with no layer of its own
is a ``linear`` (matrix products) or ``standard`` (convolutions) kernel by its operators; a layer whose FLOPs are
mostly windowed pooling (max or average over a sliding window, not a global mean) is ``pooling``; every other
layer, a container's own residual adds and scales included, is ``elementwise``.
"""

from __future__ import annotations

from .formulas.layers import ConvKind
from .formulas.ops import OpKey
from .naming import StrEnum
from .records import LayerRecord

__all__ = ["KernelClass", "layer_class"]


class KernelClass(StrEnum):
    """The classes of kernel the latency model tells apart."""

    STANDARD = "standard"
    DEPTHWISE = "depthwise"
    POINTWISE = "pointwise"
    GROUPED = "grouped"
    LINEAR = "linear"
    #: a sliding max or average window (a 3x3/2 max pool moves 1.2-1.4 GB/s here, an activation 7-83 GB/s)
    POOLING = "pooling"
    ELEMENTWISE = "elementwise"


_BY_KIND = {ConvKind.STANDARD: KernelClass.STANDARD, ConvKind.TRANSPOSED: KernelClass.STANDARD,
            ConvKind.DEPTHWISE: KernelClass.DEPTHWISE, ConvKind.POINTWISE: KernelClass.POINTWISE,
            ConvKind.GROUPED: KernelClass.GROUPED, ConvKind.LINEAR: KernelClass.LINEAR}


def layer_class(record: LayerRecord) -> KernelClass:
    """``record``'s kernel class (see the module docstring)."""
    if record.check is not None:
        return _BY_KIND[record.check.kind]
    macs = {key: op.macs for key, op in record.ops.items() if op.macs}
    if macs.get(OpKey.CONV, 0) and macs[OpKey.CONV] >= sum(macs.values()) / 2:
        return KernelClass.STANDARD
    flops = sum(op.flops for op in record.ops.values())
    if 2 * sum(macs.values()) > flops / 2:  # mostly multiply-adds
        return KernelClass.LINEAR
    pooled = record.ops.get(OpKey.POOL)
    if pooled is not None and pooled.flops > flops / 2:
        return KernelClass.POOLING
    return KernelClass.ELEMENTWISE
