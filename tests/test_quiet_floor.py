"""The machine's quietest probe time (``convcost.analyzer.quiet_floor``) and the refit of a fit made in a slow spell.

Probe times are faked wherever a figure is asserted; no measured time is.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from torch import nn

from convcost.analyzer import latency_model
from convcost.analyzer.kernel_class import KernelClass
from convcost.analyzer.latency_model import LatencyModel, machine_latency_model
from convcost.analyzer.machine_cache import write_entry
from convcost.analyzer.microbench import LayerSample, MicroBenchRun
from convcost.analyzer.profiling import Device, Machine, Roofline, profile
from convcost.analyzer.quiet import QuietGate
from convcost.analyzer.quiet_floor import STALE_SLOWDOWN, _key, is_stale, quietest_probe_ms, record_probe_ms

ROOF = Roofline(100.0, 20.0, "cpu", True, "test")


def model_probed_at(probe_ms: float) -> LatencyModel:
    return LatencyModel(ROOF, 0.002, (), 2, quiet_probe_ms=probe_ms)


def test_the_floor_keeps_the_fastest_probe_per_machine_and_thread_count(tmp_path: Path) -> None:
    floor = tmp_path / "floor.json"
    assert quietest_probe_ms("Some CPU", 2, cache=floor) is None
    assert [record_probe_ms("Some CPU", 2, ms, cache=floor) for ms in (2.0, 3.0, 1.5, 1.75)] == [2.0, 2.0, 1.5, 1.5]
    assert quietest_probe_ms("Some CPU", 2, cache=floor) == 1.5
    assert quietest_probe_ms("Some CPU", 1, cache=floor) is None  # another thread count
    assert quietest_probe_ms("Other CPU", 2, cache=floor) is None
    for bad in (-1.0, 0, "1.5", True, None, [1.5]):  # an entry that is no probe time is none
        write_entry(floor, _key("Some CPU", 2), bad)
        assert quietest_probe_ms("Some CPU", 2, cache=floor) is None
    assert record_probe_ms("Some CPU", 2, 2.5, cache=floor) == 2.5
    for bad_ms in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="a probe time is a positive, finite number of ms"):
            record_probe_ms("Some CPU", 2, bad_ms, cache=floor)


def test_a_fit_is_stale_above_the_slowdown_of_the_floor() -> None:
    assert STALE_SLOWDOWN == 1.3
    assert not is_stale(1.3, 1.0) and is_stale(1.3001, 1.0)
    assert not is_stale(None, 1.0) and not is_stale(5.0, None)


def test_a_stale_fit_is_fitted_again_on_a_quiet_machine_and_kept_on_a_busy_one(tmp_path: Path, caplog) -> None:
    cache, floor = tmp_path / "latency_model.json", tmp_path / "floor.json"
    fits = iter([model_probed_at(2.0), model_probed_at(1.05), model_probed_at(0.9)])
    made: list[LatencyModel] = []

    def fit() -> LatencyModel:
        made.append(next(fits))
        return made[-1]

    def never() -> float:
        raise AssertionError("a fit that is kept without a question needs no probe")

    def load(probe: Callable[[], float] = never, refit_stale: bool = True) -> LatencyModel:
        return machine_latency_model(ROOF, 2, "Some CPU", cache=cache, fit=fit, probe=probe, floor_cache=floor,
                                     refit_stale=refit_stale)

    assert load() == model_probed_at(2.0) and quietest_probe_ms("Some CPU", 2, cache=floor) == 2.0  # recorded
    assert load() == model_probed_at(2.0) and len(made) == 1  # its own probe time: not stale
    record_probe_ms("Some CPU", 2, 1.0, cache=floor)  # a profile met a quieter machine
    assert load(refit_stale=False) == model_probed_at(2.0)  # stale, but not to be fitted again here: no probe
    with caplog.at_level(logging.WARNING, logger="convcost.analyzer.latency_model"):
        assert load(lambda: 1.5) == model_probed_at(2.0) and len(made) == 1  # busy now (1.5 > 1.15): kept
    assert "kept, as the machine is busy now (the probe took 1.500 ms)" in caplog.text and "2.00x" in caplog.text
    assert quietest_probe_ms("Some CPU", 2, cache=floor) == 1.0
    replaced = dataclasses.replace(model_probed_at(1.05), replaced_at_quietest_ms=1.0)
    assert load(lambda: 1.15) == replaced and len(made) == 2  # quiet now: fitted again, and says against what
    assert load() == replaced and len(made) == 2  # cached, and not stale
    record_probe_ms("Some CPU", 2, 0.5, cache=floor)  # quieter still: stale again, and the quietest fell 2x since
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="convcost.analyzer.latency_model"):
        again = load(lambda: 0.55)
    assert again == dataclasses.replace(model_probed_at(0.9), replaced_at_quietest_ms=0.5) and len(made) == 3
    assert "fitted while the probe took 0.900 ms, 1.80x this machine's quietest (0.500 ms)" in caplog.text
    assert load() == again and len(made) == 3  # still stale, but fitted against this quietest: not again, no probe


def test_a_fit_is_read_back_with_what_it_replaced(tmp_path: Path) -> None:
    model = dataclasses.replace(model_probed_at(1.5), replaced_at_quietest_ms=1.0)
    assert LatencyModel.from_dict(model.to_dict()) == model
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="a probe time above 0 ms"):
            LatencyModel.from_dict({**model.to_dict(), "replaced_at_quietest_ms": bad})
    entry = model.to_dict()
    del entry["replaced_at_quietest_ms"]  # a fit cached before the field: a first fit
    assert LatencyModel.from_dict(entry).replaced_at_quietest_ms is None


def test_a_gated_profile_records_its_median_probe_and_an_ungated_one_none(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CONVCOST_CACHE_DIR", str(tmp_path))
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    profile(model, (1, 3, 8, 8), runs=2, warmup=0, min_seconds=0, threads=1)
    processor = Machine.here(Device.CPU, 1).processor
    assert quietest_probe_ms(processor, 1) is None
    probes = itertools.cycle([3.0, 2.0, 4.0])
    monkeypatch.setattr("convcost.analyzer.profiling.Probe", lambda: lambda: next(probes))
    result = profile(model, (1, 3, 8, 8), runs=2, warmup=0, min_seconds=0, threads=1, quiet_gate=QuietGate(1e6))
    assert result.quiet is not None and result.quiet.probe.runs == 2
    assert quietest_probe_ms(processor, 1) == 3.5  # pairs probed (3, 2) and (2, 4): the median of the slower


def test_a_fit_made_here_takes_as_quiet_only_rounds_near_the_machine_s_quietest(tmp_path: Path, monkeypatch) -> None:
    """The micro-benchmarks are told the quietest probe time recorded here, so that a fit made wholly in a slow
    spell times its benchmarks again rather than settle for its own slow rounds."""
    floor = tmp_path / "floor.json"
    told: list[float | None] = []
    samples = tuple(LayerSample(KernelClass.ELEMENTWISE, f"add {n}", 1, 1, 0, 1000 * n, 0.01 * n) for n in (1, 2, 4))

    def run_microbenchmarks(benches: tuple, *, threads: int, quietest_ms: float | None) -> MicroBenchRun:
        told.append(quietest_ms)
        return MicroBenchRun(samples, 1.2)

    monkeypatch.setattr(latency_model, "run_microbenchmarks", run_microbenchmarks)
    monkeypatch.setattr(latency_model, "module_call_ms", lambda: 0.002)
    model = machine_latency_model(ROOF, 2, "Some CPU", cache=tmp_path / "first.json", floor_cache=floor)
    record_probe_ms("Some CPU", 2, 0.8, cache=floor)
    machine_latency_model(ROOF, 2, "Some CPU", cache=tmp_path / "second.json", floor_cache=floor)
    assert told == [None, 0.8]  # none recorded before the first fit
    assert model.quiet_probe_ms == 1.2 and model.fit(KernelClass.ELEMENTWISE).samples == 3
