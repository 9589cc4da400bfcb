"""Study ``fused``: MBConv against Fused-MBConv, stage by stage (EfficientNetV2, Tan & Le 2021).

Every stage of the network is measured as built and rebuilt with the other block kind —
Fused-MBConv stages as MBConv (with SE 0.25, as EfficientNetV2's MBConv stages have) and
MBConv stages as Fused-MBConv (without SE, as its fused stages have) — keeping expand
ratio, kernel, stride, channels and repeats. Each stage is analysed alone, on a ``meta``
input of the shape it receives inside the network, and optionally timed on real tensors.

Definitions (bytes in the analysis dtype):
    weight_bytes   = (params + buffers) · bytes per element
    bytes_moved    = weight_bytes + stage input bytes + stage output bytes: the least
                     traffic possible, every weight and the input read once and the
                     output written once, as if the stage were one fused kernel.
    layerwise_bytes = weight_bytes + input bytes + 2 · activation_bytes: every tensor the
                     forward allocates is written once and read once (no fusion, no cache).
    arithmetic_intensity = FLOPs / bytes_moved (FLOP per byte); layerwise_intensity uses
                     layerwise_bytes.
Latency: median of ``runs`` timed forward passes (seconds) of the stage alone on CPU, batch
``batch`` in float32, in eval mode under ``torch.no_grad``, after ``warmup`` untimed passes.
A stage's blocks after the first are identical (same widths, stride 1), so a pass of the stage
is timed as its first block plus ``repeats − 1`` times one repeated block, each on its real
input: the same arithmetic, with two blocks' weights in memory instead of the whole stage's
(EfficientNetV2-S's last stage swapped to Fused-MBConv holds 216 MiB of weights).
A stage's two variants are timed in alternation (built, swapped, built, …), so a slow spell
of a shared machine hits both alike; the fastest run is kept too (``latency_min_s``).
"""

from __future__ import annotations

import math
import platform
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import torch
from matplotlib.figure import Figure

from convcost.analyzer import analyze
from convcost.analyzer.profiling import Spread
from convcost.architectures import BlockStage, NetOptions, build_stage
from convcost.architectures.specs import BlockKind
from convcost.reports.chart_style import chart_style, legend_outside, new_figure, set_caption
from convcost.reports.charts import ChartJob, axis_units, grouped_bars
from convcost.reports.prose import plural, span
from convcost.reports.sections import Section
from convcost.reports.units import Unit, shape_text

from .arguments import index_list, non_negative_int
from .base import SettingsError, Study, StudyOption, register_study
from .common import dtype_bytes, records_frame
from .stage_timing import (
    DEFAULT_RUNS,
    FUSED_MODEL,
    SWAP,
    FusedJob,
    StageTiming,
    StageTimings,
    Swap,
    measure_latency,
    stage_input_sizes,
    staged_network,
    swapped,
    time_stages,
    time_study,
)

__all__ = [
    "DEFAULT_RUNS",
    "SWAP",
    "FusedStudy",
    "StageCost",
    "StageTiming",
    "StageTimings",
    "Swap",
    "cpu_name",
    "fused_section",
    "fused_study",
    "measure_latency",
    "stage_cost",
    "stage_input_sizes",
    "swapped",
    "time_stages",
    "time_study",
    "with_latency",
    "with_timings",
]

