"""Study ``latency``: where time goes against where the FLOPs go, model by model, on this machine.

Every model is profiled (:func:`~convcost.analyzer.profiling.profile`) at its native resolution,
batch 1, float32, on this machine's CPU, in isolation (nothing else runs while it measures): the
hook-free whole-model median with its interquartile range, and every module's own time. Each
module's time is then set beside its FLOPs by kernel class (:mod:`convcost.analyzer.kernel_class`)
and by declared stage, and under the machine's roofline (:mod:`convcost.analyzer.roofline`); the
latency model (:mod:`convcost.analyzer.latency_model`) predicts every model's latency from its
counts alone, and the error of that prediction is reported per model. The section adds the
measured and predicted latency to the report's summary table. Times are measurements of this
machine: no count depends on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from convcost.analyzer import Analysis
from convcost.analyzer.kernel_class import MEMORY_BOUND_CLASSES, KernelClass
from convcost.analyzer.latency_model import LatencyModel
from convcost.analyzer.profiling import MIN_SECONDS
from convcost.analyzer.roofline import PUBLISHED_DEVICES, Roofline
from convcost.analyzer.timed import MeasuredTime
from convcost.architectures import list_models
from convcost.reports.chart_style import (
    PALETTE,
    chart_style,
    label_points,
    legend_outside,
    new_figure,
    panels,
    set_caption,
)
from convcost.reports.charts import ChartJob, axis_units, model_key, short_model
from convcost.reports.columns import Column
from convcost.reports.frames import part_label
from convcost.reports.profile_section import measured_summary
from convcost.reports.prose import change_span, plural
from convcost.reports.sections import Section, Table
from convcost.reports.units import Unit, human_ms

from .arguments import model_names, non_negative_int, positive_int
from .base import Study, StudyOption, register_study
from .common import AnalysisJob
from .timing_jobs import PROFILE_RUNS, PROFILE_WARMUP, MachineJob, ProfileJob

__all__ = ["ClassTime", "LatencySettings", "LatencyStudy", "ModelTime", "PartTime",
           "latency_section"]

#: Timed forwards per model in the main report (and untimed ones before them).
REPORT_RUNS = PROFILE_RUNS
REPORT_WARMUP = PROFILE_WARMUP
#: Models whose roofline and time-share charts the section draws (when profiled).
CHART_MODELS = ("mobilenet_v2", "efficientnet_b0", "efficientnet_v2_s", "resnet50")


@dataclass(frozen=True)
class LatencySettings:
    """Which registry models, and how many timed forwards (``runs``) after ``warmup`` untimed ones."""

    models: tuple[str, ...]
    runs: int
    warmup: int


@dataclass(frozen=True)
class ClassTime:
    """A model's measured time, predicted time and FLOPs in one kernel class (ms, ms, FLOPs)."""

    kernel_class: KernelClass
    measured_ms: float
    predicted_ms: float | None
    flops: int


@dataclass(frozen=True)
class PartTime:
    """A model's measured time and FLOPs in one declared part (stem, stage, head, classifier)."""

    part: str
    measured_ms: float
    flops: int


@dataclass(frozen=True)
class ModelTime:
    """One model's measured and predicted time, by kernel class and by part."""

    time: MeasuredTime
    resolution: int
    macs: int
    by_class: tuple[ClassTime, ...]
    by_part: tuple[PartTime, ...]


@dataclass(frozen=True)
class LatencyStudy:
    """Every profiled model, the machine's roofline and the latency model that predicted them."""

    models: tuple[ModelTime, ...]
    roofline: Roofline
    latency_model: LatencyModel | None
    runs: int
    warmup: int


