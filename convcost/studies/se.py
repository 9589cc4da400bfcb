"""Study ``se``: what squeeze-and-excitation costs, and where its parameters sit.

Compares two analyses of the same input — a network without SE and the same network with
it (ResNet-50 vs SE-ResNet-50; EfficientNet-B0 built with ``se=False`` vs as published) —
in total and per stage (the stages the model declares). SE adds two 1×1 convs per
block on a globally pooled map, so its parameters grow with the square of the block's
width (``2·C²/r + C/r + C`` with biases) while its MACs (``2·C²/r`` per image) do not grow
with the feature map: it is parameter-heavy in the wide late stages and nearly free in
MACs. Its FLOPs also include the pooling, the gate activations and the ``x · gate``
multiply over the full map.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd
from matplotlib.figure import Figure

from convcost.analyzer import Analysis
from convcost.reports.chart_style import PALETTE, SMALL, chart_style, legend_outside, new_figure, panels, set_caption
from convcost.reports.charts import ChartJob, axis_units
from convcost.reports.prose import count_text
from convcost.reports.sections import Section, Table
from convcost.reports.units import Unit, human_change

from .base import Study, register_study
from .common import AnalysisJob, analyze_model, records_frame

__all__ = [
    "CLAIMED_LAST_STAGE_SHARE",
    "PAPER_PAIR",
    "SENET_PAPER_GFLOPS",
    "SE_PAIRS",
    "ModelVariant",
    "SeComparison",
    "SePair",
    "SeRow",
    "SeStudy",
    "compare_se",
    "pair_label",
    "se_section",
    "se_study",
]

class PaperGflops(NamedTuple):
    """A paper's GFLOPs (multiply-adds) of a network without and with SE."""

    base: float
    with_se: float


class LabelPair(NamedTuple):
    """Labels of the two sides of a comparison (:func:`compare_se`'s ``base_label``, ``se_label``)."""

    base: str
    with_se: str


@dataclass(frozen=True)
class ModelVariant:
    """A registry model and the ``create_model`` overrides it is built with."""

    model: str
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``efficientnet_b0`` with ``{"se": False}`` → ``efficientnet_b0 se=False``."""
        return pair_label(self.model, self.overrides)

    def job(self) -> AnalysisJob:
        """Its analysis at native resolution."""
        return AnalysisJob.of(self.model, **self.overrides)


@dataclass(frozen=True)
class SePair:
    """A network without SE and the same network with it."""

    base: ModelVariant
    with_se: ModelVariant


#: The comparisons the study makes.
SE_PAIRS: tuple[SePair, ...] = (
    SePair(ModelVariant("resnet50"), ModelVariant("se_resnet50")),
    SePair(ModelVariant("efficientnet_b0", {"se": False}), ModelVariant("efficientnet_b0")),
)
#: ResNet-50 → SE-ResNet-50 multiply-adds in the SENet paper (Hu et al. 2018, Table 2): +0.26 %.
SENET_PAPER_GFLOPS = PaperGflops(3.86, 3.87)
#: The comparison the SENet paper makes, as (base label, SE label) of :func:`compare_se`.
PAPER_PAIR = LabelPair("resnet50", "se_resnet50")
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
    stages, base_stages = list(with_se.stages), list(base.stages)
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
    paper_gflops: PaperGflops = SENET_PAPER_GFLOPS
    claimed_last_stage_share: float = CLAIMED_LAST_STAGE_SHARE

    @property
    def paper(self) -> SeComparison | None:
        """The comparison the SENet paper makes (:data:`PAPER_PAIR`), if it is among ``comparisons``."""
        return next((c for c in self.comparisons if (c.base_model, c.se_model) == PAPER_PAIR), None)

    @property
    def paper_increase(self) -> float:
        """Relative increase of the paper's GFLOPs (multiply-adds) from ResNet-50 to SE-ResNet-50."""
        return self.paper_gflops.with_se / self.paper_gflops.base - 1

    def to_dataframe(self) -> pd.DataFrame:
        """Every comparison's rows, one after the other."""
        import pandas as pd

        return pd.concat([comparison.to_dataframe() for comparison in self.comparisons], ignore_index=True)


def se_study(resolution: int | None = None) -> SeStudy:
    """Every pair in :data:`SE_PAIRS` at ``resolution`` (default each model's native one)."""
    return SeStudy(tuple(
        compare_se(analyze_model(pair.base.model, resolution, **pair.base.overrides),
                   analyze_model(pair.with_se.model, resolution, **pair.with_se.overrides),
                   base_label=pair.base.label, se_label=pair.with_se.label)
        for pair in SE_PAIRS
    ))


def pair_label(name: str, overrides: Mapping[str, Any]) -> str:
    """``efficientnet_b0`` with ``{"se": False}`` → ``efficientnet_b0 se=False``."""
    return " ".join([name, *(f"{key}={value}" for key, value in overrides.items())])


# --- report section ---------------------------------------------------------------------

_SE_COLUMNS = ["base_model", "se_model", "module", "base_params", "se_params", "extra_params",
               "share_of_extra_params", "base_macs", "extra_macs", "base_flops", "extra_flops",
               "extra_training_bytes"]
WHOLE_MODEL = "(whole model)"


