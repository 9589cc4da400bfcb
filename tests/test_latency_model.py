"""The latency model: kernel classes, the fit's arithmetic, predictions as sums, the cache, the micro-benchmarks.

No measured time is asserted: fits are checked on synthetic samples made from known figures, and
the micro-benchmarks only for their structure.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from convcost import analyze, create_model
from convcost.analyzer import microbench
from convcost.analyzer.conv_library import ConvLibrary, conv_library
from convcost.analyzer.formulas.ops import OpKey
from convcost.analyzer.kernel_class import _FAMILY, MEMORY_BOUND_CLASSES, KernelClass, layer_class
from convcost.analyzer.latency_model import (
    MIN_LIBRARY_SAMPLES,
    ClassFit,
    LatencyModel,
    fit_latency_model,
    machine_latency_model,
)
from convcost.analyzer.microbench import CHANNEL_MULTIPLE, LayerSample, microbenchmarks, run_microbenchmarks
from convcost.analyzer.real_run import intra_op_threads
from convcost.analyzer.roofline import Roofline
from convcost.analyzer.traffic import bytes_moved

NOT_CONVS = {KernelClass.LINEAR, KernelClass.POOLING, *MEMORY_BOUND_CLASSES}
ROOF = Roofline(100.0, 20.0, "cpu", True, "test")  # 100 GFLOP/s, 20 GB/s
CALL_MS = 0.002


def synthetic(kernel: KernelClass, op_ms: float, compute_eff: float, memory_eff: float | None,
              library: ConvLibrary | None = None, repeat: int = 1) -> list[LayerSample]:
    """Samples whose times follow the model exactly (``repeat`` times 6 of them)."""
    samples = []
    for index, (flops, nbytes) in enumerate([(10**6, 10**5), (10**8, 10**6), (3 * 10**9, 4 * 10**7),
                                             (5 * 10**7, 3 * 10**7), (10**4, 10**4), (7 * 10**8, 10**5)] * repeat):
        ms = (CALL_MS + op_ms + flops / (ROOF.peak_gflops * compute_eff) / 1e6
              + (nbytes / (ROOF.bandwidth_gbs * memory_eff) / 1e6 if memory_eff else 0.0))
        samples.append(LayerSample(kernel, f"s{index}", 1, 1, flops, nbytes, ms, library))
    return samples


def test_the_fit_takes_each_error_relative_to_the_measured_time() -> None:
    """Two layers of nothing but a fixed cost, measured at 1 and 2 ms: the least squares of errors relative to the
    measured times puts it at (1/1 + 1/2) / (1/1 + 1/4) = 1.2 ms (relative to the prediction it would be 1.5)."""
    samples = [LayerSample(KernelClass.ELEMENTWISE, f"s{ms}", 1, 0, 0, 0, ms) for ms in (1.0, 2.0)]
    fit = fit_latency_model(samples, ROOF, CALL_MS, threads=1).fit(KernelClass.ELEMENTWISE)
    assert fit.op_ms == pytest.approx(1.2, rel=1e-12)
    assert (fit.compute_efficiency, fit.memory_efficiency) == (None, None)
    assert fit.median_error == pytest.approx(0.3, rel=1e-12)  # errors 0.2 and 0.4


def test_the_fit_recovers_the_figures_the_times_were_made_from() -> None:
    samples = synthetic(KernelClass.DEPTHWISE, 0.004, 0.05, 0.4) + synthetic(KernelClass.ELEMENTWISE, 0.001, 0.5, 0.7)
    model = fit_latency_model(samples, ROOF, CALL_MS, threads=2)
    depthwise = model.fit(KernelClass.DEPTHWISE)
    assert depthwise.op_ms == pytest.approx(0.004, rel=1e-6)
    assert depthwise.compute_efficiency == pytest.approx(0.05, rel=1e-6)
    assert depthwise.memory_efficiency == pytest.approx(0.4, rel=1e-6)
    assert depthwise.samples == 6 and depthwise.median_error == pytest.approx(0, abs=1e-9)
    assert model.fit(KernelClass.ELEMENTWISE).memory_efficiency == pytest.approx(0.7, rel=1e-6)


def test_a_term_the_times_do_not_have_is_dropped_not_fitted_negative() -> None:
    samples = synthetic(KernelClass.ELEMENTWISE, 0.001, 0.2, None)
    fit = fit_latency_model(samples, ROOF, CALL_MS, threads=1).fit(KernelClass.ELEMENTWISE)
    assert fit.memory_efficiency is None
    assert fit.compute_efficiency == pytest.approx(0.2, rel=1e-6)


def test_a_class_with_no_benchmark_falls_back_on_elementwise_and_elementwise_is_required() -> None:
    model = fit_latency_model(synthetic(KernelClass.ELEMENTWISE, 0.001, 0.5, 0.7), ROOF, CALL_MS, threads=1)
    assert model.fit(KernelClass.GROUPED) is model.fit(KernelClass.ELEMENTWISE)
    with pytest.raises(ValueError, match="elementwise micro-benchmarks"):
        fit_latency_model(synthetic(KernelClass.LINEAR, 0.001, 0.5, 0.7), ROOF, CALL_MS, threads=1)


def test_a_conv_class_is_fitted_per_kernel_library_too_where_it_has_enough_benchmarks() -> None:
    onednn = synthetic(KernelClass.POINTWISE, 0.07, 0.9, 0.3, ConvLibrary.ONEDNN, repeat=2)
    native = synthetic(KernelClass.POINTWISE, 0.02, 0.6, 0.3, ConvLibrary.NATIVE, repeat=2)
    few = synthetic(KernelClass.DEPTHWISE, 0.05, 0.2, 0.2, ConvLibrary.NATIVE)[:MIN_LIBRARY_SAMPLES - 1]
    elementwise = synthetic(KernelClass.ELEMENTWISE, 0.001, 0.5, 0.7)
    model = fit_latency_model(onednn + native + few + synthetic(KernelClass.DEPTHWISE, 0.05, 0.2, 0.2,
                                                                ConvLibrary.ONEDNN, repeat=2) + elementwise,
                              ROOF, CALL_MS, threads=2)
    assert model.fit(KernelClass.POINTWISE, ConvLibrary.ONEDNN).op_ms == pytest.approx(0.07, rel=1e-6)
    assert model.fit(KernelClass.POINTWISE, ConvLibrary.NATIVE).compute_efficiency == pytest.approx(0.6, rel=1e-6)
    whole = model.fit(KernelClass.POINTWISE)
    assert whole.library is None and whole.samples == 24 and whole.median_error > 0  # two libraries, one line
    assert model.fit(KernelClass.POINTWISE, ConvLibrary.OTHER) is whole  # a library with no fit of its own
    assert model.fit(KernelClass.DEPTHWISE, ConvLibrary.NATIVE) is model.fit(KernelClass.DEPTHWISE)  # too few
    assert model.fit(KernelClass.DEPTHWISE, ConvLibrary.ONEDNN).samples == 12
    assert model.samples == len(onednn + native + few + elementwise) + 12  # each benchmark once
    assert model.fit(KernelClass.ELEMENTWISE, ConvLibrary.ONEDNN) is model.fit(KernelClass.ELEMENTWISE)


def test_a_convolution_s_library_is_torch_s_pick_for_its_shape_and_threads() -> None:
    def library(module: nn.Module, shape: tuple[int, ...], threads: int) -> ConvLibrary | None:
        with intra_op_threads(threads):
            return conv_library(analyze(module, shape).layers[0])

    # torch sends a 1x1 conv to oneDNN with more than one thread and more than 20,480 input elements
    assert library(nn.Conv2d(144, 24, 1), (1, 144, 14, 14), 2) is ConvLibrary.ONEDNN
    assert library(nn.Conv2d(24, 144, 1), (1, 24, 14, 14), 2) is ConvLibrary.NATIVE
    assert library(nn.Conv2d(144, 24, 1), (1, 144, 14, 14), 1) is ConvLibrary.NATIVE
    assert library(nn.Conv2d(32, 32, 3, groups=32), (1, 32, 56, 56), 2) is ConvLibrary.ONEDNN
    assert library(nn.ConvTranspose2d(16, 8, 2, stride=2), (1, 16, 28, 28), 2) is ConvLibrary.NATIVE
    assert library(nn.ConvTranspose2d(64, 32, 2, stride=2), (1, 64, 28, 28), 2) is ConvLibrary.ONEDNN  # unnamed
    for padded in (nn.Conv2d(64, 32, 3, padding=24, dilation=24), nn.Conv2d(64, 32, 3, padding="same", dilation=18),
                   nn.Conv2d(64, 32, 3, padding="valid")):  # an atrous conv's kernel spans more than its map unpadded
        assert library(padded, (1, 64, 28, 28), 2) is ConvLibrary.ONEDNN
    assert library(nn.Linear(8, 4), (1, 8), 2) is None and library(nn.ReLU(), (1, 8), 2) is None


def fitted() -> LatencyModel:
    fits = tuple(ClassFit(kernel, 0.001 * (index + 1), 0.1 * (index + 1), 0.5, 6, 0.0)
                 for index, kernel in enumerate(KernelClass))
    return LatencyModel(ROOF, CALL_MS, (*fits, ClassFit(KernelClass.POINTWISE, 0.05, 0.9, 0.5, 8, 0.0,
                                                        ConvLibrary.ONEDNN)), 2, quiet_probe_ms=1.25)


def test_the_fit_keeps_the_quiet_probe_time_as_the_gate_profiles_use() -> None:
    model = fitted()
    assert model.quiet_gate is not None and model.quiet_gate.reference_ms == 1.25
    assert LatencyModel.from_dict(json.loads(json.dumps(model.to_dict()))) == model
    assert LatencyModel(ROOF, CALL_MS, model.classes, 2).quiet_gate is None  # no probe kept: no gate
    for bad in (0.0, -1.0):  # a cached entry of this shape is fitted again (the cache catches the ValueError)
        with pytest.raises(ValueError, match=f"a probe time above 0 ms, not {bad}"):
            LatencyModel.from_dict({**model.to_dict(), "quiet_probe_ms": bad})
    assert fit_latency_model(synthetic(KernelClass.ELEMENTWISE, 0.001, 0.5, 0.7), ROOF, CALL_MS, 1,
                             quiet_probe_ms=0.5).quiet_probe_ms == 0.5


def test_a_prediction_is_its_modules_added_each_by_the_formula() -> None:
    model = fitted()
    analysis = analyze(create_model("mobilenet_v2", device="meta"), (1, 3, 224, 224))
    prediction = model.predict(analysis)
    records = {record.name: record for record in analysis.layers}
    assert len(prediction.layers) == len(analysis.layers)
    for layer in prediction.layers:
        record = records[layer.name]
        fit = model.fit(layer.kernel_class, layer.library)
        ops = sum(op.calls for op in record.ops.values())
        moved = bytes_moved(record, 4)
        expected = (record.calls * CALL_MS + ops * fit.op_ms + record.flops / (100e9 * fit.compute_efficiency) * 1e3
                    + moved / (20e9 * 0.5) * 1e3)
        assert layer.predicted_ms == pytest.approx(expected, rel=1e-9)
        assert layer.bound_ms == pytest.approx(ROOF.bound_ms(record.flops, moved), rel=1e-12)
        assert layer.predicted_ms >= layer.bound_ms  # no efficiency above 1 here: never faster than the roofline
    assert prediction.predicted_ms == pytest.approx(sum(prediction.by_class().values()), rel=1e-12)
    classes = {layer.name: layer.kernel_class for layer in prediction.layers}
    assert classes["stages.0.0.depthwise.conv"] == KernelClass.DEPTHWISE
    assert classes["stages.0.0.project.conv"] == KernelClass.POINTWISE
    assert classes["stem.conv"] == KernelClass.STANDARD
    assert classes["fc"] == KernelClass.LINEAR
    assert classes["stem.bn"] == KernelClass.NORMALIZATION
    assert classes["stem.act"] == KernelClass.ACTIVATION
    assert classes["stages.1.1"] == KernelClass.ELEMENTWISE  # the block's own residual add
    libraries = {layer.name: layer.library for layer in prediction.layers}
    assert libraries["fc"] is libraries["stem.bn"] is None
    assert set(libraries.values()) == {None, ConvLibrary.ONEDNN, ConvLibrary.NATIVE}  # its 1x1 convs go to both
    # on 2 threads a 1x1 conv with more than 20,480 input elements goes to oneDNN, predicted by that library's fit
    assert (libraries["stages.0.0.project.conv"], libraries["stages.5.1.expand.conv"]) == (ConvLibrary.ONEDNN,
                                                                                        ConvLibrary.NATIVE)
    assert model.fit(KernelClass.POINTWISE, ConvLibrary.ONEDNN).library is ConvLibrary.ONEDNN


def test_kernel_classes_come_from_hyper_parameters_and_operators() -> None:
    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(nn.init.zeros_(nn.Linear(8, 8).weight))

        def forward(self, x):
            return x @ self.weight

    class GatedSum(nn.Module):  # a sigmoid, but most of its FLOPs in the multiply and the add
        def forward(self, x):
            return x * torch.sigmoid(x) + x

    class AddThenReLU(nn.Module):  # as many FLOPs and calls in the add as in the ReLU: the activation first
        def forward(self, x):
            return torch.relu(x + x)

    class ReLUThenAdd(nn.Module):  # the same, the other way round: the order the operators run in does not matter
        def forward(self, x):
            return torch.relu(x) + x

    cases = [(nn.Conv2d(8, 8, 3, groups=4), (1, 8, 9, 9), KernelClass.GROUPED),
             (nn.ConvTranspose2d(8, 4, 2), (1, 8, 9, 9), KernelClass.STANDARD),
             (Functional(), (1, 8), KernelClass.LINEAR), (nn.Hardswish(), (1, 8), KernelClass.ACTIVATION),
             (nn.GELU(), (1, 8), KernelClass.ACTIVATION), (GatedSum(), (1, 8, 3, 3), KernelClass.ELEMENTWISE),
             (AddThenReLU(), (1, 8, 3, 3), KernelClass.ACTIVATION),
             (ReLUThenAdd(), (1, 8, 3, 3), KernelClass.ACTIVATION),
             (nn.LayerNorm(9), (1, 8, 9, 9), KernelClass.NORMALIZATION),
             (nn.GroupNorm(2, 8), (1, 8, 9, 9), KernelClass.NORMALIZATION),
             (nn.MaxPool2d(3, 2, 1), (1, 8, 9, 9), KernelClass.POOLING),
             (nn.AvgPool2d(2), (1, 8, 8, 8), KernelClass.POOLING),
             (nn.AdaptiveAvgPool2d(1), (1, 8, 9, 9), KernelClass.REDUCTION),  # a global mean is no window
             (nn.Softmax(1), (1, 8), KernelClass.REDUCTION),
             (nn.Identity(), (1, 8), KernelClass.ELEMENTWISE)]  # no operator at all
    for module, shape, expected in cases:
        root = analyze(module, shape).layers[0]
        assert layer_class(root) == expected, type(module).__name__


def test_the_fit_is_cached_per_machine_and_read_back_whole(tmp_path) -> None:
    path = tmp_path / "latency_model.json"
    calls = []

    def fake() -> LatencyModel:
        calls.append(1)
        return fitted()

    load = functools.partial(machine_latency_model, floor_cache=tmp_path / "floor.json")

    first = load(ROOF, 2, "Some CPU", cache=path, fit=fake)
    again = load(ROOF, 2, "Some CPU", cache=path, fit=fake)
    load(ROOF, 1, "Some CPU", cache=path, fit=fake)  # another thread count: fitted again
    assert len(calls) == 2 and again == first == fitted()
    assert len(json.loads(path.read_text())) == 2
    path.write_text("{not json")
    assert load(ROOF, 2, "Some CPU", cache=path, fit=fake) == first and len(calls) == 3


def test_the_micro_benchmarks_are_fixed_cover_every_class_and_time_real_layers() -> None:
    benches = microbenchmarks()
    assert [b.label for b in benches] == [b.label for b in microbenchmarks()]
    assert {b.kernel_class for b in benches} == set(KernelClass)
    picked = [next(b for b in benches if b.kernel_class is kernel) for kernel in KernelClass]
    for bench, sample in zip(picked, run_microbenchmarks(tuple(picked), runs=1, warmup=0, extra_rounds=0).samples,
                             strict=True):
        analysis = analyze(bench.build(), bench.inputs)
        root = analysis.layers[0]
        calls = 2 if bench.label.startswith(("add ", "scale ")) else 1  # the block, and the child holding its branch
        assert sum(layer.calls for layer in analysis.layers) == calls
        assert (sample.kernel_class, sample.flops, sample.calls) == (bench.kernel_class, root.flops, calls)
        assert sample.bytes_moved == bytes_moved(root, 4) and sample.ops >= 1
        assert sample.library == conv_library(root)  # the library a prediction would take for the same layer
        assert (sample.library is None) == (bench.kernel_class in NOT_CONVS)
        assert sample.measured_ms > 0
        assert layer_class(root) == bench.kernel_class  # each benchmark is of the class it stands for


def test_every_micro_benchmark_is_of_its_class_with_channels_as_networks_round_them() -> None:
    for bench in microbenchmarks():
        module = bench.build()
        assert layer_class(analyze(module, bench.inputs).layers[0]) == bench.kernel_class, bench.label
        if isinstance(module, nn.Conv2d) and module.in_channels > 3 and bench.inputs[0][-1] > 1:  # not a stem or SE
            assert module.in_channels % CHANNEL_MULTIPLE == module.out_channels % CHANNEL_MULTIPLE == 0, bench.label


def fake_chains(monkeypatch: pytest.MonkeyPatch, rounds_of: dict[type, list[tuple[float, float]]]) -> None:
    """Time each chain from ``rounds_of``: a benchmark's module type → its rounds' (ms, probe ms), in turn. A chain's
    probe before its passes is 1.0 ms and the one after is the slowest of its benchmarks' probes."""
    after = [1.0]

    def time_chain(calls: list[functools.partial], runs: int, warmup: int,
                   producers: list[functools.partial]) -> list[float]:
        measured = []
        for call, produce in zip(calls, producers, strict=True):
            assert produce.func.__self__ is call.args[0]  # each call's first input written just before it
            ms, probe_ms = rounds_of[type(call.func)].pop(0)
            after[0] = max(after[0], probe_ms)
            measured.append(ms)
        return measured

    def probe() -> float:
        value, after[0] = after[0], 1.0
        return value

    monkeypatch.setattr(microbench, "_time_chain", time_chain)
    monkeypatch.setattr(microbench, "Probe", lambda: probe)


