"""Waiting for a quiet machine (``convcost.analyzer.quiet``): the probe, the gate, and which runs a profile keeps.

Probes and clocks are faked where a figure is asserted; no measured time is.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math

import pytest
import torch
from torch import nn

from convcost.analyzer import profiling
from convcost.analyzer.latency_model import LatencyModel, quiet_gate
from convcost.analyzer.profiling import QuietRuns, Roofline, Spread, profile
from convcost.analyzer.quiet import MIN_QUIET_RUNS, PROBE_REPEATS, QUIET_SLOWDOWN, Probe, QuietGate, quiet_quantile
from convcost.reports.profile_section import profile_section


def tiny() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))


def test_the_gate_admits_a_probe_up_to_the_slowdown_of_its_reference() -> None:
    gate = QuietGate(2.0)
    assert gate.limit_ms == 2.0 * QUIET_SLOWDOWN == 2.3
    assert gate.admits(2.3) and gate.admits(0.1) and not gate.admits(2.3001)
    assert QuietGate(2.0, slowdown=1.0).limit_ms == 2.0
    for reference, slowdown in ((0.0, 1.15), (-1.0, 1.15), (math.nan, 1.15), (1.0, 0.9)):
        with pytest.raises(ValueError, match="a quiet gate needs a reference above 0 ms and a slowdown of 1 or more"):
            QuietGate(reference, slowdown)


def test_the_quiet_probe_time_is_the_lower_quartile() -> None:
    assert quiet_quantile([5.0, 1.0, 2.0, 4.0, 3.0]) == 2.0
    assert quiet_quantile([7.0]) == 7.0
    with pytest.raises(ValueError, match="needs at least one probe"):
        quiet_quantile([])


def test_the_probe_clears_the_caches_then_times_the_block_and_takes_the_median() -> None:
    clock = [0.0]
    durations = iter([9.0, 0.003, 0.001, 0.002])  # seconds: the untimed run, then the timed ones
    runs: list[float] = []

    def block() -> None:
        seconds = next(durations)
        runs.append(seconds)
        clock[0] += seconds

    probe = Probe(block, clock=lambda: clock[0])
    assert probe() == pytest.approx(2.0)  # the median of 3, 1 and 2 ms; the 9 s untimed run is not in it
    assert len(runs) == 1 + PROBE_REPEATS == 4
    with pytest.raises(ValueError, match="at least once; got repeats=0"):
        Probe(block, repeats=0)
    state = torch.get_rng_state()
    with torch.no_grad():
        assert Probe()() > 0  # the real block runs, built with its own seed
    assert torch.equal(torch.get_rng_state(), state)


def test_a_profile_keeps_the_runs_whose_probe_met_a_quiet_machine() -> None:
    """Probes of 1, 1, 5, 1, 1, 5, 1, 1 ms against a gate of 1 ms, one before each pair and one after each: a pair
    is quiet when the probes on both sides of it are; the timing goes on until three pairs were, and the figures
    are over those three."""
    model = tiny().eval()
    args = (torch.rand(1, 3, 8, 8),)
    probes = iter([1.0, 1.0, 5.0, 1.0, 1.0, 5.0, 1.0, 1.0, 9.0])
    gate = QuietGate(1.0)
    with torch.no_grad():
        runs = profiling._timed_runs(model, args, profiling._Plan(3, gate=gate), profiling._Clock(),
                                     probe=lambda: next(probes))
    assert runs.probes == [1.0, 5.0, 5.0, 1.0, 5.0, 5.0, 1.0]  # the slower probe around each pair
    assert len(runs.free) == len(runs.hooked) == len(runs.layers) == 7 and next(probes) == 9.0
    kept, quiet = profiling._kept_runs(runs, 3, gate)
    assert kept == [0, 3, 6]
    assert quiet == QuietRuns(1.0, QUIET_SLOWDOWN, Spread.of(runs.probes), 3, 4, True) and quiet.tally == "3/7"


def test_a_profile_stops_waiting_after_max_seconds_and_then_says_the_machine_was_busy() -> None:
    model = tiny().eval()
    args = (torch.rand(1, 3, 8, 8),)
    seconds = itertools.count(0.0, 1.0)  # a fake clock: one second per reading
    gate = QuietGate(1.0)
    with torch.no_grad():
        runs = profiling._timed_runs(model, args, profiling._Plan(2, max_seconds=4.5, gate=gate), profiling._Clock(),
                                     probe=lambda: 3.0, now=lambda: next(seconds))
    assert len(runs.free) == 4  # each check reads 1 s more: pairs after the checks at 1-4 s; at 5 s, past 4.5
    kept, quiet = profiling._kept_runs(runs, 2, gate)
    assert kept == [0, 1, 2, 3] and quiet is not None
    assert (quiet.quiet_runs, quiet.busy_runs, quiet.over_quiet_runs, quiet.tally) == (0, 4, False, "0/4*")
    with torch.no_grad():  # the runs asked for are timed even when max_seconds has already passed
        runs = profiling._timed_runs(model, args, profiling._Plan(3, max_seconds=0.0, gate=gate), profiling._Clock(),
                                     probe=lambda: 3.0)
    assert len(runs.free) == 3


def test_the_figures_are_over_the_quiet_runs_when_there_are_enough() -> None:
    def kept(probes: list[float], asked: int) -> tuple[list[int], bool]:
        runs = profiling._Runs([1.0] * len(probes), [1.0] * len(probes), [{}] * len(probes), probes)
        indices, quiet = profiling._kept_runs(runs, asked, QuietGate(1.0))
        assert quiet is not None
        return indices, quiet.over_quiet_runs

    slow = 2.0
    assert MIN_QUIET_RUNS == 3
    assert kept([1.0, slow, 1.0, slow, 1.0] + [slow] * 5, 10) == ([0, 2, 4], True)  # three of ten asked: enough
    assert kept([1.0, slow, 1.0] + [slow] * 7, 10) == (list(range(10)), False)  # two: every run
    assert kept([slow, 1.0], 1) == ([1], True)  # one asked and one quiet
    runs = profiling._Runs([1.0], [1.0], [{}], [])
    assert profiling._kept_runs(runs, 1, None) == ([0], None)  # no gate: every run, nothing said


def test_profile_with_a_gate_reports_its_runs_and_leaves_the_model_alone() -> None:
    model = tiny()
    before = copy.deepcopy(model.state_dict())
    always = profile(model, (1, 3, 8, 8), runs=3, warmup=0, min_seconds=0, quiet_gate=QuietGate(1e6))
    assert always.quiet is not None and always.quiet.reference_ms == 1e6
    assert (always.quiet.quiet_runs, always.quiet.busy_runs, always.quiet.over_quiet_runs) == (3, 0, True)
    assert always.latency.runs == always.hooked.runs == always.quiet.probe.runs == 3
    never = profile(model, (1, 3, 8, 8), runs=2, warmup=0, min_seconds=0, quiet_gate=QuietGate(1e-9), max_seconds=0)
    assert never.quiet is not None and (never.quiet.quiet_runs, never.quiet.busy_runs) == (0, 2)
    assert not never.quiet.over_quiet_runs and never.latency.runs == 2  # every run, and it says so
    assert (always.quiet_tally, never.quiet_tally) == ("3/3", "0/2*")
    ungated = profile(model, (1, 3, 8, 8), runs=1, warmup=0, min_seconds=0)
    assert ungated.quiet is None and ungated.quiet_tally == "all"
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())
    longer = profile(model, (1, 3, 8, 8), runs=1, warmup=0, min_seconds=0.05, quiet_gate=QuietGate(1e6))
    assert longer.quiet is not None and longer.latency.runs == longer.quiet.quiet_runs > 1  # min_seconds still holds


def test_a_latency_model_gives_the_gate_of_its_quiet_probe_time() -> None:
    roof = Roofline(100.0, 10.0, "cpu", True, "a test")
    fitted = LatencyModel(roof, 0.001, (), 1, quiet_probe_ms=2.0)
    assert quiet_gate(fitted) == QuietGate(2.0) and quiet_gate(fitted).limit_ms == pytest.approx(2.3)
    assert quiet_gate(dataclasses.replace(fitted, quiet_probe_ms=None)) is None and quiet_gate(None) is None


def test_a_gate_needs_a_probe_and_a_finite_wait() -> None:
    with pytest.raises(ValueError, match="a quiet gate needs a probe"):
        profiling._timed_runs(tiny(), (torch.rand(1, 3, 8, 8),), profiling._Plan(1, gate=QuietGate(1.0)),
                              profiling._Clock())
    with pytest.raises(ValueError, match=r"max_seconds a finite 0 or more; got 2\.0 and inf"):
        profile(tiny(), (1, 3, 8, 8), max_seconds=math.inf, quiet_gate=QuietGate(1.0))


def test_the_section_says_what_the_gate_kept() -> None:
    model = tiny()
    kept = profile_section(profile(model, (1, 3, 8, 8), runs=3, warmup=0, min_seconds=0, quiet_gate=QuietGate(1e6)))
    quiet = kept.values["quiet"]
    assert quiet["median_probe_ms"] > 0
    assert {**quiet, "median_probe_ms": 0} == {"reference_probe_ms": 1e6, "limit_probe_ms": 1e6 * QUIET_SLOWDOWN,
                                               "median_probe_ms": 0, "quiet_runs": 3, "busy_runs": 0,
                                               "over_quiet_runs": True}
    assert "3 of 3 runs met a quiet machine" in kept.intro
    assert "the figures are over those, none set aside" in kept.intro
    busy = profile_section(profile(model, (1, 3, 8, 8), runs=2, warmup=0, min_seconds=0, quiet_gate=QuietGate(1e-9),
                                   max_seconds=0))
    assert "0 of 2 runs met a quiet machine" in busy.intro and "the machine was busy" in busy.intro
    assert "quiet" not in profile_section(profile(model, (1, 3, 8, 8), runs=1, warmup=0, min_seconds=0)).values