def model_time(measured: MeasuredTime, analysis: Analysis) -> ModelTime:
    """``measured`` split by kernel class and declared part through ``analysis``'s records."""
    records = {record.name: record for record in analysis.layers}
    predicted = {layer.name: layer.predicted_ms for layer in measured.prediction.layers} \
        if measured.prediction is not None else {}
    classes: dict[KernelClass, list[float]] = {}
    parts: dict[str, list[float]] = {}
    for layer in measured.profile.layers:
        record = records[layer.name]
        row = classes.setdefault(layer.kernel_class, [0.0, 0.0, 0])
        row[0] += layer.latency.median_ms
        row[1] += predicted.get(layer.name, 0.0)
        row[2] += layer.flops
        part = parts.setdefault(part_label(record), [0.0, 0])
        part[0] += layer.latency.median_ms
        part[1] += layer.flops
    by_class = tuple(ClassTime(kernel, ms, predicted_ms if predicted else None, int(flops))
                     for kernel in KernelClass if kernel in classes
                     for ms, predicted_ms, flops in [classes[kernel]])
    by_part = tuple(PartTime(part, ms, int(flops)) for part, (ms, flops) in parts.items())
    return ModelTime(measured, analysis.input_shapes[0][-1], analysis.totals.macs, by_class, by_part)


class Latency(Study[LatencySettings, LatencyStudy]):
    """Measured time against FLOPs, the roofline and the latency model's prediction, per model."""

    name = "latency"
    title = "Measured latency per model: time against FLOPs, the roofline, and the prediction from counts"
    position = 65
    options = (
        StudyOption(("--models",), "registry models to profile, comma-separated (default: every built-in model)",
                    "chooses the latency study's models", type=model_names, metavar="LIST"),
        StudyOption(("--profile-runs",), f"timed forwards per model (default: {REPORT_RUNS})",
                    "times the latency study's models", type=positive_int, default=REPORT_RUNS, metavar="N"),
        StudyOption(("--profile-warmup",), f"untimed forwards per model first (default: {REPORT_WARMUP})",
                    "warms the latency study's models up", type=non_negative_int, default=REPORT_WARMUP,
                    metavar="N"),
    )

    def settings(self, values: Mapping[str, Any]) -> LatencySettings:
        """The models, runs and warm-up asked for."""
        models = values.get("models") or tuple(list_models())
        warmup = values.get("profile_warmup")
        return LatencySettings(tuple(models), values.get("profile_runs") or REPORT_RUNS,
                               REPORT_WARMUP if warmup is None else warmup)

    def report_settings(self) -> LatencySettings:
        """Every built-in model, :data:`REPORT_RUNS` timed forwards."""
        return LatencySettings(tuple(list_models()), REPORT_RUNS, REPORT_WARMUP)

    def jobs(self, settings: LatencySettings) -> list[Any]:
        """Each model's analysis (shared), the machine's figures, then each model's profile (alone)."""
        return [*(AnalysisJob(model) for model in settings.models), MachineJob(),
                *(ProfileJob(model, settings.runs, settings.warmup) for model in settings.models)]

    def assemble(self, settings: LatencySettings, results: Mapping[Any, Any]) -> LatencyStudy:
        """Each profile under the roofline, predicted by the latency model, split by class and part."""
        roofline, latency_model = results[MachineJob()]
        models = []
        for model in settings.models:
            analysis: Analysis = results[AnalysisJob(model)]
            measured = replace(results[ProfileJob(model, settings.runs, settings.warmup)], roofline=roofline)
            prediction = latency_model.predict(analysis) if latency_model is not None else None
            models.append(model_time(MeasuredTime(measured, prediction, latency_model), analysis))
        return LatencyStudy(tuple(models), roofline, latency_model, settings.runs, settings.warmup)

    def section(self, result: LatencyStudy) -> Section:
        """:func:`latency_section`."""
        return latency_section(result)


register_study(Latency())


