"""Study ``scaling``: how EfficientNet B0–B7 costs grow, and how far MACs drift from the scaling law.

The compound-scaling law (Tan & Le 2019, section 3.3) says conv MACs grow as
``d · w² · r²``: depth ``d = α^φ``, width ``w = β^φ``, resolution ``r = γ^φ`` with α = 1.2,
β = 1.1, γ = 1.15 and ``α·β²·γ² ≈ 2``, so MACs ≈ ``2^φ`` times B0's. The study predicts
MACs relative to B0 two ways — from the official per-model coefficients
``d · w² · (r / 224)²`` and from ``φ`` alone (``2^φ`` and ``(α·β²·γ²)^φ``) — and explains the
drift between the coefficient prediction and the measured count with an analytic model of
the network (:func:`efficientnet_macs`), switching the builder's integer roundings on one
at a time:

1. *structure*: the idealised network (channels ``c·w``, ``n·d`` blocks per stage, feature
   maps ``r / stride``, all real-valued) against the law. It differs because some parts do
   not scale as ``d·w²·r²``: the stem (3 input channels: ``w·r²``), the head conv and
   classifier (not repeated: ``w²·r²`` and ``w``), SE convs (on 1×1 pooled maps: ``d·w²``),
   and the first block of every stage, which differs from the repeated ones.
2. *channels*: ``round_filters`` (multiples of 8, never below 90 %), and the SE width
   ``max(1, int(C_in · 0.25))``.
3. *repeats*: ``round_repeats`` (``ceil(n · d)``).
4. *sizes*: feature maps ``ceil(in / stride)`` (for example 260 → 130 → 65 → 33 → 17 → 9
   rather than 8.125). With all three roundings the model equals the measured count exactly.

The four effects are ratios applied in that order, so their product is measured / law.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from convcost.analyzer import Analysis
from convcost.architectures import (
    ALPHA,
    BETA,
    EFFICIENTNET_SCALING,
    GAMMA,
    CompoundScaling,
    round_filters,
    round_repeats,
)
from convcost.architectures.efficientnet import B0_HEAD_CHANNELS, B0_STAGES, B0_STEM_CHANNELS
from convcost.architectures.layers import se_channels
from convcost.reports.chart_style import chart_style, legend_outside, new_figure, set_caption
from convcost.reports.charts import ChartJob, model_key, short_model
from convcost.reports.prose import bytes_text, count_text
from convcost.reports.sections import Section, Table
from convcost.reports.units import human_ratio

from .base import Study, register_study
from .common import AnalysisJob, analyze_model, records_frame
from .timing_jobs import PROFILE_RUNS, PROFILE_WARMUP, ProfileJob, runs_option, runs_value

if TYPE_CHECKING:
    from convcost.analyzer.profiling import Spread

__all__ = [
    "CHAIN",
    "IDEAL",
    "PARTS",
    "DriftRow",
    "PartRow",
    "Rounding",
    "ScalingRow",
    "ScalingStudy",
    "efficientnet_macs",
    "scaling_from_analyses",
    "scaling_section",
    "scaling_study",
]

#: Parts of the network whose MACs :func:`efficientnet_macs` reports separately.
PARTS: tuple[str, ...] = ("stem", "blocks", "se", "head", "classifier")
STEM_KERNEL, STEM_STRIDE, IMAGE_CHANNELS = 3, 2, 3


@dataclass(frozen=True)
class Rounding:
    """Which integer roundings of the real builder :func:`efficientnet_macs` applies.

    Attributes:
        channels: ``round_filters`` widths and ``int`` SE widths (else ``c · w`` exactly).
        repeats: ``ceil(n · d)`` blocks per stage (else ``n · d``, a real number).
        sizes: ``ceil(in / stride)`` feature maps (else ``in / stride``).
    """

    channels: bool = True
    repeats: bool = True
    sizes: bool = True


#: No rounding at all: the network the law describes, plus its fixed-size parts.
IDEAL = Rounding(channels=False, repeats=False, sizes=False)
#: The drift chain: no rounding, then channels, repeats and sizes switched on in that order.
CHAIN: tuple[Rounding, ...] = (IDEAL, Rounding(True, False, False), Rounding(True, True, False), Rounding())


def _exact(value: float) -> Fraction:
    """A table coefficient such as 1.1 as the decimal it is written as (11/10), not its binary float."""
    return Fraction(str(value))


def efficientnet_macs(
    scaling: CompoundScaling, rounding: Rounding = Rounding(), num_classes: int = 1000
) -> dict[str, Fraction]:
    """Conv + linear MACs of one image through an EfficientNet, by part, from the B0 stage table.

    Every block is expand 1×1 (when the expand ratio is not 1) → depthwise k×k (stride) →
    SE (two 1×1 convs on the pooled map) → project 1×1, so per block, with hidden
    ``h = C_in · e``, squeeze ``s``, input side ``H`` and output side ``H'``::

        blocks: C_in·h·H² (expand) + h·k²·H'² (depthwise) + h·C_out·H'² (project)
        se:     2·h·s

    A stage's first block takes the stage's input width and stride; the other ``n - 1``
    map ``C_out`` to ``C_out`` at stride 1. Stem: ``3·C_stem·3²·H'²``; head:
    ``C_last·C_head·H²``; classifier: ``C_head · num_classes``. Bias adds are not MACs.

    Args:
        scaling: width, depth and resolution of the model.
        rounding: which builder roundings to apply; all of them reproduce the built network.

    Returns:
        MACs per part (keys :data:`PARTS`), exact rationals (integers when fully rounded).
    """
    width, depth = _exact(scaling.width), _exact(scaling.depth)

    def channels(c: int) -> Fraction:
        return Fraction(round_filters(c, scaling.width)) if rounding.channels else c * width

    def repeats(n: int) -> Fraction:
        return Fraction(round_repeats(n, scaling.depth)) if rounding.repeats else n * depth

    def down(side: Fraction, stride: int) -> Fraction:
        return Fraction(math.ceil(side / stride)) if rounding.sizes else side / stride

    def squeeze(c_in: Fraction, ratio: float) -> Fraction:
        return Fraction(se_channels(int(c_in), ratio)) if rounding.channels else c_in * _exact(ratio)

    parts = dict.fromkeys(PARTS, Fraction(0))
    side = down(Fraction(scaling.resolution), STEM_STRIDE)
    c_prev = channels(B0_STEM_CHANNELS)
    parts["stem"] = IMAGE_CHANNELS * c_prev * STEM_KERNEL**2 * side**2
    for stage in B0_STAGES:
        if stage.block not in ("ds", "mbconv"):
            raise ValueError(f"efficientnet_macs models ds and mbconv blocks; got {stage.block!r}")
        c_out, count = channels(stage.out_channels), repeats(stage.repeats)
        side_out = down(side, stage.stride)
        for c_in, h_in, blocks in ((c_prev, side, Fraction(1)), (c_out, side_out, count - 1)):
            hidden = c_in * stage.expand_ratio
            expand = c_in * hidden * h_in**2 if stage.expand_ratio != 1 else 0
            body = expand + hidden * stage.kernel**2 * side_out**2 + hidden * c_out * side_out**2
            parts["blocks"] += blocks * body
            if stage.se_ratio:
                parts["se"] += blocks * 2 * hidden * squeeze(c_in, stage.se_ratio)
        c_prev, side = c_out, side_out
    head = channels(B0_HEAD_CHANNELS)
    parts["head"] = c_prev * head * side**2
    parts["classifier"] = head * num_classes
    return parts


@dataclass(frozen=True)
class ScalingRow:
    """Measured costs of one model at its native resolution, and the law's MAC predictions.

    Attributes:
        phi: compound coefficient φ (B0 is 0 … B7 is 7).
        width, depth: official multipliers; resolution: input side (pixels).
        params: trainable parameters (elements).
        macs: conv + linear multiply-accumulates per forward pass.
        flops: all-operator FLOPs per forward pass.
        activation_bytes: bytes of every tensor the forward allocates (no reuse).
        training_bytes: activation bytes autograd saves for backward.
        measured_ratio: ``macs`` / B0's ``macs``.
        coefficient_prediction: ``d · w² · (r / 224)²`` from the official coefficients.
        phi_prediction: ``2^φ``.
        compound_prediction: ``(α · β² · γ²)^φ`` = 1.92^φ.
        backward_macs: MACs of one training step's backward (grad-input + grad-weight); None when the analysis
            counted no training step.
        training_flops: FLOPs of the whole step: train-mode forward, backward and SGD's update; None likewise.
        training_peak_bytes: the step's peak memory (parameters, live activations and gradients); None likewise.
        latency_ms, latency_iqr_ms: the measured forward latency on this machine (median and interquartile range
            of the profile's hook-free runs, ms); None when not timed.
        latency_ratio: ``latency_ms`` / B0's; None likewise.
    """

    model: str
    phi: int
    width: float
    depth: float
    resolution: int
    batch: int
    dtype: str
    params: int
    macs: int
    flops: int
    activation_bytes: int
    training_bytes: int
    measured_ratio: float
    coefficient_prediction: float
    phi_prediction: float
    compound_prediction: float
    backward_macs: int | None = None
    training_flops: int | None = None
    training_peak_bytes: int | None = None
    latency_ms: float | None = None
    latency_iqr_ms: float | None = None
    latency_ratio: float | None = None


@dataclass(frozen=True)
class DriftRow:
    """MACs of one image along the chain law → idealised → rounded, and the effect of each step.

    Attributes:
        law_macs: B0's measured MACs × ``d · w² · (r / 224)²``.
        ideal_macs: :func:`efficientnet_macs` with no rounding.
        channels_macs: plus channel rounding.
        repeats_macs: plus repeat rounding.
        analytic_macs: plus size rounding (all roundings; an integer).
        measured_macs: the dispatch engine's count of the built network.
    """

    model: str
    law_macs: float
    ideal_macs: float
    channels_macs: float
    repeats_macs: float
    analytic_macs: int
    measured_macs: int

    @property
    def structure_effect(self) -> float:
        """``ideal / law``: fixed-size stem/head/classifier, SE on pooled maps, first blocks."""
        return self.ideal_macs / self.law_macs

    @property
    def channels_effect(self) -> float:
        """``channels / ideal``: widths rounded to multiples of 8, integer SE widths."""
        return self.channels_macs / self.ideal_macs

    @property
    def repeats_effect(self) -> float:
        """``repeats / channels``: blocks per stage rounded up."""
        return self.repeats_macs / self.channels_macs

    @property
    def sizes_effect(self) -> float:
        """``analytic / repeats``: feature maps rounded up at every stride."""
        return self.analytic_macs / self.repeats_macs

    @property
    def total_drift(self) -> float:
        """``measured / law``, the product of the four effects when the model is exact."""
        return self.measured_macs / self.law_macs

    @property
    def analytic_matches(self) -> bool:
        """The fully rounded analytic model reproduces the measured count exactly."""
        return self.analytic_macs == self.measured_macs


@dataclass(frozen=True)
class PartRow:
    """One part of one model: idealised and built MACs, and its growth over B0's same part.

    Attributes:
        part: one of :data:`PARTS`.
        ideal_macs: MACs of the part with no rounding.
        macs: MACs of the part as built (all roundings).
        ideal_growth: ``ideal_macs`` / B0's ``ideal_macs`` for this part.
        law_growth: ``d · w² · (r / 224)²``, what the law expects of every part.
    """

    model: str
    part: str
    ideal_macs: float
    macs: int
    ideal_growth: float
    law_growth: float


@dataclass(frozen=True)
class ScalingStudy:
    """Result of :func:`scaling_study`; ``rows``, ``drift`` and ``parts`` follow the model order."""

    alpha: float
    beta: float
    gamma: float
    rows: tuple[ScalingRow, ...]
    drift: tuple[DriftRow, ...]
    parts: tuple[PartRow, ...]

    @property
    def compound_base(self) -> float:
        """``α · β² · γ²`` (≈ 1.92; the paper rounds it to 2)."""
        return self.alpha * self.beta**2 * self.gamma**2

    def to_dataframe(self) -> pd.DataFrame:
        """One row per model: measured costs, predictions, and the drift chain with its effects."""
        drift = records_frame(self.drift).drop(columns=["measured_macs"])
        return records_frame(self.rows).merge(drift, on="model")

    def parts_dataframe(self) -> pd.DataFrame:
        """One row per (model, part)."""
        return records_frame(self.parts)


def scaling_study(
    models: Sequence[str] | None = None, *, batch: int = 1, dtype: torch.dtype = torch.float32,
    training: bool = True,
) -> ScalingStudy:
    """Analyse EfficientNets at native resolution and compare their MACs with the scaling law.

    Args:
        models: names from ``EFFICIENTNET_SCALING``, B0 first; default all of B0–B7.
        batch: images per forward pass for the measured costs (MAC ratios do not depend on it).
        dtype: dtype of the byte counts.
        training: also count each model's training step (SGD) for the training columns.
    """
    names = list(models or EFFICIENTNET_SCALING)
    _check_names(names)
    return scaling_from_analyses(
        {name: analyze_model(name, EFFICIENTNET_SCALING[name].resolution, batch=batch, dtype=dtype,
                             training=training)
         for name in names}
    )


def scaling_from_analyses(analyses: Mapping[str, Analysis]) -> ScalingStudy:
    """The scaling study from analyses already made, keyed by model name, B0 first.

    Every analysis must be of a ``(batch, 3, r, r)`` input at the model's native ``r``, all
    with the same batch. The analytic MACs are per image; measured ones are divided by batch.

    Raises:
        ValueError: unknown names, B0 not first, or an input that is not native or batches differ.
    """
    names = list(analyses)
    _check_names(names)
    batches = set()
    for name, analysis in analyses.items():
        side = EFFICIENTNET_SCALING[name].resolution
        shape = analysis.input_shapes[0] if analysis.input_shapes else ()
        if len(shape) != 4 or shape[1:] != (3, side, side):
            raise ValueError(f"{name} must be analysed on (N, 3, {side}, {side}); got {shape}")
        batches.add(shape[0])
    if len(batches) != 1:
        raise ValueError(f"all analyses must use one batch size; got {sorted(batches)}")
    batch = batches.pop()

    order = list(EFFICIENTNET_SCALING)
    base = EFFICIENTNET_SCALING[order[0]]
    base_ideal = efficientnet_macs(base, IDEAL)
    base_macs = analyses[order[0]].totals.macs // batch
    rows: list[ScalingRow] = []
    drift: list[DriftRow] = []
    parts: list[PartRow] = []
    for name, analysis in analyses.items():
        scaling, totals = EFFICIENTNET_SCALING[name], analysis.totals
        phi, law = order.index(name), _law(scaling, base)
        step = analysis.training
        rows.append(ScalingRow(
            model=name, phi=phi, width=scaling.width, depth=scaling.depth, resolution=scaling.resolution,
            batch=batch, dtype=analysis.dtype, params=totals.params, macs=totals.macs, flops=totals.flops,
            activation_bytes=totals.activation_bytes, training_bytes=totals.training_bytes,
            measured_ratio=totals.macs / batch / base_macs, coefficient_prediction=float(law),
            phi_prediction=2.0**phi, compound_prediction=(ALPHA * BETA**2 * GAMMA**2) ** phi,
            backward_macs=None if step is None else step.total.macs,
            training_flops=None if step is None else step.training_flops,
            training_peak_bytes=None if step is None else step.peak_bytes,
        ))
        ideal, channels, repeats, built = (efficientnet_macs(scaling, step) for step in CHAIN)
        drift.append(DriftRow(
            name, float(law * base_macs), float(sum(ideal.values())), float(sum(channels.values())),
            float(sum(repeats.values())), int(sum(built.values())), totals.macs // batch,
        ))
        parts.extend(
            PartRow(name, part, float(ideal[part]), int(built[part]), float(ideal[part] / base_ideal[part]),
                    float(law))
            for part in PARTS
        )
    return ScalingStudy(ALPHA, BETA, GAMMA, tuple(rows), tuple(drift), tuple(parts))


def with_latency(study: ScalingStudy, latencies: Mapping[str, Spread]) -> ScalingStudy:
    """``study`` with each model's measured latency (ms) and its ratio to the first model's."""
    base = latencies[study.rows[0].model].median_ms
    rows = tuple(replace(row, latency_ms=latencies[row.model].median_ms, latency_iqr_ms=latencies[row.model].iqr_ms,
                         latency_ratio=latencies[row.model].median_ms / base if base > 0 else None)
                 for row in study.rows)
    return replace(study, rows=rows)


def _check_names(names: Sequence[str]) -> None:
    order = list(EFFICIENTNET_SCALING)
    unknown = [name for name in names if name not in EFFICIENTNET_SCALING]
    if unknown:
        raise ValueError(f"scaling covers {', '.join(order)}; got {', '.join(unknown)}")
    if not names or names[0] != order[0]:
        raise ValueError(f"the first model is the baseline and must be {order[0]}; got {list(names)[:1]}")


def _law(scaling: CompoundScaling, base: CompoundScaling) -> Fraction:
    """``d · w² · r²`` of ``scaling`` over that of ``base``, exactly."""
    def cost(s: CompoundScaling) -> Fraction:
        return _exact(s.depth) * _exact(s.width) ** 2 * Fraction(s.resolution) ** 2

    return cost(scaling) / cost(base)


# --- report section ---------------------------------------------------------------------

_SCALING_COLUMNS = ["model", "phi", "width_coefficient", "depth_coefficient", "resolution", "params", "macs",
                    "measured_ratio", "coefficient_prediction", "phi_prediction", "compound_prediction", "total_drift",
                    "structure_effect", "channels_effect", "repeats_effect", "sizes_effect", "analytic_matches"]
#: Shown when the analyses counted a training step.
_TRAINING_COLUMNS = ["backward_macs", "training_flops", "training_peak_bytes"]
_EFFECTS = {"structure_effect": "structure", "channels_effect": "channels rounded to multiples of 8",
            "repeats_effect": "repeats rounded up", "sizes_effect": "feature maps rounded up"}


def scaling_section(study: ScalingStudy) -> Section:
    """Measured MACs of B0–B7 against the compound-scaling law, and the drift split into its causes."""
    frame = study.to_dataframe().rename(columns={"width": "width_coefficient", "depth": "depth_coefficient"})
    first, last, drift = study.rows[0], study.rows[-1], study.drift[-1]
    training = all(row.training_flops is not None for row in study.rows)
    frame = frame[_SCALING_COLUMNS[:7] + (_TRAINING_COLUMNS if training else []) + _SCALING_COLUMNS[7:]]
    largest = max(((getattr(row, key), row.model, label) for row in study.drift for key, label in _EFFECTS.items()),
                  key=lambda item: abs(math.log(item[0])))
    exact = sum(row.analytic_matches for row in study.drift)
    intro = (
        f"Compound scaling (Tan & Le 2019) multiplies depth, width and resolution by α^φ, β^φ and γ^φ "
        f"(α = {study.alpha}, β = {study.beta}, γ = {study.gamma}), so conv MACs should grow as d·w²·r², about "
        f"2^φ since α·β²·γ² = {study.compound_base:.3f}. Measured at native resolution, {last.model} has "
        f"{human_ratio(last.measured_ratio)} the MACs of {first.model} "
        f"({count_text(last.macs)} against {count_text(first.macs)}); its "
        f"official coefficients predict {human_ratio(last.coefficient_prediction)}, 2^φ "
        f"{human_ratio(last.phi_prediction)} and "
        f"{study.compound_base:.3f}^φ {human_ratio(last.compound_prediction)}. The drift from the coefficient "
        f"prediction "
        f"({human_ratio(drift.total_drift)} for {drift.model}) is the product of four effects, switched on one at a "
        f"time "
        f"in an exact analytic model of the network: structure {human_ratio(drift.structure_effect)} (the fixed "
        f"3-channel "
        f"stem, the head and classifier that are not repeated, SE convs on pooled maps, each stage's first block), "
        f"channels rounded to multiples of 8 {human_ratio(drift.channels_effect)}, repeats rounded up "
        f"{human_ratio(drift.repeats_effect)}, and feature maps rounded up at each stride "
        f"{human_ratio(drift.sizes_effect)}. "
        f"The largest single effect is {largest[2]} ({human_ratio(largest[0])} for {largest[1]}). With every rounding "
        f"on, "
        f"the analytic model reproduces the measured MACs of {exact} of {len(study.drift)} models exactly."
    )
    if training:
        intro += " " + _training_sentence(first, last)
    if first.latency_ms is not None and last.latency_ms is not None and last.latency_ratio is not None:
        frame = frame.assign(latency_ms=[row.latency_ms for row in study.rows],
                             latency_iqr_ms=[row.latency_iqr_ms for row in study.rows],
                             latency_ratio=[row.latency_ratio for row in study.rows])
        intro += (f" Measured on this machine (batch 1, float32, the median of the latency profile's hook-free "
                  f"runs), {last.model} takes {last.latency_ms:.0f} ms, {human_ratio(last.latency_ratio)} "
                  f"{first.model}'s "
                  f"{first.latency_ms:.1f} ms, for {human_ratio(last.measured_ratio)} the MACs: time grows "
                  f"{'faster' if last.latency_ratio > last.measured_ratio else 'slower'} than the MACs.")
    parts = study.parts_dataframe()
    growth = parts.pivot(index="model", columns="part", values="ideal_growth")
    law = parts.groupby("model", sort=False)["law_growth"].first()
    order = list(dict.fromkeys(parts["model"]))
    grown = growth[list(dict.fromkeys(parts["part"]))]
    growth_frame = pd.concat([law.rename("law_growth"), grown.add_suffix("_growth")], axis=1)
    growth_frame = growth_frame.loc[order].reset_index()
    return Section(
        "Scaling: EfficientNet B0–B7 against the compound-scaling law", intro, frame,
        figures=[ChartJob("scaling", scaling_chart, (frame, study.compound_base))],
        tables=[Table("Growth of each part over B0 with no rounding, against the law d·w²·r²: parts that are not "
                      "repeated or not widened grow slower", growth_frame)],
        key_columns=tuple(key for key in ("macs", "measured_ratio", "coefficient_prediction", "compound_prediction",
                                          "total_drift", "latency_ms", "latency_ratio")
                          if key in frame.columns),  # latency: when timed
    )


def _training_sentence(first: ScalingRow, last: ScalingRow) -> str:
    """What one training step costs across the series (rows with training figures)."""
    assert first.training_flops and last.training_flops and first.backward_macs and last.backward_macs
    assert first.training_peak_bytes and last.training_peak_bytes
    return (
        f"One training step (train-mode forward, backward and SGD's update, batch {first.batch}) of {last.model} "
        f"costs {count_text(last.training_flops)} FLOPs, {human_ratio(last.training_flops / first.training_flops)} "
        f"{first.model}'s "
        f"{count_text(first.training_flops)}; its backward is {count_text(last.backward_macs)} MACs "
        f"({human_ratio(last.backward_macs / last.macs)} its forward), and the step peaks at "
        f"{bytes_text(last.training_peak_bytes)}, {human_ratio(last.training_peak_bytes / first.training_peak_bytes)} "
        f"{first.model}'s {bytes_text(first.training_peak_bytes)}."
    )


def scaling_chart(frame: pd.DataFrame, compound_base: float) -> Figure:
    """Measured MACs relative to B0 against the law's predictions (log), and the drift split into effects.

    Args:
        frame: one row per model with ``model``, ``measured_ratio``, ``coefficient_prediction``,
            ``phi_prediction``, ``compound_prediction``, ``total_drift`` and the four ``*_effect`` columns.
        compound_base: ``α·β²·γ²``, for the legend.
    """
    labels = [short_model(model) for model in frame["model"]]
    xs = range(len(frame))
    with chart_style():
        figure = new_figure(5.4)
        ratio_axes, drift_axes = figure.subplots(1, 2)
        ratio_axes.plot(xs, frame["measured_ratio"], marker="o", linewidth=2, label="measured (dispatch count)")
        ratio_axes.plot(xs, frame["coefficient_prediction"], marker="s", linestyle="--",
                        label="official coefficients d·w²·(r/224)²")
        ratio_axes.plot(xs, frame["phi_prediction"], linestyle=":", label="2^φ (the paper's rule of thumb)")
        ratio_axes.plot(xs, frame["compound_prediction"], linestyle="-.", label=f"(α·β²·γ²)^φ = {compound_base:.3f}^φ")
        ratio_axes.set_yscale("log")
        ratio_axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ratio_axes.yaxis.set_minor_formatter(NullFormatter())
        ratio_axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}×"))
        ratio_axes.set_ylabel("conv+linear MACs relative to B0 (log scale)")
        ratio_axes.set_title("MACs relative to B0")
        effects = {"structure (stem, head, SE, first blocks)": "structure_effect",
                   "channels rounded to multiples of 8": "channels_effect",
                   "repeats rounded up": "repeats_effect", "feature maps rounded up": "sizes_effect",
                   "total: measured / coefficients": "total_drift"}
        for label, key in effects.items():
            total = key == "total_drift"
            drift_axes.plot(xs, frame[key], marker="o" if total else ".", linewidth=2 if total else 1,
                            color="black" if total else None, label=label)
        drift_axes.axhline(1.0, color="grey", linewidth=0.8)
        drift_axes.set_ylabel("factor (×; 1 = as the law predicts)")
        drift_axes.set_title("Drift from the coefficient prediction, by cause")
        for axes in (ratio_axes, drift_axes):
            axes.set_xticks(list(xs), labels)
            axes.set_xlabel("model (EfficientNet, native resolution)")
        legend_outside(figure, by_axes=True)
        figure.suptitle("Compound scaling: measured MACs against the law, and where the difference comes from")
        set_caption(figure, (
            f"Per EfficientNet model at its native resolution (x; {model_key(frame['model'])}): left, conv + "
            "linear MACs relative to B0's (×, log scale), measured against three predictions of the compound-"
            "scaling law; right, the measured MACs over the coefficient prediction (factor ×, 1 = as the law "
            "predicts) and the part of it each cause explains."))
    return figure


# --- the plug-in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScalingSettings:
    """The series the study measures, B0 first (each at its native resolution, batch 1), and the timed forwards of
    each model's latency profile (0: no latency)."""

    models: tuple[str, ...] = tuple(EFFICIENTNET_SCALING)
    runs: int = PROFILE_RUNS


class Scaling(Study[ScalingSettings, ScalingStudy]):
    """EfficientNet B0–B7 cost curves, and their MACs against the compound-scaling law."""

    name = "scaling"
    title = "EfficientNet B0–B7 costs against the compound-scaling law"
    position = 10

    options = (runs_option("--scaling-runs", "each model for the latency columns", "times the scaling study's models"),)

    def settings(self, values: Mapping[str, Any]) -> ScalingSettings:
        """B0–B7 with the timed forwards asked for."""
        return ScalingSettings(runs=runs_value(values, self.options[0]))

    def report_settings(self) -> ScalingSettings:
        """B0–B7, each profiled as the latency study profiles it (the report runs those profiles once)."""
        return ScalingSettings()

    def jobs(self, settings: ScalingSettings) -> list[AnalysisJob | ProfileJob]:
        """Each model at its native resolution, with its training step; then, timed alone, its profile."""
        return [*(AnalysisJob.of(name, training=True) for name in settings.models),
                *(ProfileJob(name, settings.runs, PROFILE_WARMUP) for name in settings.models if settings.runs)]

    def assemble(self, settings: ScalingSettings, results: Mapping[Any, Any]) -> ScalingStudy:
        """:func:`scaling_from_analyses` of the jobs' analyses, with the profiles' latencies when timed."""
        study = scaling_from_analyses({name: results[AnalysisJob.of(name, training=True)]
                                       for name in settings.models})
        if not settings.runs:
            return study
        return with_latency(study, {name: results[ProfileJob(name, settings.runs, PROFILE_WARMUP)].latency
                                    for name in settings.models})

    def section(self, result: ScalingStudy) -> Section:
        """:func:`scaling_section`."""
        return scaling_section(result)


register_study(Scaling())
