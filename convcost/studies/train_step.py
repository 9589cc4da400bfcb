"""Study ``training``: one training step of every built-in model, and FlopCounterMode's figure beside the truth.

Each model is analysed at its native resolution, batch 1, with its training step
(:mod:`convcost.analyzer.training`): a train-mode forward and its backward on ``meta`` tensors and
SGD's update. Per model: forward MACs, backward MACs split into grad-input and grad-weight, the
step's FLOPs, its peak memory and when it is reached, and what PyTorch's ``FlopCounterMode``
reports for the same forward and backward (:func:`~convcost.analyzer.conventions.flopcounter_training_total`),
which counts a grouped convolution's weight gradient ``groups`` times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from convcost.analyzer import Analysis
from convcost.analyzer.conventions import flopcounter_training_total
from convcost.architectures import list_models
from convcost.reports.chart_style import SMALL, chart_style, legend_outside, new_figure, set_caption
from convcost.reports.charts import ChartJob, axis_units, grouped_bars, model_key, short_model
from convcost.reports.prose import bytes_text, count_text
from convcost.reports.sections import Section
from convcost.reports.units import Unit, human_ratio

from .base import Study, register_study
from .common import AnalysisJob, records_frame

__all__ = ["StepRow", "TrainingStudy", "training_from_analyses", "training_section"]


@dataclass(frozen=True)
class StepRow:
    """One model's training step at batch 1 (MACs and FLOPs per step; bytes in float32).

    Attributes:
        macs: forward MACs; grad_input_macs, grad_weight_macs, backward_macs: the backward's products.
        first_layer_macs: forward MACs of the first layer with any (its grad-input is never computed).
        optimizer_flops: SGD's update (2 per trainable element).
        training_flops: train-mode forward, backward and update, every operator.
        product_flops: 2 per multiply-add of the forward and backward products (what FlopCounterMode counts).
        flopcounter_flops: FlopCounterMode's figure for the same products.
        peak_bytes, peak_moment: the step's peak memory and when it is reached.
        saved_bytes: what the train-mode forward saves for backward.
    """

    model: str
    resolution: int
    macs: int
    first_layer_macs: int
    grad_input_macs: int
    grad_weight_macs: int
    backward_macs: int
    optimizer_flops: int
    training_flops: int
    product_flops: int
    flopcounter_flops: int
    peak_bytes: int
    peak_moment: str
    saved_bytes: int

    @property
    def flopcounter_ratio(self) -> float:
        """FlopCounterMode's figure over the true one (1: right)."""
        return self.flopcounter_flops / self.product_flops