@dataclass(frozen=True)
class StageCost:
    """One stage, as built or with its block kind swapped.

    Attributes:
        stage: index in the stage table; as_built: False for the swapped rebuild.
        block, expand_ratio, kernel, stride, in_channels, out_channels, repeats, se_ratio:
            the stage's table row.
        batch: images per pass; input_size: ``(H, W)`` of the stage input (pixels).
        params: trainable parameters; buffers: BatchNorm statistics (elements).
        macs: conv multiply-accumulates; flops: all-operator FLOPs.
        weight_bytes, input_bytes, output_bytes: see the module docstring.
        activation_bytes: bytes of every tensor the forward allocates (no reuse).
        training_bytes: activation bytes autograd saves for backward.
        latency_runs: seconds of each timed forward pass (empty when not timed).
    """

    stage: int
    as_built: bool
    block: BlockKind
    expand_ratio: int
    kernel: int
    stride: int
    in_channels: int
    out_channels: int
    repeats: int
    se_ratio: float
    batch: int
    input_size: tuple[int, int]
    params: int
    buffers: int
    macs: int
    flops: int
    weight_bytes: int
    input_bytes: int
    output_bytes: int
    activation_bytes: int
    training_bytes: int
    latency_runs: tuple[float, ...] = ()

    @property
    def bytes_moved(self) -> int:
        """Weights + input + output bytes: the least traffic of one pass."""
        return self.weight_bytes + self.input_bytes + self.output_bytes

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte of ``bytes_moved``."""
        return self.flops / self.bytes_moved

    @property
    def layerwise_bytes(self) -> int:
        """Weights + input + every allocated tensor written and read once."""
        return self.weight_bytes + self.input_bytes + 2 * self.activation_bytes

    @property
    def layerwise_intensity(self) -> float:
        """FLOPs per byte of ``layerwise_bytes``."""
        return self.flops / self.layerwise_bytes

    @property
    def latency_s(self) -> float | None:
        """Median of ``latency_runs`` (seconds), None when not timed."""
        return statistics.median(self.latency_runs) if self.latency_runs else None

    @property
    def latency(self) -> Spread | None:
        """Median and quartiles of ``latency_runs`` in milliseconds (:class:`~convcost.analyzer.profiling.Spread`,
        as ``profile`` reports a latency), None when not timed."""
        return Spread.of([seconds * 1e3 for seconds in self.latency_runs]) if self.latency_runs else None

    @property
    def latency_min_s(self) -> float | None:
        """Fastest of ``latency_runs`` (seconds), the least disturbed by other load; None when not timed."""
        return min(self.latency_runs) if self.latency_runs else None

    @property
    def flops_per_second(self) -> float | None:
        """Achieved throughput, ``flops / latency_s`` (FLOP/s), None when not timed."""
        latency = self.latency_s
        return self.flops / latency if latency else None


@dataclass(frozen=True)
class FusedStudy:
    """Result of :func:`fused_study`.

    Attributes:
        model, resolution: network and its input side (pixels).
        dtype: analysis dtype; timing always runs in float32.
        threads: ``torch.get_num_threads()`` during timing.
        processor, machine: ``platform.processor()`` and ``platform.machine()``.
        torch_version: ``torch.__version__``.
        runs, warmup: timed and untimed passes per stage (``runs`` 0: not timed).
        stages: for each stage, the as-built record then the swapped one.
        system: ``platform.platform()``; cpu: the CPU model (:func:`cpu_name`).
    """

    model: str
    resolution: int
    dtype: str
    threads: int
    processor: str
    machine: str
    torch_version: str
    runs: int
    warmup: int
    stages: tuple[StageCost, ...]
    system: str = ""
    cpu: str = ""

    def pairs(self) -> list[tuple[StageCost, StageCost]]:
        """``(as built, swapped)`` per stage."""
        built = {cost.stage: cost for cost in self.stages if cost.as_built}
        swapped_ = {cost.stage: cost for cost in self.stages if not cost.as_built}
        return [(built[index], swapped_[index]) for index in built]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per (stage, variant) with the derived bytes, intensities and median latency."""
        frame = records_frame(self.stages)
        frame.insert(0, "model", self.model)
        return frame


