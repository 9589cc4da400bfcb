"""A profile (measured time beside the counts) as a report section: one row per leaf module, time by layer kind,
and the whole model's latency, spread, measuring overhead and machine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from convcost.analyzer.time_records import PUBLISHED_DEVICES, Bound

from .columns import LATENCY_SUMMARY_COLUMNS, Column
from .sections import Section, Table

if TYPE_CHECKING:
    from convcost.analyzer.time_records import LatencyPrediction, MeasuredTime, Profile, QuietRuns

__all__ = ["measured_summary", "profile_section"]


def _quiet_sentence(quiet: QuietRuns) -> str:
    """What the quiet gate kept: how many runs met a quiet machine, and what the figures are over."""
    runs = quiet.quiet_runs + quiet.busy_runs
    met = (f"A probe of the machine ran before each run and after the last: {quiet.quiet_runs} of {runs} runs met a "
           f"quiet machine (probe within {quiet.limit_ms:.2f} ms, {quiet.limit_ms / quiet.reference_ms:.2f}x its quiet "
           f"{quiet.reference_ms:.2f} ms; median probe around a run {quiet.probe.median_ms:.2f} ms)")
    if quiet.over_quiet_runs:
        aside = f"the {quiet.busy_runs} slowed by other work set aside" if quiet.busy_runs else "none set aside"
        return f"{met}; the figures are over those, {aside}."
    return f"{met}; too few to go by, so the figures are over every run and slowed by other work: the machine was busy."


def measured_summary(times: Sequence[MeasuredTime]) -> pd.DataFrame:
    """Per model, what a summary table adds when its models were profiled: the measured latency (median), its
    interquartile range and the latency model's prediction (empty when not predicted), in milliseconds."""
    return pd.DataFrame([{
        Column.MODEL.key: time.model, Column.LATENCY.key: time.profile.latency.median_ms,
        Column.LATENCY_IQR.key: time.profile.latency.iqr_ms,
        Column.PREDICTED_LATENCY.key: time.prediction.predicted_ms if time.prediction is not None else None,
    } for time in times], columns=[column.key for column in (Column.MODEL, *LATENCY_SUMMARY_COLUMNS)])