def se_section(study: SeStudy) -> Section:
    """What SE adds in parameters, MACs and FLOPs, per stage and in total."""
    frame = study.to_dataframe()
    frame["module"] = frame["module"].replace({"": WHOLE_MODEL})
    frame = frame[_SE_COLUMNS]
    sentences = [
        f"{c.se_model} over {c.base_model}: +{count_text(c.total.extra_params)} parameters "
        f"({human_change(c.params_increase)}), {c.last_stage_share:.1%} of them in the final stage "
        f"({c.stages[-1].module}); +{count_text(c.total.extra_macs)} MACs "
        f"({human_change(c.macs_increase)}) and +{count_text(c.total.extra_flops)} all-op FLOPs "
        f"({human_change(c.flops_increase)}, pooling "
        "and the gate multiply included)." for c in study.comparisons
    ]
    paper = study.paper
    if paper is not None:
        old, new = study.paper_gflops.base, study.paper_gflops.with_se
        sentences.append(
            f"The SENet paper (Hu et al. 2018) reports {old} → {new} GFLOPs (multiply-adds) for {paper.base_model} → "
            f"{paper.se_model}, {human_change(study.paper_increase)}; counted exactly, the MACs grow "
            f"{human_change(paper.macs_increase)}. "
            f"The claim that {study.claimed_last_stage_share:.0%} of SE's extra parameters sit in the final stage "
            f"does not hold: {count_text(paper.stages[-1].extra_params)} of {count_text(paper.total.extra_params)}, "
            f"{paper.last_stage_share:.1%}."
        )
    intro = ("Squeeze-and-excitation adds two 1×1 convs per block on a globally pooled map, so its parameters grow "
             "with the square of a block's width while its MACs do not grow with the feature map: heavy in "
             "parameters in the wide late stages, nearly free in MACs. " + " ".join(sentences))
    stages = frame[frame["module"] != WHOLE_MODEL][["se_model", "module", "extra_params", "share_of_extra_params"]]
    tables = [] if paper is None else [Table("What is published against what is counted", _claims_frame(study))]
    return Section("Squeeze-and-excitation: what it costs and where", intro, frame,
                   figures=[ChartJob("se", se_chart, (stages,))], tables=tables,
                   key_columns=("module", "extra_params", "share_of_extra_params", "extra_macs"))


def _claims_frame(study: SeStudy) -> pd.DataFrame:
    """The published figures the section's text tests, beside the counts (one row per figure, as text: the rows'
    units differ)."""
    paper = study.paper
    if paper is None:
        raise ValueError("the SENet paper's pair (resnet50, se_resnet50) is not among the study's comparisons")
    base_macs = paper.total.base_macs
    rows = [
        (f"{paper.base_model} MACs", f"{study.paper_gflops.base}G", count_text(base_macs),
         "SENet paper (Hu et al. 2018), original ResNet layout"),
        (f"{paper.se_model} MACs", f"{study.paper_gflops.with_se}G", count_text(base_macs + paper.total.extra_macs),
         "SENet paper (Hu et al. 2018), original ResNet layout"),
        ("MACs added by SE", human_change(study.paper_increase), human_change(paper.macs_increase),
         "SENet paper (Hu et al. 2018)"),
        ("SE's extra parameters in the final stage", f"{study.claimed_last_stage_share:.0%}",
         f"{paper.last_stage_share:.1%}", "an often-repeated reading of the SENet paper"),
    ]
    return pd.DataFrame(rows, columns=["figure", "published", "counted", "source"])


def se_chart(stages: pd.DataFrame) -> Figure:
    """SE's extra parameters per stage, one panel per comparison, each bar labelled with its share.

    Args:
        stages: one row per (comparison, stage) with ``se_model``, ``module``, ``extra_params`` and
            ``share_of_extra_params``.
    """
    comparisons = list(dict.fromkeys(stages["se_model"]))
    with chart_style():
        figure = new_figure()
        axes_row = panels(figure, len(comparisons), 2)
        for axes, name in zip(axes_row, comparisons, strict=True):
            rows = stages[stages["se_model"] == name]
            bars = axes.bar(range(len(rows)), rows["extra_params"], color=PALETTE[1], label="extra parameters")
            axes.bar_label(bars, [f"{share:.1%}" for share in rows["share_of_extra_params"]], fontsize=SMALL)
            axes.set_xticks(range(len(rows)), list(rows["module"]), rotation=30, ha="right")
            axes.set_xlabel("stage")
            axes.set_ylabel("extra parameters (count)")
            axes.set_title(f"{name}: share of its extra parameters per stage")
            axis_units(axes, "y", Unit.COUNT, log=False)
            axes.margins(y=0.15)
        legend_outside(figure)
        figure.suptitle("Where SE's extra parameters sit")
        set_caption(figure, (
            "Per stage (x) of each network with SE: the parameters SE adds there (y, count), each bar labelled "
            "with its share of all the parameters SE adds to the network (%)."))
    return figure


# --- the plug-in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeSettings:
    """The comparisons made (each model at its native resolution)."""

    pairs: tuple[SePair, ...] = SE_PAIRS


class SqueezeExcitation(Study[SeSettings, SeStudy]):
    """What squeeze-and-excitation costs, and where its parameters sit."""

    name = "se"
    title = "what squeeze-and-excitation costs, and in which stages"
    position = 30

    def report_settings(self) -> SeSettings:
        """ResNet-50 vs SE-ResNet-50, EfficientNet-B0 without and with SE."""
        return SeSettings()

    def jobs(self, settings: SeSettings) -> list[AnalysisJob]:
        """Both sides of every pair."""
        return [job for pair in settings.pairs for job in (pair.base.job(), pair.with_se.job())]

    def assemble(self, settings: SeSettings, results: Mapping[Any, Any]) -> SeStudy:
        """One :func:`compare_se` per pair."""
        return SeStudy(tuple(
            compare_se(results[pair.base.job()], results[pair.with_se.job()], base_label=pair.base.label,
                       se_label=pair.with_se.label)
            for pair in settings.pairs
        ))

    def section(self, result: SeStudy) -> Section:
        """:func:`se_section`."""
        return se_section(result)


register_study(SqueezeExcitation())