def stage_cost(
    index: int,
    stage: BlockStage,
    options: NetOptions,
    input_size: tuple[int, int],
    *,
    as_built: bool,
    batch: int = 1,
    dtype: torch.dtype = torch.float32,
) -> StageCost:
    """Analyse one stage alone on a ``meta`` input of ``(batch, C_in, *input_size)`` (not timed)."""
    shape = (batch, stage.in_channels, *input_size)
    with torch.device("meta"):
        meta_stage = build_stage(stage, options, input_size).blocks
    analysis = analyze(meta_stage, shape, dtype=dtype, name=f"stage {index} {stage.block}")
    totals, size = analysis.totals, dtype_bytes(dtype)
    out_shape = analysis.layer("").output_shapes[0]
    return StageCost(
        stage=index, as_built=as_built, block=stage.block, expand_ratio=stage.expand_ratio, kernel=stage.kernel,
        stride=stage.stride, in_channels=stage.in_channels, out_channels=stage.out_channels,
        repeats=stage.repeats, se_ratio=stage.se_ratio, batch=batch, input_size=input_size,
        params=totals.params, buffers=totals.buffers, macs=totals.macs, flops=totals.flops,
        weight_bytes=(totals.params + totals.buffers) * size,
        input_bytes=math.prod(shape) * size, output_bytes=math.prod(out_shape) * size,
        activation_bytes=totals.activation_bytes, training_bytes=totals.training_bytes,
    )


def fused_study(
    model: str = "efficientnet_v2_s",
    resolution: int | None = None,
    *,
    batch: int = 1,
    dtype: torch.dtype = torch.float32,
    runs: int = DEFAULT_RUNS,
    warmup: int = 1,
    stages: Sequence[int] | None = None,
) -> FusedStudy:
    """Every stage (or the chosen ``stages``) of ``model`` as built and with its block kind swapped.

    Args:
        resolution: network input side (pixels); default the model's native one (384 for V2-S).
        runs: timed passes per stage variant; 0 skips timing.
        warmup: untimed passes before timing.
        stages: stage indices to include; default all.

    Raises:
        ValueError: ``model`` is not a staged mobile network, or a stage index is out of range.
    """
    side, net = staged_network(model, resolution)
    indices = list(range(len(net.spec.stages))) if stages is None else list(stages)
    bad = [i for i in indices if not 0 <= i < len(net.spec.stages)]
    if bad:
        raise ValueError(f"{model} has stages 0–{len(net.spec.stages) - 1}; got {bad}")
    sizes = stage_input_sizes(net, side)
    costs = [
        stage_cost(index, variant, net.options, sizes[index], as_built=as_built, batch=batch, dtype=dtype)
        for index in indices
        for variant, as_built in ((net.spec.stages[index], True), (swapped(net.spec.stages[index]), False))
    ]
    study = FusedStudy(
        model=model, resolution=side, dtype=str(dtype).removeprefix("torch."), threads=torch.get_num_threads(),
        processor=platform.processor(), machine=platform.machine(), torch_version=torch.__version__,
        runs=0, warmup=warmup, stages=tuple(costs), system=platform.platform(), cpu=cpu_name(),
    )
    return with_latency(study, runs, warmup) if runs else study


def with_timings(study: FusedStudy, timings: StageTimings) -> FusedStudy:
    """``study`` with the measured passes of ``timings`` on its stages; counts unchanged."""
    measured = {(timing.stage, timing.as_built): timing.latency_runs for timing in timings.timings}
    stages = tuple(replace(cost, latency_runs=measured[cost.stage, cost.as_built]) for cost in study.stages)
    return replace(study, stages=stages, runs=timings.runs, warmup=timings.warmup, threads=timings.threads)


def with_latency(study: FusedStudy, runs: int = DEFAULT_RUNS, warmup: int = 1) -> FusedStudy:
    """``study`` with both variants of every stage timed (:func:`time_study`); counts unchanged.

    Raises:
        ValueError: ``runs`` < 1 or ``warmup`` < 0.
    """
    indices = [built.stage for built, _ in study.pairs()]
    batch = study.stages[0].batch if study.stages else 1
    return with_timings(study, time_study(study.model, study.resolution, indices, batch=batch, runs=runs,
                                          warmup=warmup))