@dataclass(frozen=True)
class TrainingStudy:
    """One :class:`StepRow` per model, in registry order."""

    rows: tuple[StepRow, ...]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per model, with ``flopcounter_ratio``."""
        return records_frame(self.rows).assign(flopcounter_ratio=[row.flopcounter_ratio for row in self.rows])


def training_from_analyses(analyses: Mapping[str, Analysis]) -> TrainingStudy:
    """The study from one training-step analysis per model name.

    Raises:
        ValueError: an analysis without its training step.
    """
    rows = []
    for name, analysis in analyses.items():
        step = analysis.training
        if step is None:
            raise ValueError(f"the analysis of {name} has no training step; analyse with training=True")
        backward = step.total
        rows.append(StepRow(
            model=name, resolution=analysis.input_shapes[0][-1], macs=analysis.totals.macs,
            first_layer_macs=next((layer.macs for layer in analysis.layers if layer.macs), 0),
            grad_input_macs=backward.grad_input_macs, grad_weight_macs=backward.grad_weight_macs,
            backward_macs=backward.macs, optimizer_flops=step.optimizer_flops, training_flops=step.training_flops,
            product_flops=2 * (analysis.totals.macs + backward.macs),
            flopcounter_flops=flopcounter_training_total(analysis).total, peak_bytes=step.peak_bytes,
            peak_moment=step.peak_moment, saved_bytes=step.saved_bytes,
        ))
    return TrainingStudy(tuple(rows))


_COLUMNS = ["model", "resolution", "macs", "backward_macs", "grad_input_macs", "grad_weight_macs", "optimizer_flops",
            "training_flops", "peak_bytes", "peak_moment", "saved_bytes", "product_flops", "flopcounter_flops",
            "flopcounter_ratio"]


def training_section(study: TrainingStudy) -> Section:
    """The training step of every model: backward against forward, FlopCounterMode against the truth, peak memory."""
    # the step's peak under the vocabulary's training-peak names, not the inference peak's
    frame = study.to_dataframe()[_COLUMNS].rename(columns={"peak_bytes": "training_peak_bytes",
                                                            "peak_moment": "training_peak_at"})
    twice = sum(row.backward_macs == 2 * row.macs - row.first_layer_macs for row in study.rows)
    right = [row.model for row in study.rows if row.flopcounter_flops == row.product_flops]
    worst = max(study.rows, key=lambda row: row.flopcounter_ratio)
    largest = max(study.rows, key=lambda row: row.peak_bytes)
    intro = (
        "One training step of every model at its native resolution, batch 1: a train-mode forward (batch "
        "statistics, dropout and stochastic-depth masks) and its backward counted on meta tensors through real "
        "autograd, then SGD's update. A convolution's or linear layer's backward is its grad-input product (when "
        "its input needs a gradient) plus its grad-weight product (when its weight trains), each equal to its "
        f"forward MACs, so the backward is twice the forward less the first layer's grad-input, which the image "
        f"does not need: {twice} of {len(study.rows)} models. PyTorch's FlopCounterMode counts the same products "
        f"right on {', '.join(right) or 'no model'} (no grouped convolutions); on the others it counts each grouped "
        f"layer's weight gradient once per group, up to {human_ratio(worst.flopcounter_ratio)} the true figure "
        f"({worst.model}: {count_text(worst.flopcounter_flops)} FLOPs for {count_text(worst.product_flops)}). "
        "The largest step, "
        f"{largest.model}'s, peaks at {bytes_text(largest.peak_bytes)} in the {largest.peak_moment}."
    )
    return Section(
        "The training step: backward cost and peak memory of every model", intro, frame,
        figures=[ChartJob("training-step", training_chart, (frame,))],
    )


def training_chart(frame: pd.DataFrame) -> Figure:
    """Per model: forward and backward MACs (log), and FlopCounterMode's forward+backward product FLOPs over the
    true figure.

    Args:
        frame: one row per model with ``model``, ``macs``, ``grad_input_macs``, ``grad_weight_macs`` and
            ``flopcounter_ratio``.
    """
    labels = [short_model(model) for model in frame["model"]]
    with chart_style():
        figure = new_figure(5.4)
        macs_axes, ratio_axes = figure.subplots(1, 2)
        series = {"forward": list(frame["macs"]), "backward: grad-input": list(frame["grad_input_macs"]),
                  "backward: grad-weight": list(frame["grad_weight_macs"])}
        grouped_bars(macs_axes, labels, series)
        macs_axes.set_yscale("log")
        axis_units(macs_axes, "y", Unit.COUNT, log=True)
        macs_axes.set_ylabel("multiply-accumulates per step (MACs, log scale)")
        macs_axes.set_title("Forward and backward MACs (batch 1)")
        ratio_axes.bar(labels, frame["flopcounter_ratio"], color="tab:red")
        ratio_axes.axhline(1.0, color="black", linewidth=1, linestyle="--", label="FlopCounterMode right (1×)")
        ratio_axes.set_yscale("log")
        ratio_axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}×"))
        ratio_axes.set_ylabel("FlopCounterMode ÷ true product FLOPs (×, log scale)")
        ratio_axes.set_title("FlopCounterMode's forward + backward against the truth")
        for axes in (macs_axes, ratio_axes):
            axes.tick_params(axis="x", labelrotation=60, labelsize=SMALL - 1)
            axes.set_xlabel("model (native resolution)")
        legend_outside(figure)
        figure.suptitle("One training step of every model: backward MACs, and FlopCounterMode's figure")
        set_caption(figure, (
            f"Per model at its native resolution, batch 1 (x; {model_key(frame['model'])}): left, the forward and "
            "backward conv + linear MACs of one training step (multiply-accumulates, count, log scale); right, "
            "FlopCounterMode's forward + backward product FLOPs over the true count (ratio ×, log scale)."))
    return figure


# --- the plug-in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSettings:
    """The models whose training step the study counts (native resolution, batch 1)."""

    models: tuple[str, ...]


class Training(Study[TrainingSettings, TrainingStudy]):
    """One training step of every built-in model."""

    name = "training"
    title = "the training step of every model: backward MACs, FlopCounterMode against the truth, peak memory"
    position = 55

    def report_settings(self) -> TrainingSettings:
        """Every registry model."""
        return TrainingSettings(tuple(list_models()))

    def jobs(self, settings: TrainingSettings) -> Sequence[AnalysisJob]:
        """Each model with its training step (the report's own analyses)."""
        return [AnalysisJob.of(name, training=True) for name in settings.models]

    def assemble(self, settings: TrainingSettings, results: Mapping[Any, Any]) -> TrainingStudy:
        """:func:`training_from_analyses`."""
        return training_from_analyses({name: results[AnalysisJob.of(name, training=True)]
                                       for name in settings.models})

    def section(self, result: TrainingStudy) -> Section:
        """:func:`training_section`."""
        return training_section(result)


register_study(Training())
