"""Study ``se``: what squeeze-and-excitation costs, and where its parameters sit.

Compares two analyses of the same input — a network without SE and the same network with
it (ResNet-50 vs SE-ResNet-50; EfficientNet-B0 built with ``se=False`` vs as published) —
in total and per stage (the direct children of ``stages``). SE adds two 1×1 convs per
block on a globally pooled map, so its parameters grow with the square of the block's
width (``2·C²/r + C/r + C`` with biases) while its MACs (``2·C²/r`` per image) do not grow
with the feature map: it is parameter-heavy in the wide late stages and nearly free in
MACs. Its FLOPs also include the pooling, the gate activations and the ``x · gate``
multiply over the full map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..analysis import Analysis
from .common import analyze_model, children, records_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CLAIMED_LAST_STAGE_SHARE",
    "PAPER_PAIR",
    "SENET_PAPER_GFLOPS",
    "SE_PAIRS",
    "SeComparison",
    "SeRow",
    "SeStudy",
    "compare_se",
    "pair_label",
    "se_study",
]

#: (without SE, with SE) as registry names and overrides.
SE_PAIRS: tuple[tuple[tuple[str, dict[str, object]], tuple[str, dict[str, object]]], ...] = (
    (("resnet50", {}), ("se_resnet50", {})),
    (("efficientnet_b0", {"se": False}), ("efficientnet_b0", {})),
)
STAGES = "stages"
#: ResNet-50 → SE-ResNet-50 multiply-adds in the SENet paper (Hu et al. 2018, Table 2): +0.26 %.
SENET_PAPER_GFLOPS: tuple[float, float] = (3.86, 3.87)
#: The comparison the SENet paper makes, as (base label, SE label) of :func:`compare_se`.
PAPER_PAIR: tuple[str, str] = ("resnet50", "se_resnet50")
#: A claim often repeated about SE-ResNet-50: the final stage holds 96 % of SE's extra parameters.
CLAIMED_LAST_STAGE_SHARE = 0.96


@dataclass(frozen=True)
class SeRow:
    """One part of the network (a stage, or ``""`` for the whole model) without and with SE.

    Attributes:
        module: module name (``stages.3``), ``""`` for the whole model.
        base_*: figures of the network without SE; se_*: with SE.
        *_params: trainable parameters; *_macs: conv + linear multiply-accumulates;
        *_flops: all-operator FLOPs; *_training_bytes: activation bytes saved for backward.
    """

    module: str
    base_params: int
    se_params: int
    base_macs: int
    se_macs: int
    base_flops: int
    se_flops: int
    base_training_bytes: int
    se_training_bytes: int

    @property
    def extra_params(self) -> int:
        """Parameters SE adds here."""
        return self.se_params - self.base_params

    @property
    def extra_macs(self) -> int:
        """MACs SE adds here."""
        return self.se_macs - self.base_macs

    @property
    def extra_flops(self) -> int:
        """FLOPs SE adds here."""
        return self.se_flops - self.base_flops

    @property
    def extra_training_bytes(self) -> int:
        """Saved-for-backward bytes SE adds here."""
        return self.se_training_bytes - self.base_training_bytes


@dataclass(frozen=True)
class SeComparison:
    """A network without and with SE: whole-model row, per-stage rows, and shares of the extra parameters.

    Attributes:
        base_model, se_model: labels of the two analyses (``efficientnet_b0 se=False`` …).
        resolution: input side (pixels); batch: images per pass.
        total: the whole model.
        stages: one row per stage, in order.
    """

    base_model: str
    se_model: str
    resolution: int
    batch: int
    total: SeRow
    stages: tuple[SeRow, ...]

    @property
    def params_increase(self) -> float:
        """Extra parameters as a fraction of the base network's."""
        return self.total.extra_params / self.total.base_params

    @property
    def macs_increase(self) -> float:
        """Extra MACs as a fraction of the base network's."""
        return self.total.extra_macs / self.total.base_macs

    @property
    def flops_increase(self) -> float:
        """Extra all-operator FLOPs as a fraction of the base network's."""
        return self.total.extra_flops / self.total.base_flops

    def stage_shares(self) -> dict[str, float]:
        """Each stage's fraction of the extra parameters (they sum to 1 when only stages gain SE)."""
        return {row.module: row.extra_params / self.total.extra_params for row in self.stages}

    @property
    def last_stage_share(self) -> float:
        """Fraction of the extra parameters in the last stage."""
        return self.stages[-1].extra_params / self.total.extra_params

    def to_dataframe(self) -> pd.DataFrame:
        """Per-stage rows then the whole model (``module == ""``), with the extra figures and shares."""
        frame = records_frame([*self.stages, self.total])
        frame.insert(0, "se_model", self.se_model)
        frame.insert(0, "base_model", self.base_model)
        frame["share_of_extra_params"] = frame["extra_params"] / self.total.extra_params
        return frame