def cpu_name() -> str:
    """The CPU model (``model name`` in ``/proc/cpuinfo`` on Linux), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor()


# --- report section ---------------------------------------------------------------------

#: Steadier latency needs more runs than the report spends; the notes say how to get them.
STEADY_RUNS = 20
#: An as-built stage over its rebuild with the other block kind: column → the stage figure it divides.
_TO_SWAPPED = {"macs_to_swapped_ratio": "macs", "params_to_swapped_ratio": "params",
               "intensity_to_swapped_ratio": "arithmetic_intensity", "latency_to_swapped_ratio": "latency_s"}
_FUSED_COLUMNS = ["stage", "variant", "block", "input_size", "params", "macs", "activation_bytes",
                  "arithmetic_intensity", "latency_ms", "latency_iqr_ms", "verdict", *_TO_SWAPPED, "latency_min_ms",
                  "flops", "training_bytes", "expand_ratio", "kernel", "se_ratio"]


def _fused_frame(study: FusedStudy) -> pd.DataFrame:
    frame = study.to_dataframe()
    frame["variant"] = frame["as_built"].map({True: "as built", False: "swapped"})
    frame["input_size"] = [shape_text(size) for size in frame["input_size"]]
    for source, target in (("latency_s", "latency_ms"), ("latency_min_s", "latency_min_ms")):
        frame[target] = pd.to_numeric(frame[source], errors="coerce") * 1000
    frame["latency_iqr_ms"] = [cost.latency.iqr_ms if cost.latency is not None else None for cost in study.stages]
    verdicts = {built.stage: verdict(built, rebuilt) for built, rebuilt in study.pairs()}
    frame["verdict"] = [verdicts.get(cost.stage) for cost in study.stages]
    rebuilt = {built.stage: swapped for built, swapped in study.pairs()}
    for column, figure in _TO_SWAPPED.items():  # the ratios the intro gives as ranges, on the as-built rows
        frame[column] = [_over(getattr(cost, figure), getattr(rebuilt[cost.stage], figure))
                         if cost.as_built and cost.stage in rebuilt else None for cost in study.stages]
    return frame


def _over(part: float | None, whole: float | None) -> float | None:
    return part / whole if part and whole else None


#: What :func:`verdict` says when neither variant is faster beyond the spread.
WITHIN_SPREAD = "within the spread"
#: Fewest timed passes per variant for a verdict: quartiles of fewer say nothing about the spread.
VERDICT_RUNS = 4


def verdict(built: StageCost, rebuilt: StageCost) -> str | None:
    """Which block kind of a stage is faster, only where the difference exceeds the spread: the faster variant's
    third quartile below the slower one's first (their interquartile ranges apart); :data:`WITHIN_SPREAD` when they
    overlap; None when not timed, or timed fewer than :data:`VERDICT_RUNS` times (no spread to speak of)."""
    first, second = built.latency, rebuilt.latency
    if first is None or second is None or min(first.runs, second.runs) < VERDICT_RUNS:
        return None
    if first.q3_ms < second.q1_ms:
        return f"{built.block} faster"
    if second.q3_ms < first.q1_ms:
        return f"{rebuilt.block} faster"
    return WITHIN_SPREAD


def _fused_comparison(study: FusedStudy, frame: pd.DataFrame) -> list[str]:
    """One sentence per block kind as built: its stages against their rebuild with the other kind, the ranges of
    the ratio columns of ``frame`` (:func:`_fused_frame`)."""
    sentences = []
    for kind in dict.fromkeys(built.block for built, _ in study.pairs()):
        pairs = [(b, s) for b, s in study.pairs() if b.block == kind]
        rows = frame[frame["as_built"] & (frame["block"] == kind)]

        def ratios(column: str, rows: pd.DataFrame = rows) -> list[float]:
            return [float(value) for value in rows[column] if pd.notna(value)]

        text = (f"{kind} stages ({', '.join(str(b.stage) for b, _ in pairs)}) over their {pairs[0][1].block} "
                f"rebuild: MACs {span(ratios('macs_to_swapped_ratio'))}, parameters "
                f"{span(ratios('params_to_swapped_ratio'))}, arithmetic intensity "
                f"{span(ratios('intensity_to_swapped_ratio'))}")
        if study.runs and ratios("latency_to_swapped_ratio"):
            text += f", latency {span(ratios('latency_to_swapped_ratio'))}"
        sentences.append(text)
    return sentences


def fused_section(study: FusedStudy) -> Section:
    """MBConv against Fused-MBConv per stage: params, MACs, activations, arithmetic intensity, CPU latency."""
    frame = _fused_frame(study)
    batch = study.stages[0].batch if study.stages else 1
    intro = (
        "EfficientNetV2 (Tan & Le 2021) replaces the expand 1×1 + depthwise k×k convs of MBConv by one full k×k "
        "conv (Fused-MBConv) in its early stages: more MACs and parameters, but denser arithmetic. Each stage of "
        f"{study.model} at {study.resolution} px, batch {batch}, is measured alone as built and rebuilt with the "
        "other block kind (fused stages as MBConv with SE 0.25, MBConv stages as fused without SE), keeping expand "
        f"ratio, kernel, stride, channels and repeats. As built: {'; '.join(_fused_comparison(study, frame))}."
    )
    machine = study.cpu or study.processor or study.machine
    if study.runs:
        timing = (f"Latency: median of {plural(study.runs, 'timed forward pass', 'timed forward passes')} after "
                  f"{plural(study.warmup, 'warm-up pass', 'warm-up passes')}, float32, eval mode, no grad, each "
                  "stage alone (its first block plus repeats − 1 times its repeated block), the two variants "
                  f"alternating pass by pass; measured on {machine} "
                  f"({study.system or study.machine}), torch {study.torch_version} with {study.threads} threads.")
        timing += (" A verdict names the faster block kind only where the difference exceeds the spread: the "
                   "faster variant's third quartile below the slower one's first; otherwise it says "
                   f"\"{WITHIN_SPREAD}\".")
        if study.runs < STEADY_RUNS:
            timing += (f" {plural(study.runs, 'run')} on a shared machine are noisy; "
                       f"convcost study fused --runs {STEADY_RUNS} gives steadier figures.")
        decided = [(built.stage, verdict(built, rebuilt)) for built, rebuilt in study.pairs()]
        if study.runs >= VERDICT_RUNS:
            intro += " Timed: " + "; ".join(f"stage {stage} {said}" for stage, said in decided) + "."
        else:
            timing += f" No verdict from fewer than {VERDICT_RUNS} passes."
    else:
        timing = "Latency was not measured (0 runs)."
    notes = [timing, "Arithmetic intensity: FLOPs per byte of weights + stage input + stage output, the least "
                     "memory traffic of one pass."]
    title = f"{study.model} at {study.resolution} px: stages as built and with the block kind swapped"
    return Section(
        "Fused-MBConv against MBConv, stage by stage", intro, frame[_FUSED_COLUMNS],
        figures=[ChartJob("fused", fused_chart, (
            frame[["stage", "as_built", "block", "macs", "arithmetic_intensity", "latency_ms"]], title))],
        notes=notes,
        key_columns=("variant", "block", "macs", "latency_ms", "latency_iqr_ms", "verdict", "macs_to_swapped_ratio",
                     "latency_to_swapped_ratio"),
    )


def fused_chart(stages: pd.DataFrame, title: str) -> Figure:
    """Per stage, as built and with the block kind swapped: MACs, arithmetic intensity and latency.

    Args:
        stages: one row per (stage, variant) with ``stage``, ``as_built``, ``block``, ``macs``,
            ``arithmetic_intensity`` and ``latency_ms`` (empty when not timed).
    """
    built, other = stages[stages["as_built"]], stages[~stages["as_built"]]
    labels = [f"{stage} {block}" for stage, block in zip(built["stage"], built["block"], strict=True)]
    panels = [("macs", "conv+linear MACs (count)", "MACs"),
              ("arithmetic_intensity", "FLOPs per byte moved", "Arithmetic intensity"),
              ("latency_ms", "milliseconds (median, CPU)", "Latency")]
    with chart_style():
        figure = new_figure()
        axes_row = figure.subplots(1, len(panels))
        for axes, (key, ylabel, name) in zip(axes_row, panels, strict=True):
            grouped_bars(axes, labels, {"as built": list(built[key].fillna(0)),
                                         "block kind swapped": list(other[key].fillna(0))})
            axes.set_xlabel("stage and its block kind as built")
            axes.tick_params(axis="x", labelrotation=35)
            for label in axes.get_xticklabels():
                label.set_horizontalalignment("right")
            axes.set_ylabel(ylabel)
            axes.set_title(name)
            if key == "macs":
                axis_units(axes, "y", Unit.COUNT, log=False)
        untimed = built["latency_ms"].isna().all()
        if untimed:
            axes_row[-1].set_title("Latency (not timed)")
            axes_row[-1].set_yticks([])
            axes_row[-1].text(0.5, 0.5, "not timed", transform=axes_row[-1].transAxes, ha="center", va="center",
                              color="grey")
        legend_outside(figure)
        figure.suptitle(title)
        set_caption(figure, (
            "Per stage (x, with its block kind as built), as built and with the block kind swapped: conv + linear "
            "MACs (left, count), arithmetic intensity (middle, FLOPs per byte of weights, stage input and output) "
            "and latency (right, ms, median of the timed passes on this machine's CPU"
            + ("; not timed here" if untimed else "") + ")."))
    return figure


# --- the plug-in ------------------------------------------------------------------------------

#: Timed passes per stage in the main report: enough for quartiles, few enough to keep the report fast.
REPORT_RUNS = 7


@dataclass(frozen=True)
class FusedCountJob:
    """The fused study's counts, on ``meta`` tensors (no timing): a shared job."""

    model: str = FUSED_MODEL
    stages: tuple[int, ...] | None = None

    @property
    def isolated(self) -> bool:
        """Counting runs no arithmetic: beside other jobs."""
        return False

    def run(self) -> FusedStudy:
        """:func:`fused_study`, untimed."""
        return fused_study(self.model, runs=0, stages=self.stages)