def latency_section(study: LatencyStudy) -> Section:
    """The study's section: a row per model, time and FLOPs shares by kernel class and by part, the latency model's
    fit, roofline estimates on published devices; charts of the shares, the roofline and latency against MACs."""
    frame = _model_frame(study)
    classes = _class_frame(study)
    parts = _part_frame(study)
    roof = study.roofline
    first = study.models[0].time.profile.machine if study.models else None
    machine = (f"{first.processor}, {first.cores} cores, {first.threads} threads, torch {first.torch}"
               if first is not None else "this machine")
    intro = (
        f"Each model runs on real tensors at its native resolution, batch 1, float32, eval mode, alone on {machine}: "
        f"the whole forward timed with no hook (at least {plural(study.runs, 'run')}, and more until the timed "
        f"forwards have taken {MIN_SECONDS:g} s, after {plural(study.warmup, 'warm-up forward')}; the Runs column "
        "counts them; median and interquartile range), then every module's own time "
        "under hooks. Where the time goes is set against where the FLOPs go, by kernel class and by stage. The "
        f"machine's roofline: {human_ms(roof.peak_gflops)} GFLOP/s and {human_ms(roof.bandwidth_gbs)} GB/s "
        f"({roof.source})."
    )
    notes = [
        f"{Column.LATENCY.title}: median of the hook-free runs; {Column.LATENCY_IQR.title}: their interquartile "
        "range. Times are measurements "
        "on this machine, which may be shared: they move from run to run, while the counts beside them are exact.",
        "Time share: a kernel class's (or stage's) share of the modules' own times; FLOPs share: its share of the "
        "FLOPs." + _memory_bound_sentence(classes),
    ]
    shares = {"time_share": "share_of_time", "flops_share": "share_of_flops"}  # a class's share, not a subtree's
    tables = [Table(CLASS_TABLE, classes.rename(columns=shares)),
              Table("Time share against FLOPs share by stage", parts.rename(columns=shares)),
              Table("This machine's roofline", pd.DataFrame([{
                  "device": "this machine", "peak_gflops_per_s": roof.peak_gflops,
                  "bandwidth_gb_per_s": roof.bandwidth_gbs, "measured_by": roof.source}]))]
    if study.latency_model is not None:
        errors = [m.time.prediction_error for m in study.models if m.time.prediction_error is not None]
        fit = study.latency_model
        intro += (f" The latency model predicts each model from its counts alone (fitted on "
                  f"{fit.samples} single-layer micro-benchmarks, never on these networks): "
                  f"errors {change_span(errors)}.") if errors else ""
        tables.append(Table("Latency model fitted on single-layer micro-benchmarks (library: a conv class's fit on "
                            "one kernel library alone; blank: on every micro-benchmark of the class)", _fit_frame(fit)))
    tables.append(Table("Roofline estimates on published devices (estimates from published peaks, not measurements)",
                        _estimates_frame(study)))
    charted = [m for m in study.models if m.time.model in CHART_MODELS] or list(study.models[:4])
    figures = [ChartJob("latency-shares", time_share_chart, (classes[classes["model"].isin(
                   [m.time.model for m in charted])],)),
               ChartJob("latency-roofline", roofline_chart, (_points_frame(charted), roof.peak_gflops,
                                                               roof.bandwidth_gbs)),
               ChartJob("latency-vs-macs", latency_chart, (frame,))] if study.models else []
    summary = measured_summary([model.time for model in study.models])
    values = {"roofline": {"peak_gflops": roof.peak_gflops, "bandwidth_gbs": roof.bandwidth_gbs,
                           "measured": roof.measured, "source": roof.source}}
    if first is not None:
        values["machine"] = {"processor": first.processor, "cores": first.cores, "threads": first.threads,
                             "device": first.device.value, "torch": first.torch}
    return Section("Time: measured latency against the counts", intro, frame, figures=figures, tables=tables,
                   notes=notes, values=values, summary=summary)