def compare_se(base: Analysis, with_se: Analysis, *, base_label: str | None = None,
               se_label: str | None = None) -> SeComparison:
    """Compare two analyses of the same input, the second with SE, in total and per stage.

    Raises:
        ValueError: different inputs, or different stage names.
    """
    if base.input_shapes != with_se.input_shapes:
        raise ValueError(f"analyses of different inputs: {base.input_shapes} vs {with_se.input_shapes}")
    stages = children(with_se, STAGES) if any(layer.name == STAGES for layer in with_se.layers) else []
    base_stages = children(base, STAGES) if any(layer.name == STAGES for layer in base.layers) else []
    if stages != base_stages:
        raise ValueError(f"stages differ: {base_stages} vs {stages}")
    shape = with_se.input_shapes[0]
    return SeComparison(
        base_model=base_label or base.model, se_model=se_label or with_se.model,
        resolution=shape[-1], batch=shape[0],
        total=_row("", base, with_se), stages=tuple(_row(stage, base, with_se) for stage in stages),
    )


def _row(module: str, base: Analysis, with_se: Analysis) -> SeRow:
    def figures(analysis: Analysis) -> tuple[int, ...]:
        return tuple(analysis.total(module, metric) for metric in ("params", "macs", "flops", "saved_bytes"))

    b, s = figures(base), figures(with_se)
    return SeRow(module, b[0], s[0], b[1], s[1], b[2], s[2], b[3], s[3])


@dataclass(frozen=True)
class SeStudy:
    """Result of :func:`se_study`: one comparison per pair of :data:`SE_PAIRS`.

    Attributes:
        comparisons: one per pair, in order.
        paper_gflops: ResNet-50 and SE-ResNet-50 GFLOPs (multiply-adds) in the SENet paper.
        claimed_last_stage_share: the final-stage share of SE's extra parameters that is often claimed.
    """

    comparisons: tuple[SeComparison, ...]
    paper_gflops: tuple[float, float] = SENET_PAPER_GFLOPS
    claimed_last_stage_share: float = CLAIMED_LAST_STAGE_SHARE

    @property
    def paper(self) -> SeComparison | None:
        """The comparison the SENet paper makes (:data:`PAPER_PAIR`), if it is among ``comparisons``."""
        return next((c for c in self.comparisons if (c.base_model, c.se_model) == PAPER_PAIR), None)

    @property
    def paper_increase(self) -> float:
        """Relative increase of the paper's GFLOPs (multiply-adds) from ResNet-50 to SE-ResNet-50."""
        return self.paper_gflops[1] / self.paper_gflops[0] - 1

    def to_dataframe(self) -> pd.DataFrame:
        """Every comparison's rows, one after the other."""
        import pandas as pd

        return pd.concat([comparison.to_dataframe() for comparison in self.comparisons], ignore_index=True)


def se_study(resolution: int | None = None) -> SeStudy:
    """Every pair in :data:`SE_PAIRS` at ``resolution`` (default each model's native one)."""
    return SeStudy(tuple(
        compare_se(analyze_model(base, resolution, **base_overrides), analyze_model(name, resolution, **overrides),
                   base_label=pair_label(base, base_overrides), se_label=pair_label(name, overrides))
        for (base, base_overrides), (name, overrides) in SE_PAIRS
    ))


def pair_label(name: str, overrides: dict[str, object]) -> str:
    """``efficientnet_b0`` with ``{"se": False}`` → ``efficientnet_b0 se=False``."""
    return " ".join([name, *(f"{key}={value}" for key, value in overrides.items())])