def first_of(*kinds: KernelClass) -> tuple[microbench.MicroBench, ...]:
    benches = microbenchmarks()
    return tuple(next(b for b in benches if b.kernel_class is kind) for kind in kinds)


def test_a_benchmark_takes_the_fastest_of_its_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A burst of other work that slows all rounds of a benchmark but one does not move its time."""
    add, linear = picked = first_of(KernelClass.ELEMENTWISE, KernelClass.LINEAR)
    rounds_of = {type(add.build()): [(1.0, 1.4), (40.0, 1.0), (3.0, 1.0)],  # one chain: round probes 1.4, 1.6, 1
                 type(linear.build()): [(12.0, 1.0), (11.0, 1.6), (13.0, 1.0)]}
    fake_chains(monkeypatch, rounds_of)
    run = run_microbenchmarks(picked, rounds=3)
    first, second = run.samples
    assert (first.measured_ms, second.measured_ms) == (1.0, 11.0)
    # the machine its times met: the median probe of the rounds kept (1.4 and 1.6), not of every round (1.0)
    assert run.quiet_probe_ms == pytest.approx(1.5)
    assert all(not left for left in rounds_of.values())  # three rounds of one chain, every round quiet: no more


def test_a_benchmark_that_met_no_quiet_round_is_timed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe ran slow in every round of the second benchmark: its chain alone is timed again, until a round
    is quiet or the extra rounds run out."""
    picked = first_of(KernelClass.ELEMENTWISE, KernelClass.LINEAR, KernelClass.POOLING)
    add, linear, pool = (type(bench.build()) for bench in picked)
    slow = 2 * microbench.QUIET_SLOWDOWN  # probe ms, against quiet rounds' 1.0
    rounds_of = {add: [(2.0, 1.0)] * 2, pool: [(3.0, 1.0)] * 2,  # two rounds over the set, then the linear alone:
                 linear: [(5.0, slow), (5.0, slow), (4.0, slow), (6.0, 1.0), (1.0, 1.0)]}  # slow, then quiet
    fake_chains(monkeypatch, rounds_of)
    run = run_microbenchmarks(picked, rounds=2, extra_rounds=4, chain_length=1)
    first, second, third = run.samples
    assert (first.measured_ms, second.measured_ms, third.measured_ms) == (2.0, 4.0, 3.0)
    assert rounds_of == {add: [], pool: [], linear: [(1.0, 1.0)]}  # its quiet round settled it: one left unused
    rounds_of.update({add: [(2.0, 1.0)] * 2, pool: [(3.0, 1.0)] * 2, linear: [(5.0, slow)] * 2 + [(4.0, slow)] * 2})
    assert run_microbenchmarks(picked, rounds=2, extra_rounds=2, chain_length=1).samples[1].measured_ms == 4.0
    assert not rounds_of[linear]  # capped at two more
    (partner,) = set(next(chain for chain in microbench._chains(picked, 2) if 1 in chain)) - {1}
    (alone,) = {0, 2} - {partner}
    kinds = (add, linear, pool)
    rounds_of.update({kinds[partner]: [(7.0, 1.0)] * 3, kinds[alone]: [(8.0, 1.0)] * 2,
                      linear: [(5.0, slow)] * 2 + [(9.0, 1.0)]})
    run = run_microbenchmarks(picked, rounds=2, extra_rounds=4, chain_length=2)
    assert [sample.measured_ms for sample in run.samples][1] == 5.0
    assert not any(rounds_of.values())  # the linear's chain timed again, its partner with it; the other chain not
    for bad in ({"rounds": 0}, {"chain_length": 0}, {"runs": 0}, {"warmup": -1}):
        with pytest.raises(ValueError, match="rounds, chain_length and runs must be at least 1 and warmup at least 0"):
            run_microbenchmarks(picked, **bad)
    with pytest.raises(ValueError, match="no micro-benchmark to run"):
        run_microbenchmarks(())


