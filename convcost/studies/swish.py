"""Study ``swish``: training memory of Swish written out, MemoryEfficientSwish and ``nn.SiLU``.

All three compute ``x · sigmoid(x)``; they differ in what autograd keeps for backward
(``TrainingCounts.saved``, each storage counted once, in a train-mode step):

- ``swish`` (``x * torch.sigmoid(x)``): sigmoid saves its output and the multiply saves
  both operands, so every activation keeps ``x`` *and* ``sigmoid(x)``: two tensors.
- ``memory_efficient_swish``: a custom ``autograd.Function`` saves only ``x`` and
  recomputes the sigmoid in backward: one tensor.
- ``silu`` (``nn.SiLU``, one native aten op with its own backward kernel): saves only
  ``x``: one tensor, with no Python autograd function and no extra kernels.

The study counts one training step per activation (same model, resolution and batch; a
train-mode forward and its backward on ``meta`` tensors) and reports the saved bytes of every
activation module and of the whole model, and the step's peak memory. It then checks the
saved bytes against a real training step: each variant runs forward and backward on CPU
tensors at :data:`CHECK_BATCH` × :data:`CHECK_RESOLUTION` px, where autograd's own saved-tensor
hook reports what it keeps (:func:`convcost.analyzer.real_step.real_saved_bytes`), beside the
count at that input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from matplotlib.figure import Figure

from convcost.analyzer import Analysis
from convcost.architectures.layers import create_activation
from convcost.reports.chart_style import SMALL, chart_style, legend_outside, new_figure, set_caption
from convcost.reports.charts import ChartJob, axis_units, grouped_bars
from convcost.reports.prose import bytes_text
from convcost.reports.sections import Section, Table
from convcost.reports.units import Unit, human_bytes

from .base import Study, register_study
from .common import AnalysisJob, analyze_model, records_frame
from .real_steps import CHECK_BATCH, CHECK_RESOLUTION, RealSavedJob, measure_saved

__all__ = [
    "CHECK_BATCH",
    "CHECK_RESOLUTION",
    "NATIVE_ACTIVATIONS",
    "SWISH_BATCH",
    "SWISH_MODEL",
    "SWISH_VARIANTS",
    "ActivationSaved",
    "RealSavedJob",
    "Recommendation",
    "SavedCheck",
    "SwishStudy",
    "SwishVariant",
    "recommend",
    "swish_from_analyses",
    "swish_section",
    "swish_study",
]

#: The three ways of writing Swish, as ``create_model(activation=...)`` names.
SWISH_VARIANTS: tuple[str, ...] = ("swish", "memory_efficient_swish", "silu")
#: Model and batch the study uses by default (EfficientNet-B0 at its native 224 px).
SWISH_MODEL, SWISH_BATCH = "efficientnet_b0", 32
#: Activations that run as one native aten operator forward and one backward.
NATIVE_ACTIVATIONS: frozenset[str] = frozenset({"silu"})


@dataclass(frozen=True)
class ActivationSaved:
    """One activation module's saved-for-backward bytes under one variant.

    Attributes:
        variant: activation name; module: module name; output_shape: its output shape.
        saved_bytes: bytes autograd keeps for backward from this module's own operators.
    """

    variant: str
    module: str
    output_shape: tuple[int, ...]
    saved_bytes: int


@dataclass(frozen=True)
class SwishVariant:
    """Whole-model figures of one training step for one activation variant (bytes in the analysis dtype).

    Attributes:
        variant: activation name; activation_type: class its modules have.
        modules: number of activation modules.
        activation_saved_bytes: saved bytes of the activation modules' own operators.
        training_bytes: saved bytes of the whole model in the train-mode step (``TrainingCounts.saved_bytes``:
            batch statistics and dropout masks included).
        activation_bytes: bytes the forward allocates (``Totals.activation_bytes``).
        flops: all-operator FLOPs of the forward pass.
        peak_bytes: the training step's peak memory (parameters, optimizer state, live activations and
            gradients; ``TrainingCounts.peak_bytes``, SGD); 0 when not counted.
    """

    variant: str
    activation_type: str
    modules: int
    activation_saved_bytes: int
    training_bytes: int
    activation_bytes: int
    flops: int
    peak_bytes: int = 0


@dataclass(frozen=True)
class SavedCheck:
    """The saved bytes of one variant's training step: counted on ``meta`` tensors, and reported by autograd in
    a real step on CPU tensors, at :data:`CHECK_BATCH` × :data:`CHECK_RESOLUTION` px.

    Attributes:
        variant: activation name; batch, resolution: the input of both steps.
        counted_bytes: ``TrainingCounts.saved_bytes`` of the analysis.
        measured_bytes: :func:`~convcost.analyzer.real_step.real_saved_bytes` of the real step.
    """

    variant: str
    batch: int
    resolution: int
    counted_bytes: int
    measured_bytes: int

    @property
    def difference_bytes(self) -> int:
        """Counted minus measured (0: exact)."""
        return self.counted_bytes - self.measured_bytes


@dataclass(frozen=True)
class Recommendation:
    """The activation to use for training, and why (figures in bytes)."""

    activation: str
    reason: str


@dataclass(frozen=True)
class SwishStudy:
    """Result of :func:`swish_study`.

    Attributes:
        model, resolution, batch, dtype: what was analysed.
        variants: whole-model figures per variant, in :data:`SWISH_VARIANTS` order.
        modules: per-module saved bytes for every variant.
        recommendation: the pick and its reason.
        checks: the saved bytes checked against a real training step, per variant (empty when not checked).
    """

    model: str
    resolution: int
    batch: int
    dtype: str
    variants: tuple[SwishVariant, ...]
    modules: tuple[ActivationSaved, ...]
    recommendation: Recommendation
    checks: tuple[SavedCheck, ...] = ()

    def variant(self, name: str) -> SwishVariant:
        """The figures of variant ``name``."""
        for variant in self.variants:
            if variant.variant == name:
                return variant
        raise KeyError(f"no variant {name!r}; have {', '.join(v.variant for v in self.variants)}")

    def to_dataframe(self) -> pd.DataFrame:
        """One row per variant."""
        return records_frame(self.variants)

    def modules_dataframe(self) -> pd.DataFrame:
        """One row per activation module, one ``saved_bytes`` column per variant."""
        frame = records_frame(self.modules)
        wide = frame.pivot(index="module", columns="variant", values="saved_bytes")
        order = list(dict.fromkeys(frame["module"]))
        return wide.loc[order, [v.variant for v in self.variants]].reset_index()


def swish_study(
    model: str = SWISH_MODEL,
    resolution: int | None = None,
    *,
    batch: int = SWISH_BATCH,
    dtype: torch.dtype = torch.float32,
    variants: Sequence[str] = SWISH_VARIANTS,
    check: bool = True,
) -> SwishStudy:
    """Count one training step of ``model`` per activation variant and compare what it keeps; with ``check``,
    check the saved bytes against a real step of each variant (see the module docstring)."""
    analyses = {variant: analyze_model(model, resolution, batch=batch, dtype=dtype, activation=variant,
                                       training=True) for variant in variants}
    checks = [saved_check(variant, analyze_model(model, CHECK_RESOLUTION, batch=CHECK_BATCH, activation=variant,
                                                 training=True),
                          measure_saved(model, variant)) for variant in variants] if check else []
    return swish_from_analyses(analyses, checks)


def saved_check(variant: str, analysis: Analysis, measured_bytes: int) -> SavedCheck:
    """The counted saved bytes of ``analysis`` (a training step) beside ``measured_bytes``."""
    if analysis.training is None:
        raise ValueError(f"the check of {variant!r} needs an analysis with training=True")
    shape = analysis.input_shapes[0]
    return SavedCheck(variant, shape[0], shape[-1], analysis.training.saved_bytes, measured_bytes)


def swish_from_analyses(analyses: Mapping[str, Analysis], checks: Sequence[SavedCheck] = ()) -> SwishStudy:
    """The swish study from one training-step analysis per activation name, all of the same model and input.

    Activation modules are those whose type is the class ``create_activation(variant)``
    builds (the model's own activation table, not a name heuristic).

    Raises:
        ValueError: no analyses, analyses of different models or inputs, an analysis without its training step,
            or an analysis with no module of its variant's activation class.
    """
    if not analyses:
        raise ValueError("swish_from_analyses needs at least one analysis")
    first = next(iter(analyses.values()))
    for analysis in analyses.values():
        if (analysis.model, analysis.input_shapes, analysis.dtype) != (first.model, first.input_shapes, first.dtype):
            raise ValueError("analyses must share model, input and dtype")
    rows: list[SwishVariant] = []
    modules: list[ActivationSaved] = []
    for variant, analysis in analyses.items():
        step = analysis.training
        if step is None:
            raise ValueError(f"the analysis given for {variant!r} has no training step; analyse with training=True")
        kind = type(create_activation(variant)).__name__
        acts = [layer for layer in analysis.layers if layer.type == kind]
        if not acts:
            raise ValueError(f"the analysis given for {variant!r} has no {kind} module; "
                             f"build the model with activation={variant!r}")
        modules.extend(ActivationSaved(variant, layer.name, layer.output_shapes[0] if layer.output_shapes else (),
                                       step.saved.get(layer.name, 0)) for layer in acts)
        totals = analysis.totals
        rows.append(SwishVariant(variant, kind, len(acts), sum(step.saved.get(layer.name, 0) for layer in acts),
                                 step.saved_bytes, totals.activation_bytes, totals.flops, step.peak_bytes))
    shape = first.input_shapes[0]
    return SwishStudy(first.model, shape[-1], shape[0], first.dtype, tuple(rows), tuple(modules),
                      recommend(tuple(rows)), tuple(checks))


def recommend(variants: Sequence[SwishVariant]) -> Recommendation:
    """The variant with the fewest saved bytes; among equals the lowest training peak, then a native one
    (``nn.SiLU``: one aten kernel forward and one backward, no Python ``autograd.Function`` and no sigmoid
    recomputed in backward, and it exports and compiles as a single operator)."""
    if not variants:
        raise ValueError("recommend needs at least one variant")
    least = min(v.training_bytes for v in variants)
    leanest = [v for v in variants if v.training_bytes == least]
    lowest_peak = min(v.peak_bytes for v in leanest)
    lowest = [v for v in leanest if v.peak_bytes == lowest_peak]
    pick = next((v for v in lowest if v.variant in NATIVE_ACTIVATIONS), lowest[0])
    worst = max(variants, key=lambda v: v.training_bytes)
    parts = [f"{pick.variant} keeps {bytes_text(pick.training_bytes)} for backward"]
    if worst.training_bytes > least:
        saved = worst.training_bytes - least
        parts.append(f"{bytes_text(saved)} fewer than {worst.variant} ({saved / worst.training_bytes:.1%})")
    for other in leanest:
        if other is pick:
            continue
        if other.peak_bytes > pick.peak_bytes:
            parts.append(f"the same as {other.variant}, whose step peaks higher ({bytes_text(other.peak_bytes)} "
                         f"against {bytes_text(pick.peak_bytes)}, {bytes_text(other.peak_bytes - pick.peak_bytes)} "
                         "more)")
        else:
            parts.append(f"the same as {other.variant}")
    if pick.variant in NATIVE_ACTIVATIONS:
        parts.append("it is a native operator: one kernel forward and one backward, with no Python "
                     "autograd.Function and no sigmoid recomputed in backward")
    return Recommendation(pick.variant, "; ".join(parts))


# --- report section ---------------------------------------------------------------------


def swish_section(study: SwishStudy) -> Section:
    """Bytes saved for backward by each way of writing Swish, per activation and in total, the step's peak, the
    check against a real step, and the pick."""
    frame = study.to_dataframe()[["variant", "activation_type", "modules", "activation_saved_bytes",
                                  "training_bytes", "peak_bytes", "activation_bytes", "flops"]].rename(
        columns={"peak_bytes": "training_peak_bytes"})  # the training step's peak, not the inference peak
    per_module = study.modules_dataframe()
    per_module.columns = ["module", *(f"{variant}_saved_bytes" for variant in per_module.columns[1:])]
    first, *others = study.variants
    kept = [f"{first.variant} keeps {bytes_text(first.activation_saved_bytes)} in its {first.modules} activation "
            f"modules ({bytes_text(first.training_bytes)} in the whole model)",
            *(f"{v.variant} {bytes_text(v.activation_saved_bytes)} ({bytes_text(v.training_bytes)})" for v in others)]
    intro = (
        "Swish, x·sigmoid(x), can be written three ways with the same arithmetic (equal FLOPs) but different "
        "training memory: written out (swish), the sigmoid and the multiply save both x and sigmoid(x); "
        "MemoryEfficientSwish saves x and recomputes the sigmoid in backward; nn.SiLU is one native operator that "
        f"saves x. One training step (train-mode forward and backward) of {study.model} at {study.resolution} px, "
        f"batch {study.batch}, {study.dtype}: {'; '.join(kept)}. Recommendation: {study.recommendation.activation}."
    )
    tables = [Table("Saved bytes of every activation module", per_module)]
    if study.checks:
        checks = records_frame(study.checks).assign(
            difference_bytes=[check.difference_bytes for check in study.checks])
        exact = all(check.difference_bytes == 0 for check in study.checks)
        check = study.checks[0]
        intro += (f" Checked against a real training step on CPU tensors (batch {check.batch} at {check.resolution} "
                  "px, autograd's saved-tensor hook): the counted saved bytes "
                  + ("match to the byte for every variant." if exact else "differ; see the check table."))
        tables.append(Table("Saved bytes: counted on meta tensors against a real training step", checks))
    title = f"Saved for backward: {study.model} at {study.resolution} px, batch {study.batch}, {study.dtype}"
    return Section(
        "Swish, MemoryEfficientSwish or nn.SiLU: training memory", intro, frame,
        figures=[ChartJob("swish", swish_chart,
                          (frame[["variant", "activation_saved_bytes", "training_bytes"]], title))],
        tables=tables,
        notes=[f"Why {study.recommendation.activation}: {study.recommendation.reason}."],
    )


def swish_chart(variants: pd.DataFrame, title: str) -> Figure:
    """Bytes saved for backward per Swish variant: by the activation modules, and by the whole model.

    Args:
        variants: one row per variant with ``variant``, ``activation_saved_bytes`` and ``training_bytes``.
    """
    with chart_style():
        figure = new_figure()
        axes = figure.subplots()
        series = {"activation modules": list(variants["activation_saved_bytes"]),
                  "whole model": list(variants["training_bytes"])}
        for bars, heights in zip(grouped_bars(axes, list(variants["variant"]), series), series.values(), strict=True):
            axes.bar_label(bars, [human_bytes(height) for height in heights], fontsize=SMALL)  # as the tables show it
        axes.set_xlabel("activation")
        axes.set_ylabel("bytes saved for backward")
        axis_units(axes, "y", Unit.BYTES, log=False)
        axes.margins(y=0.12)
        legend_outside(figure, title="saved by")
        figure.suptitle(title)
        set_caption(figure, (
            "Per activation variant (x): the bytes saved for backward in one training step (y, bytes), by the "
            "activation modules alone and by the whole model."))
    return figure


# --- the plug-in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwishSettings:
    """The model (at its native resolution), the batch and the activation variants compared."""

    model: str = SWISH_MODEL
    batch: int = SWISH_BATCH
    variants: tuple[str, ...] = SWISH_VARIANTS

    def job(self, variant: str) -> AnalysisJob:
        """The training step of the model built with ``variant``."""
        return AnalysisJob.of(self.model, self.batch, training=True, activation=variant)

    def check_jobs(self, variant: str) -> tuple[AnalysisJob, RealSavedJob]:
        """The counted and the real training step of the check."""
        return (AnalysisJob.of(self.model, CHECK_BATCH, resolution=CHECK_RESOLUTION, training=True,
                               activation=variant), RealSavedJob(self.model, variant))


class Swish(Study[SwishSettings, SwishStudy]):
    """Training memory of Swish written out, MemoryEfficientSwish and ``nn.SiLU``."""

    name = "swish"
    title = "training memory of Swish, MemoryEfficientSwish and nn.SiLU"
    position = 40

    def report_settings(self) -> SwishSettings:
        """EfficientNet-B0, batch 32."""
        return SwishSettings()

    def jobs(self, settings: SwishSettings) -> list[AnalysisJob | RealSavedJob]:
        """One training step per variant, and the check's counted and real steps."""
        return [settings.job(variant) for variant in settings.variants] + [
            job for variant in settings.variants for job in settings.check_jobs(variant)]

    def assemble(self, settings: SwishSettings, results: Mapping[Any, Any]) -> SwishStudy:
        """:func:`swish_from_analyses`, with the checks."""
        checks = [saved_check(variant, *(results[job] for job in settings.check_jobs(variant)))
                  for variant in settings.variants]
        return swish_from_analyses({variant: results[settings.job(variant)] for variant in settings.variants},
                                   checks)

    def section(self, result: SwishStudy) -> Section:
        """:func:`swish_section`."""
        return swish_section(result)


register_study(Swish())
