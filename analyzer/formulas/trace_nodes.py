"""The trace nodes the walk records at the torch-function level (see :mod:`convcost.analyzer.formulas.traced`), and
their record keys. Plain names, no torch: tool conventions read them."""

from __future__ import annotations

from collections.abc import Iterator

from ..naming import StrEnum


class TracedOp(StrEnum):
    """A trace node the walk records (see the module docstring)."""

    #: a convolution with padding "same" or "valid"
    CONVOLUTION_MODE = "aten::_convolution_mode"
    ADAPTIVE_AVG_POOL2D = "aten::adaptive_avg_pool2d"
    BATCH_NORM = "aten::batch_norm"
    INSTANCE_NORM = "aten::instance_norm"
    LAYER_NORM = "aten::layer_norm"
    GROUP_NORM = "aten::group_norm"
    SCALED_DOT_PRODUCT_ATTENTION = "aten::scaled_dot_product_attention"
    BADDBMM = "aten::baddbmm"
    ADDMV = "aten::addmv"
    MV = "aten::mv"
    DOT = "aten::dot"
    VDOT = "aten::vdot"
    EINSUM = "aten::einsum"
    UPSAMPLE_NEAREST2D = "aten::upsample_nearest2d"
    UPSAMPLE_BILINEAR2D = "aten::upsample_bilinear2d"
    GRID_SAMPLER = "aten::grid_sampler"


#: Norm nodes, whose record says whether the call had affine weights (and batch norm's, batch statistics).
NORM_OPS = (TracedOp.BATCH_NORM, TracedOp.INSTANCE_NORM, TracedOp.LAYER_NORM, TracedOp.GROUP_NORM)
AFFINE = "affine"
BATCH_STATISTICS = "batch statistics"


def traced_key(op: TracedOp, *, affine: bool = False, batch_statistics: bool = False) -> str:
    """The record key of ``op``: its name, then in parentheses ``affine`` and ``batch statistics`` when they hold
    (``"aten::batch_norm (affine)"``)."""
    qualifiers = [word for word, holds in ((AFFINE, affine), (BATCH_STATISTICS, batch_statistics)) if holds]
    return f"{op.value} ({', '.join(qualifiers)})" if qualifiers else op.value


def traced_keys(op: TracedOp) -> Iterator[tuple[str, bool, bool]]:
    """Every key ``op`` may be recorded under, with its ``(affine, batch statistics)``."""
    for affine in (False, True):
        for batch in (False, True):
            if batch and op is not TracedOp.BATCH_NORM:
                continue
            yield traced_key(op, affine=affine, batch_statistics=batch), affine, batch