def _model_frame(study: LatencyStudy) -> pd.DataFrame:
    rows = []
    for model in study.models:
        measured = model.time.profile
        latency = measured.latency
        prediction = model.time.prediction
        bound = measured.bound_ms()
        flops = sum(layer.flops for layer in measured.layers)
        rows.append({
            Column.MODEL.key: measured.model, Column.RESOLUTION.key: model.resolution,
            Column.LATENCY.key: latency.median_ms, Column.LATENCY_IQR.key: latency.iqr_ms, "runs": latency.runs,
            Column.PREDICTED_LATENCY.key: prediction.predicted_ms if prediction is not None else None,
            "prediction_error": model.time.prediction_error, Column.MACS.key: model.macs, Column.FLOPS.key: flops,
            "gflops_per_s": flops / latency.median_ms / 1e6 if latency.median_ms > 0 else 0.0,
            "layer_sum_ms": measured.layer_sum_ms, "roofline_bound_ms": bound,
            "roofline_efficiency": bound / latency.median_ms if latency.median_ms > 0 else 0.0,
        })
    return pd.DataFrame(rows, columns=[Column.MODEL.key, Column.RESOLUTION.key, Column.LATENCY.key,
                                       Column.LATENCY_IQR.key, "runs", Column.PREDICTED_LATENCY.key,
                                       "prediction_error", Column.MACS.key, Column.FLOPS.key, "gflops_per_s",
                                       "layer_sum_ms", "roofline_bound_ms", "roofline_efficiency"])


#: Caption of the table of time and FLOPs shares per kernel class.
CLASS_TABLE = "Time share against FLOPs share by kernel class"


def _memory_bound_sentence(classes: pd.DataFrame) -> str:
    """How many of the measured models spend a larger share of their time than of their FLOPs in depthwise
    convolutions and in the layers between the convs, their memory-bound classes together (read off the table, so
    the sentence says what this run shows)."""
    counts = []
    for kinds, words in (({KernelClass.DEPTHWISE}, "depthwise convolutions"),
                         (MEMORY_BOUND_CLASSES, "memory-bound layers (batch norm, activations, squeeze-excite's "
                                                "pooling and scale, residual adds)")):
        shares = classes[classes["kernel_class"].isin([kind.value for kind in kinds])].groupby("model")[
            ["time_share", "flops_share"]].sum()
        shares = shares[shares["flops_share"] > 0]
        if not shares.empty:
            larger = int((shares["time_share"] > shares["flops_share"]).sum())
            counts.append(f"{words} in {larger} of the {plural(len(shares), 'model')} that have them")
    if not counts:
        return ""
    return (f" A larger share of the time than of the FLOPs goes to {' and to '.join(counts)} (table "
            f"\"{CLASS_TABLE}\" below): they move many bytes per FLOP and each call has a fixed cost.")


def _class_frame(study: LatencyStudy) -> pd.DataFrame:
    rows = []
    for model in study.models:
        total_ms = sum(c.measured_ms for c in model.by_class) or 1.0
        total_flops = sum(c.flops for c in model.by_class) or 1
        rows += [{"model": model.time.model, "kernel_class": c.kernel_class.value, "latency_ms": c.measured_ms,
                  "predicted_ms": c.predicted_ms, "time_share": c.measured_ms / total_ms,
                  "flops_share": c.flops / total_flops} for c in model.by_class]
    return pd.DataFrame(rows, columns=["model", "kernel_class", "latency_ms", "predicted_ms", "time_share",
                                       "flops_share"])


def _part_frame(study: LatencyStudy) -> pd.DataFrame:
    rows = []
    for model in study.models:
        total_ms = sum(p.measured_ms for p in model.by_part) or 1.0
        total_flops = sum(p.flops for p in model.by_part) or 1
        rows += [{"model": model.time.model, "stage": p.part, "latency_ms": p.measured_ms,
                  "time_share": p.measured_ms / total_ms, "flops_share": p.flops / total_flops}
                 for p in model.by_part]
    return pd.DataFrame(rows, columns=["model", "stage", "latency_ms", "time_share", "flops_share"])


