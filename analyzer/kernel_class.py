"""The kernel class of a layer: what the latency model fits one efficiency for.

Conv and linear layers take their kind from their hyper-parameters
(:class:`~convcost.analyzer.formulas.layers.ConvKind`; a transposed conv counts as standard); a
module that multiplies through a functional call (``F.conv2d``, ``matmul``) with no layer of its own
is a ``linear`` (matrix products) or ``standard`` (convolutions) kernel by its operators; a layer whose FLOPs are
mostly windowed pooling (max or average over a sliding window, not a global mean) is ``pooling``. Every other
layer takes the class of the operator family it spends most FLOPs in (then most calls; a tie goes to the family
first in this list): ``normalization`` (batch, layer and group norm), ``activation`` (ReLU, clamps, sigmoid, SiLU,
GELU, ...), ``reduction`` (a global mean, sum or max, softmax), else ``elementwise`` (a container's residual adds
and squeeze-excite scales, windowed pooling in a minority, and a layer with no operator at all). The families
differ in what a call costs beyond its bytes: here a batch norm's fixed cost is about twice a ReLU's.
"""

from __future__ import annotations

from .formulas.layers import ConvKind
from .formulas.ops import OpKey
from .naming import StrEnum
from .records import LayerRecord

__all__ = ["MEMORY_BOUND_CLASSES", "KernelClass", "layer_class"]


class KernelClass(StrEnum):
    """The classes of kernel the latency model tells apart."""

    STANDARD = "standard"
    DEPTHWISE = "depthwise"
    POINTWISE = "pointwise"
    GROUPED = "grouped"
    LINEAR = "linear"
    #: a sliding max or average window (a 3x3/2 max pool moves 1.2-1.4 GB/s here, an activation 7-83 GB/s)
    POOLING = "pooling"
    #: batch, layer and group norm (a batch norm's fixed cost is about twice a ReLU's here)
    NORMALIZATION = "normalization"
    #: ReLU, clamps, sigmoid, SiLU, GELU, hard-swish, ...
    ACTIVATION = "activation"
    #: a global mean, sum or max, softmax
    REDUCTION = "reduction"
    #: adds, multiplies, divides and the rest
    ELEMENTWISE = "elementwise"


#: The classes of the layers between the convs, each a sweep over a tensor doing a few FLOPs per element it moves
#: (windowed pooling, with a window to read per output, is apart).
MEMORY_BOUND_CLASSES = frozenset({KernelClass.NORMALIZATION, KernelClass.ACTIVATION, KernelClass.REDUCTION,
                                  KernelClass.ELEMENTWISE})


_BY_KIND = {ConvKind.STANDARD: KernelClass.STANDARD, ConvKind.TRANSPOSED: KernelClass.STANDARD,
            ConvKind.DEPTHWISE: KernelClass.DEPTHWISE, ConvKind.POINTWISE: KernelClass.POINTWISE,
            ConvKind.GROUPED: KernelClass.GROUPED, ConvKind.LINEAR: KernelClass.LINEAR}
_FAMILY = {OpKey.BATCH_NORM: KernelClass.NORMALIZATION, OpKey.NORM: KernelClass.NORMALIZATION,
           **dict.fromkeys((OpKey.RELU, OpKey.CLAMP, OpKey.ACTIVATION, OpKey.SIGMOID, OpKey.TANH, OpKey.HARDSIGMOID,
                            OpKey.SILU, OpKey.HARDSWISH, OpKey.MISH), KernelClass.ACTIVATION),
           **dict.fromkeys((OpKey.MEAN, OpKey.SUM, OpKey.MAX, OpKey.SOFTMAX), KernelClass.REDUCTION)}


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
    by_family: dict[KernelClass, tuple[int, int]] = {}
    for key, op in record.ops.items():
        family = _FAMILY.get(key, KernelClass.ELEMENTWISE)
        spent = by_family.get(family, (0, 0))
        by_family[family] = (spent[0] + op.flops, spent[1] + op.calls)
    order = list(KernelClass)
    return max(by_family, key=lambda family: (*by_family[family], -order.index(family)),
               default=KernelClass.ELEMENTWISE)