def test_chains_hold_every_benchmark_once_neighbours_of_one_scale() -> None:
    benches = microbenchmarks()
    chains = microbench._chains(benches, 16)
    assert sorted(index for chain in chains for index in chain) == list(range(len(benches)))
    assert all(1 <= len(chain) <= 16 for chain in chains) and len(chains) == -(-len(benches) // 16)
    sizes = [math.prod(benches[index].inputs[0]) for chain in chains for index in chain]
    assert sizes == sorted(sizes) and chains == microbench._chains(benches, 16)
    assert any(len({benches[index].kernel_class for index in chain}) > 2 for chain in chains)


def test_a_quiet_round_is_one_whose_probe_is_within_the_slowdown_of_the_fits_lower_quartile() -> None:
    def timings(*probes_per_bench: tuple[float, ...]) -> list[list[microbench._Timing]]:
        return [[microbench._Timing(1.0, probe) for probe in probes] for probes in probes_per_bench]

    quiet = microbench.QUIET_SLOWDOWN
    # the lower quartile of 1, 1, 2, 2, 2 is 1: the three at 2 are unsettled (by the median, none would be)
    assert microbench._unsettled(timings((1.0,), (1.0,), (2.0,), (2.0,), (2.0,))) == [2, 3, 4]
    assert microbench._unsettled(timings((1.0,), (1.0,), (quiet,), (quiet * 1.01,), (1.0,))) == [3]  # at most 1.15x
    assert microbench._unsettled(timings((1.0, 1.0), (3.0, 1.0), (3.0, 3.0), (1.0, 1.0))) == [2]  # one quiet round
    assert microbench._unsettled([]) == microbench._unsettled([[]]) == []
    # a fit made wholly in a slow spell: quiet against its own quartile, not against the machine's quietest
    slow = timings((2.0,), (2.0, 2.1), (2.1,))
    assert microbench._unsettled(slow) == [] and microbench._unsettled(slow, quietest_ms=1.5) == [0, 1, 2]
    assert microbench._unsettled(slow, quietest_ms=1.8) == [2]  # 2.0 is within 1.15x of 1.8, 2.1 is not
    assert microbench._unsettled(timings((1.0,), (1.1,)), quietest_ms=3.0) == []  # the fit's own quartile is lower


def test_a_chain_runs_its_calls_in_turn_and_times_each(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    calls: list[str] = []

    def advance(name: str, seconds: float) -> Callable[[], None]:
        def run() -> None:
            calls.append(name)
            clock[0] += seconds
        return run

    monkeypatch.setattr(microbench, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    medians = microbench._time_chain([advance("a", 0.005), advance("b", 0.002)], runs=3, warmup=1)
    assert calls == ["a", "b"] * 4
    assert medians == [pytest.approx(5.0), pytest.approx(2.0)]
    calls.clear()
    medians = microbench._time_chain([advance("a", 0.005), advance("b", 0.002)], runs=3, warmup=1,
                                     producers=[advance("make a's input", 0.1), advance("make b's input", 0.1)])
    assert calls == ["make a's input", "a", "make b's input", "b"] * 4
    assert medians == [pytest.approx(5.0), pytest.approx(2.0)]  # the producers run untimed


def test_a_benchmark_s_first_input_is_written_just_before_its_call_and_keeps_its_values() -> None:
    """In a network a layer's input was just written by the layer before it; a benchmark's is written in place
    (times 1.0, so its values stay) before each call."""
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    (bench,) = first_of(KernelClass.NORMALIZATION)

    def time_chain(calls: list[functools.partial], runs: int, warmup: int,
                   producers: list[functools.partial]) -> list[float]:
        (call,), (produce,) = calls, producers
        before = call.args[0].clone()
        produce()
        seen.append((before, call.args[0]))
        return [1.0]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(microbench, "_time_chain", time_chain)
        run_microbenchmarks((bench,), rounds=1, extra_rounds=0)
    ((before, after),) = seen
    assert torch.equal(before, after)


def test_every_operator_key_is_placed_on_purpose() -> None:
    """A new operator key joins a family, or is named here as elementwise or as a kernel classed apart."""
    apart = {OpKey.CONV, OpKey.LINEAR, OpKey.POOL}
    elementwise = {OpKey.ADD, OpKey.MUL, OpKey.DIV, OpKey.ELEMENTWISE, OpKey.DROPOUT, OpKey.COMPARE}
    assert set(_FAMILY) | apart | elementwise == set(OpKey)
    assert not set(_FAMILY) & (apart | elementwise) and set(_FAMILY.values()) == MEMORY_BOUND_CLASSES - {
        KernelClass.ELEMENTWISE}


def test_a_prediction_is_for_the_dtype_the_model_was_fitted_in() -> None:
    analysis = analyze(create_model("mobilenet_v2_035", device="meta"), (1, 3, 64, 64), dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="fitted in float32; cannot predict a bfloat16 network"):
        fitted().predict(analysis)


def test_residual_adds_and_scales_are_timed_as_their_containers_own_operators() -> None:
    benches = [b for b in microbenchmarks() if b.label.startswith(("add ", "scale "))]
    assert benches
    for bench in benches[:2]:
        root = analyze(bench.build(), bench.inputs).layers[0]
        assert not root.is_leaf and sum(op.calls for op in root.ops.values()) == 1  # one operator, the container's
        assert bytes_moved(root, 4) == 2 * root.output_bytes  # the rule a network's block is counted by


class _DataDependent(nn.Module):
    """A forward whose output shape depends on values (as a detector's box selection), and an operator with no
    formula."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return torch.cumsum(y[y > 0], 0)


def test_a_prediction_says_when_the_network_is_outside_the_fit() -> None:
    inside = fitted().predict(analyze(create_model("mobilenet_v2_035", device="meta"), (1, 3, 64, 64)))
    assert inside.caveats == ()
    outside = fitted().predict(analyze(_DataDependent(), (1, 3, 8, 8)))
    assert len(outside.caveats) == 2
    assert outside.caveats[0].startswith("the forward is data-dependent (it could only run on real tensors)")
    assert outside.caveats[1] == ("1 calls of operators with no formula (aten::cumsum) have no FLOPs or bytes to "
                                  "predict from")