def _fit_frame(fit: LatencyModel) -> pd.DataFrame:
    return pd.DataFrame([{
        "kernel_class": c.kernel_class.value, "library": c.library.value if c.library else None,
        "samples": c.samples, "op_us": c.op_ms * 1e3,
        "compute_efficiency": c.compute_efficiency, "memory_efficiency": c.memory_efficiency,
        "median_error": c.median_error,
    } for c in fit.classes], columns=["kernel_class", "library", "samples", "op_us", "compute_efficiency",
                                      "memory_efficiency", "median_error"])


def _estimates_frame(study: LatencyStudy) -> pd.DataFrame:
    """Each model's roofline bound (ms) on each published device, one ``<device>_ms`` column per device."""
    rows = [{"model": m.time.model, **{f"{device.name}_ms": m.time.profile.bound_ms(device.roofline)
                                        for device in PUBLISHED_DEVICES}} for m in study.models]
    return pd.DataFrame(rows, columns=["model", *(f"{device.name}_ms" for device in PUBLISHED_DEVICES)])


def _points_frame(models: Sequence[ModelTime]) -> pd.DataFrame:
    """Every layer that does FLOPs and takes time: its model, kernel class, intensity and achieved GFLOP/s."""
    rows = []
    for model in models:
        rows += [{"model": model.time.model, "kernel_class": layer.kernel_class.value,
                  "intensity": layer.intensity, "gflops_per_s": layer.gflops_per_s}
                 for layer in model.time.profile.layers if layer.flops and layer.latency.median_ms > 0]
    return pd.DataFrame(rows, columns=["model", "kernel_class", "intensity", "gflops_per_s"])


_CLASS_COLORS = {kernel.value: PALETTE[index % len(PALETTE)] for index, kernel in enumerate(KernelClass)}