class Fused(Study[FusedJob, FusedStudy]):
    """MBConv against Fused-MBConv per stage, with measured CPU latency."""

    name = "fused"
    title = "MBConv against Fused-MBConv stage by stage, with CPU latency"
    position = 50
    options = (
        StudyOption(("--runs",), f"timed passes per stage, 0 for none (default: {DEFAULT_RUNS})",
                    "times the fused study's stages", type=non_negative_int, default=DEFAULT_RUNS, metavar="N"),
        StudyOption(("--stages",), "stage indices to include, e.g. 0,1 (default: all)",
                    "chooses the fused study's stages", type=index_list, metavar="LIST"),
    )

    def settings(self, values: Mapping[str, Any]) -> FusedJob:
        """The study of EfficientNetV2-S with the given runs and stages.

        Raises:
            SettingsError: a stage index out of range.
        """
        stages = values.get("stages")
        if stages is not None:
            _, net = staged_network(FUSED_MODEL, None)
            bad = [i for i in stages if not 0 <= i < len(net.spec.stages)]
            if bad:
                raise SettingsError(f"{FUSED_MODEL} has stages 0–{len(net.spec.stages) - 1}; got {bad}")
        runs = values.get("runs")
        return FusedJob(FUSED_MODEL, DEFAULT_RUNS if runs is None else runs, stages=stages)

    def report_settings(self) -> FusedJob:
        """Every stage, :data:`REPORT_RUNS` timed passes."""
        return FusedJob(FUSED_MODEL, REPORT_RUNS)

    def jobs(self, settings: FusedJob) -> list[FusedCountJob | FusedJob]:
        """The counts, a shared job, and when timed the timing, an isolated one."""
        return [FusedCountJob(settings.model, settings.stages), *([settings] if settings.runs else [])]

    def assemble(self, settings: FusedJob, results: Mapping[Any, Any]) -> FusedStudy:
        """The counts, with the timings when there are any."""
        study: FusedStudy = results[FusedCountJob(settings.model, settings.stages)]
        return with_timings(study, results[settings]) if settings.runs else study

    def section(self, result: FusedStudy) -> Section:
        """:func:`fused_section`."""
        return fused_section(result)


register_study(Fused())