def profile_section(result: Profile, prediction: LatencyPrediction | None = None) -> Section:
    """The section of ``result``; its JSON carries ``latency_ms`` (the hook-free median) at the top level and
    ``latency_ms`` on every layer row; with the latency model's ``prediction`` of the same forward,
    ``predicted_ms`` and ``prediction_error`` too, and on every layer row its ``predicted_ms`` and the kernel
    ``library`` a convolution runs on (``onednn``, ``native`` or ``other``; None for other layers)."""
    rows = [{
        "name": layer.name, "type": layer.type, "kind": layer.kind, "latency_ms": layer.latency.median_ms,
        "latency_iqr_ms": layer.latency.iqr_ms, "macs": layer.macs, "flops": layer.flops,
        "bytes_moved": layer.bytes_moved, "gflops_per_s": layer.gflops_per_s, "flops_per_byte": layer.intensity,
    } for layer in result.layers]
    columns = ["name", "type", "kind", "latency_ms", "latency_iqr_ms", "macs", "flops", "bytes_moved",
               "gflops_per_s", "flops_per_byte"]
    roof = result.roofline
    limits: list[Bound] = []
    if roof is not None:
        for row, layer in zip(rows, result.layers, strict=True):
            bound = result.bound(layer)
            limits.append(bound.limit)
            row.update(bound=bound.limit.value, bound_ms=bound.bound_ms, efficiency=bound.efficiency)
        columns += ["bound", "bound_ms", "efficiency"]
    if prediction is not None:
        predicted = {layer.name: layer for layer in prediction.layers}
        for row in rows:
            found = predicted.get(str(row["name"]))
            row.update(predicted_ms=found.predicted_ms if found else None,
                       library=found.library.value if found and found.library else None)
        columns += ["predicted_ms", "library"]
    frame = pd.DataFrame(rows, columns=columns)
    total_flops = sum(layer.flops for layer in result.layers)
    kinds = result.by_kind()
    by_kind = pd.DataFrame([{
        "kind": kind, "latency_ms": ms, "time_share": ms / result.layer_sum_ms if result.layer_sum_ms else 0.0,
        "flops_share": sum(layer.flops for layer in result.layers if (layer.kind or "other") == kind) / total_flops
        if total_flops else 0.0,
    } for kind, ms in sorted(kinds.items(), key=lambda item: -item[1])])
    machine = result.machine
    latency = result.latency
    shapes = ", ".join("x".join(map(str, shape)) for shape in result.input_shapes)
    intro = (
        f"{result.model} on {shapes} ({result.dtype}), {machine.device} ({machine.processor}, {machine.cores} "
        f"cores, {machine.threads} threads, torch {machine.torch}): the whole forward takes {latency.median_ms:.2f} "
        f"ms (median of {latency.runs} runs after {result.warmup} warm-up; interquartile range "
        f"{latency.iqr_ms:.2f} ms), measured with no hook. Timing every leaf module adds "
        f"{result.overhead_ms:.2f} ms (the forward under the hooks: {result.hooked.median_ms:.2f} ms; a hook pair "
        f"costs a call {result.hook_ms * 1e3:.1f} µs, taken out of its caller's own time); the modules' own "
        f"medians add up to {result.layer_sum_ms:.2f} ms. Times are measurements on this machine; the counts "
        "beside them are exact."
    )
    values: dict[str, Any] = {
        "model": result.model, "latency_ms": latency.median_ms, "latency_iqr_ms": latency.iqr_ms,
        "runs": latency.runs, "warmup": result.warmup, "hooked_latency_ms": result.hooked.median_ms,
        "overhead_ms": result.overhead_ms, "layer_sum_ms": result.layer_sum_ms, "hook_ms": result.hook_ms,
        "machine": {"processor": machine.processor, "cores": machine.cores, "threads": machine.threads,
                    "device": machine.device.value, "torch": machine.torch},
    }
    quiet = result.quiet
    if quiet is not None:
        values["quiet"] = {"reference_probe_ms": quiet.reference_ms, "limit_probe_ms": quiet.limit_ms,
                           "median_probe_ms": quiet.probe.median_ms, "quiet_runs": quiet.quiet_runs,
                           "busy_runs": quiet.busy_runs, "over_quiet_runs": quiet.over_quiet_runs}
        intro += " " + _quiet_sentence(quiet)
    tables = [Table("Time by layer kind against FLOPs", by_kind)]
    if prediction is not None and latency.median_ms > 0:
        error = prediction.predicted_ms / latency.median_ms - 1
        values.update(predicted_ms=prediction.predicted_ms, prediction_error=error)
        intro += (f" From its counts alone, with no run, this machine's latency model predicts "
                  f"{prediction.predicted_ms:.2f} ms ({error:+.1%} against the measurement).")
        if prediction.caveats:
            values["prediction_caveats"] = list(prediction.caveats)
            intro += " The network is outside the latency model's range, so this is an extrapolation: " + "; ".join(
                prediction.caveats) + "."
    if roof is not None:
        values["roofline"] = {"peak_gflops": roof.peak_gflops, "bandwidth_gbs": roof.bandwidth_gbs,
                              "measured": roof.measured, "source": roof.source, "bound_ms": result.bound_ms()}
        compute = limits.count(Bound.COMPUTE)
        intro += (f" This machine's roofline: {roof.peak_gflops:.1f} GFLOP/s peak and {roof.bandwidth_gbs:.1f} GB/s "
                  f"({roof.source}); under it the layers need at least {result.bound_ms():.2f} ms, {compute} of "
                  f"{len(rows)} of them compute-bound.")
        estimates = pd.DataFrame([{
            "device": device.name, "peak_gflops": device.peak_gflops, "bandwidth_gbs": device.bandwidth_gbs,
            "estimated_bound_ms": result.bound_ms(device.roofline), "source": device.source,
        } for device in PUBLISHED_DEVICES])
        tables.append(Table("Roofline estimates on published devices (estimates from published peaks, not "
                            "measurements)", estimates))
    return Section(f"Measured time: {result.model}", intro, frame,
                   tables=tables,
                   notes=["latency_ms: median milliseconds per forward over the runs; latency_iqr_ms: their "
                          "interquartile range; bytes_moved: inputs, own parameters and buffers, and outputs; "
                          "gflops_per_s: FLOPs over the median time; flops_per_byte: arithmetic intensity"],
                   values=values)