def time_share_chart(classes: pd.DataFrame) -> Figure:
    """Per model, each kernel class's share of the FLOPs beside its share of the time (percent)."""
    models = list(dict.fromkeys(classes["model"]))
    with chart_style():
        rows_of_panels = -(-len(models) // 2)
        figure = new_figure(1.4 + 3.2 * rows_of_panels)
        axes_list = panels(figure, len(models), 2, sharey=True)
        for index, (axes, model) in enumerate(zip(axes_list, models, strict=True)):
            rows = classes[classes["model"] == model]
            positions = range(len(rows))
            axes.bar([p - 0.2 for p in positions], rows["flops_share"] * 100, 0.4, label="FLOPs share",
                     color=PALETTE[0])
            axes.bar([p + 0.2 for p in positions], rows["time_share"] * 100, 0.4, label="time share",
                     color=PALETTE[1])
            axes.set_xticks(list(positions), list(rows["kernel_class"]), rotation=30, ha="right")
            axes.set_title(short_model(model))
            axes.set_xlabel("kernel class")
            if index % 2 == 0:  # the panels share the first column's scale
                axes.set_ylabel("share of the model (%)")
        legend_outside(figure)
        figure.suptitle("Where the FLOPs go against where the time goes (measured on this machine)")
        set_caption(figure, (
            "Per model (one panel each) and kernel class (x): its share of the model's FLOPs and its share of the "
            "modules' own measured time (y, %; each adds up to 100% over a model's classes); time measured at "
            f"batch 1, float32, on this machine's CPU ({model_key(models)})."))
    return figure


def roofline_chart(points: pd.DataFrame, peak_gflops: float, bandwidth_gbs: float) -> Figure:
    """Every layer as a point, arithmetic intensity (FLOPs per byte) against achieved GFLOP/s, under the roofline.

    The points are rasterized in the SVG (hundreds of layers would make it hundreds of KB); axes and text stay
    vector.
    """
    models = list(dict.fromkeys(points["model"]))
    with chart_style():
        rows_of_panels = -(-max(len(models), 1) // 2)
        figure = new_figure(1.5 + 3.3 * rows_of_panels)
        axes_list = panels(figure, max(len(models), 1), 2, sharey=True, sharex=True)
        low = max(points["intensity"].min() / 2, 1e-3) if len(points) else 0.01
        high = points["intensity"].max() * 2 if len(points) else 100.0
        ridge = peak_gflops / bandwidth_gbs
        roof_x = [low, ridge, max(high, ridge * 2)]
        for index, (axes, model) in enumerate(zip(axes_list, models, strict=True)):
            rows = points[points["model"] == model]
            axes.plot(roof_x, [bandwidth_gbs * low, peak_gflops, peak_gflops], color="black", linewidth=1,
                      label="roofline")
            for kernel, group in rows.groupby("kernel_class", sort=False):
                axes.scatter(group["intensity"], group["gflops_per_s"], s=10, linewidths=0, alpha=0.7,
                             label=str(kernel), color=_CLASS_COLORS.get(str(kernel), PALETTE[-1]), rasterized=True)
            axis_units(axes, "x", Unit.COUNT, log=True)
            axis_units(axes, "y", Unit.COUNT, log=True)
            axes.minorticks_off()  # six decades of minor ticks: noise, and a third of the SVG
            axes.set_title(short_model(model))
            axes.set_xlabel("FLOPs per byte moved")
            if index % 2 == 0:  # the panels share the first column's scale
                axes.set_ylabel("achieved GFLOP/s")
        legend_outside(figure, title="kernel class")
        figure.suptitle(f"Every layer under this machine's roofline ({peak_gflops:.0f} GFLOP/s, "
                        f"{bandwidth_gbs:.0f} GB/s)")
        set_caption(figure, (
            "Per model (one panel each), every layer that does FLOPs: its arithmetic intensity (x, FLOPs per byte "
            "of weights, input and output, log scale) against the throughput it achieved (y, GFLOP/s, log scale), "
            f"coloured by kernel class; the line is this machine's roofline (peak {peak_gflops:.0f} GFLOP/s, "
            f"bandwidth {bandwidth_gbs:.0f} GB/s). Batch 1, float32, this machine's CPU ({model_key(models)})."))
    return figure


def latency_chart(frame: pd.DataFrame) -> Figure:
    """Each model's measured latency (median, with its interquartile range) and predicted latency against its
    MACs, log-log."""
    with chart_style():
        figure = new_figure(5.6)
        axes = figure.subplots()
        axes.errorbar(frame[Column.MACS.key], frame[Column.LATENCY.key], yerr=frame[Column.LATENCY_IQR.key] / 2,
                      fmt="o", color=PALETTE[0], label="measured (median ± half the interquartile range)")
        predicted = frame.dropna(subset=[Column.PREDICTED_LATENCY.key])
        if len(predicted):
            axes.scatter(predicted[Column.MACS.key], predicted[Column.PREDICTED_LATENCY.key], marker="x",
                         color=PALETTE[1], label="predicted from counts")
        axis_units(axes, "x", Unit.COUNT, log=True)
        axis_units(axes, "y", Unit.MS, log=True)
        axes.margins(x=0.08, y=0.08)
        label_points(axes, frame[Column.MACS.key], frame[Column.LATENCY.key],  # clear of the crosses and bars
                     [short_model(str(model)) for model in frame[Column.MODEL.key]])
        axes.set_xlabel("conv+linear MACs (count)")
        axes.set_ylabel("forward latency (ms)")
        legend_outside(figure)
        figure.suptitle("Latency against MACs on this machine")
        set_caption(figure, (
            "x: conv + linear MACs (multiply-accumulates, count, log scale); y: forward latency (ms, log scale) at "
            "batch 1, float32, on this machine's CPU: measured (median, bar ± half the interquartile range) and "
            f"predicted from the counts alone (crosses); {model_key(frame[Column.MODEL.key])}."))
    return figure
