"""Measured time (``convcost.analyzer.profiling``): structure, units and arithmetic, never a time value."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from convcost.analyzer import analyze
from convcost.analyzer.kernel_class import KernelClass
from convcost.analyzer.profiling import LayerTime, Profile, Spread, profile


def tiny() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))


@pytest.fixture(scope="module")
def measured() -> Profile:
    torch.manual_seed(0)
    return profile(tiny(), (2, 3, 8, 8), runs=5, warmup=1, min_seconds=0)


def test_every_leaf_that_ran_is_timed_over_every_run(measured: Profile) -> None:
    # every module, in the order its first call starts: the root's own time is what runs between its children
    assert [layer.name for layer in measured.layers] == ["", "0", "1", "2", "3", "4"]
    for spread in (measured.latency, measured.hooked, *(layer.latency for layer in measured.layers)):
        assert spread.runs == 5
        assert 0 <= spread.q1_ms <= spread.median_ms <= spread.q3_ms
        assert spread.iqr_ms == spread.q3_ms - spread.q1_ms
    assert measured.warmup == 1 and measured.input_shapes == ((2, 3, 8, 8),) and measured.dtype == "float32"
    assert measured.machine.device == "cpu" and measured.machine.threads >= 1 and measured.machine.torch


def test_counts_and_bytes_beside_the_times(measured: Profile) -> None:
    root, conv, bn, relu, flatten, fc = measured.layers
    analysis = analyze(tiny(), (2, 3, 8, 8))
    assert [layer.macs for layer in measured.layers] == [analysis.layer(name).macs for name in ["", *"01234"]]
    assert [layer.kind for layer in measured.layers] == ["", "standard", "", "", "", "linear"]
    assert [layer.kernel_class.value for layer in measured.layers] == [
        "elementwise", "standard", "normalization", "activation", "elementwise", "linear"]
    assert root.bytes_moved == 0  # Sequential runs no operator of its own
    # the conv reads its input (2·3·8·8) and its weight and bias (108 + 4) and writes 2·4·6·6, in float32
    assert conv.bytes_moved == (384 + 112 + 288) * 4
    assert fc.bytes_moved == (288 + 1_450 + 20) * 4
    for layer in measured.layers:
        seconds = layer.latency.median_ms / 1e3
        assert layer.gflops_per_s == (layer.flops / seconds / 1e9 if seconds else 0.0)
        assert layer.intensity == (layer.flops / layer.bytes_moved if layer.bytes_moved else 0.0)
    assert measured.overhead_ms == measured.hooked.median_ms - measured.latency.median_ms
    assert measured.layer_sum_ms == sum(layer.latency.median_ms for layer in measured.layers)
    kinds = measured.by_kind()
    assert set(kinds) == {"standard", "linear", "other"}
    assert kinds["other"] == pytest.approx(root.latency.median_ms + bn.latency.median_ms + relu.latency.median_ms
                                           + flatten.latency.median_ms)


def test_the_users_model_is_not_run_or_changed() -> None:
    model = tiny()
    model.train()
    before = copy.deepcopy(model.state_dict())
    threads = torch.get_num_threads()
    profile(model, (2, 3, 8, 8), runs=2, warmup=0, threads=1, min_seconds=0)
    assert model.training and torch.get_num_threads() == threads
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())
    assert int(model[1].num_batches_tracked) == 0  # the copy ran, in eval mode
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_a_meta_model_is_materialised_to_run() -> None:
    result = profile(tiny().to("meta"), (1, 3, 8, 8), runs=1, warmup=0, min_seconds=0)
    assert len(result.layers) == 6 and result.latency.runs == 1


def test_runs_go_on_until_the_timed_forwards_take_min_seconds() -> None:
    result = profile(tiny(), (1, 3, 8, 8), runs=1, warmup=0, min_seconds=0.05)
    runs = result.latency.runs
    assert runs > 1 and result.hooked.runs == runs and all(layer.latency.runs == runs for layer in result.layers)


def test_bad_arguments_say_what_is_valid() -> None:
    with pytest.raises(ValueError, match="runs must be at least 1 and warmup at least 0"):
        profile(tiny(), (1, 3, 8, 8), runs=0)
    with pytest.raises(ValueError, match=r"min_seconds must be 0 or more and max_seconds a finite 0 or more; got -1 "
                                         r"and 10\.0"):
        profile(tiny(), (1, 3, 8, 8), min_seconds=-1)
    with pytest.raises(ValueError, match=r"max_seconds a finite 0 or more; got 2\.0 and -1"):
        profile(tiny(), (1, 3, 8, 8), max_seconds=-1)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        profile(tiny(), (1, 3, 8, 8), threads=0)
    with pytest.raises(ValueError, match="device must be one of cpu, cuda; got 'tpu'"):
        profile(tiny(), (1, 3, 8, 8), device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device is available here"):
            profile(tiny(), (1, 3, 8, 8), device="cuda")


def test_spread_quartiles() -> None:
    assert Spread.of([5.0, 1.0, 3.0, 2.0, 4.0]) == Spread(3.0, 2.0, 4.0, 5)
    assert Spread.of([7.0]) == Spread(7.0, 7.0, 7.0, 1)
    with pytest.raises(ValueError, match="at least one run"):
        Spread.of([])


def test_a_layer_measured_at_zero_has_no_rate() -> None:
    still = LayerTime("x", "Identity", "", Spread(0.0, 0.0, 0.0, 1), 0, 0, 0, KernelClass.ELEMENTWISE)
    assert still.gflops_per_s == 0.0 and still.intensity == 0.0


# --- the command ------------------------------------------------------------------------------


def test_profile_command_json(capsys) -> None:
    import json

    from helpers import run_cli

    code, out, err = run_cli(capsys, "profile", "mobilenet_v2_035", "--resolution", "64", "--runs", "2",
                             "--min-time", "0", "--warmup", "0", "--threads", "1", "--format", "json", "--no-roofline")
    assert code == 0, err
    document = json.loads(out)
    assert document["title"] == "Measured time: mobilenet_v2_035" and document["runs"] == 2
    assert document["latency_ms"] > 0 and document["machine"]["threads"] == 1
    assert document["overhead_ms"] == document["hooked_latency_ms"] - document["latency_ms"]
    layers = document["rows"]
    assert layers and all(row["latency_ms"] >= 0 for row in layers)
    assert sum(row["macs"] for row in layers) == analyze(
        __import__("convcost").create_model("mobilenet_v2_035", device="meta"), (1, 3, 64, 64)).totals.macs
    (by_kind,) = document["tables"]
    assert {row["kind"] for row in by_kind["rows"]} == {"standard", "depthwise", "pointwise", "linear", "other"}
    assert sum(row["time_share"] for row in by_kind["rows"]) == pytest.approx(1.0)
    assert "roofline" not in document


def test_profile_command_reads_the_cached_roofline(capsys, tmp_path, monkeypatch) -> None:
    import json

    from helpers import run_cli

    from convcost import analyze, create_model
    from convcost.analyzer.kernel_class import KernelClass
    from convcost.analyzer.latency_model import ClassFit, LatencyModel, cache_key
    from convcost.analyzer.profiling import Device, Machine
    from convcost.analyzer.roofline import METHOD, Roofline

    monkeypatch.setenv("CONVCOST_CACHE_DIR", str(tmp_path))
    key = "|".join([Machine.here(Device.CPU, 1).processor, str(__import__("os").cpu_count() or 1), "1", "cpu",
                    torch.__version__, METHOD])
    (tmp_path / "roofline.json").write_text(json.dumps({key: {
        "peak_gflops": 100.0, "bandwidth_gbs": 10.0, "device": "cpu", "measured": True, "source": "seeded"}}))
    roof = Roofline(100.0, 10.0, "cpu", True, "seeded")
    fits = tuple(ClassFit(kernel, 0.001 * (index + 1), 0.1 * (index + 1), 0.5, 6, 0.0)
                 for index, kernel in enumerate(KernelClass))
    seeded = LatencyModel(roof, 0.002, fits, 1, quiet_probe_ms=1e6)  # a probe always within: every run quiet
    # against the real probes the profiles record, a fit probed at 1e6 ms would be stale and fitted again
    monkeypatch.setattr("convcost.analyzer.latency_model.quietest_probe_ms", lambda *args, **kwargs: None)
    from convcost.analyzer.allocator import keep_freed_memory

    keep_freed_memory()  # as the command does first: a fit's key names the allocator mode it was timed under
    (tmp_path / "latency_model.json").write_text(json.dumps({
        cache_key(roof, 1, Machine.here(Device.CPU, 1).processor): seeded.to_dict()}))
    code, out, err = run_cli(capsys, "profile", "mobilenet_v2_035", "--resolution", "64", "--runs", "1",
                             "--min-time", "0", "--warmup", "0", "--threads", "1", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert (document["roofline"]["peak_gflops"], document["roofline"]["source"]) == (100.0, "seeded")
    expected = seeded.predict(analyze(create_model("mobilenet_v2_035", device="meta"), (1, 3, 64, 64))).predicted_ms
    assert document["predicted_ms"] == pytest.approx(expected, rel=1e-12)  # the seeded fit, never a new one
    assert document["prediction_error"] == pytest.approx(expected / document["latency_ms"] - 1, rel=1e-12)
    assert all(row["bound"] in ("compute", "memory") for row in document["rows"])
    layers = {layer.name: layer for layer in seeded.predict(analyze(create_model("mobilenet_v2_035", device="meta"),
                                                                    (1, 3, 64, 64))).layers}
    for row in document["rows"]:  # each layer's own prediction, and the library its conv runs on (1 thread: native)
        assert row["predicted_ms"] == pytest.approx(layers[row["name"]].predicted_ms, rel=1e-12)
        library = {"pointwise": "native", "standard": "native", "depthwise": "onednn"}.get(row["kind"])
        assert row["library"] == library, row["name"]  # 1x1 on 1 thread: native; grouped: oneDNN; others: none
    assert [table["caption"].split(" (")[0] for table in document["tables"]] == [
        "Time by layer kind against FLOPs", "Roofline estimates on published devices"]
    quiet = document["quiet"]  # the fit's quiet probe time gates the runs
    assert (quiet["reference_probe_ms"], quiet["quiet_runs"], quiet["busy_runs"], quiet["over_quiet_runs"]) == (
        1e6, 1, 0, True)
    code, out, err = run_cli(capsys, "profile", "mobilenet_v2_035", "--resolution", "64", "--runs", "1",
                             "--min-time", "0", "--warmup", "0", "--threads", "1", "--format", "json",
                             "--no-wait-for-quiet", "--max-time", "0")
    assert code == 0, err
    assert "quiet" not in json.loads(out) and json.loads(out)["predicted_ms"] == pytest.approx(expected, rel=1e-12)


def test_profile_command_bad_input(capsys) -> None:
    from helpers import run_cli

    for argv, message in ((["--runs", "0"], "argument --runs"), (["--warmup", "x"], "argument --warmup"),
                          (["--min-time", "-1"], "argument --min-time: '-1' is not a number of seconds"),
                          (["--max-time", "x"], "argument --max-time: 'x' is not a number of seconds"),
                          (["--device", "tpu"], "argument --device")):
        code, out, err = run_cli(capsys, "profile", "mobilenet_v2", *argv)
        assert (code, out) == (2, "") and message in err and "Traceback" not in err
    if not torch.cuda.is_available():
        code, _, err = run_cli(capsys, "profile", "mobilenet_v2", "--device", "cuda")
        assert code == 2 and err.strip() == ("convcost: error: --device cuda: no CUDA device is available here; "
                                             "use --device cpu")


# --- the roofline ------------------------------------------------------------------------------


def test_roofline_bounds_and_efficiency(measured: Profile) -> None:
    from dataclasses import replace

    from convcost.analyzer.roofline import Bound, Roofline

    roof = Roofline(peak_gflops=100.0, bandwidth_gbs=10.0, device="cpu", measured=True, source="test")
    assert roof.ridge == 10.0
    assert roof.bound_ms(10**9, 10**6) == 10.0 and roof.bound(10**9, 10**6) is Bound.COMPUTE  # 10 ms of compute
    assert roof.bound_ms(10**6, 10**9) == 100.0 and roof.bound(10**6, 10**9) is Bound.MEMORY  # 100 ms of traffic
    with pytest.raises(ValueError, match="no roofline"):
        measured.bound(measured.layers[0])
    with_roof = replace(measured, roofline=roof)
    for layer in with_roof.layers:
        bound = with_roof.bound(layer)
        assert bound.bound_ms == roof.bound_ms(layer.flops, layer.bytes_moved)
        assert bound.limit is roof.bound(layer.flops, layer.bytes_moved)
        assert bound.efficiency == (bound.bound_ms / layer.latency.median_ms if layer.latency.median_ms else 0.0)
    assert with_roof.bound_ms() == sum(with_roof.bound(layer).bound_ms for layer in with_roof.layers)


def test_the_machine_roofline_is_measured_once_and_cached(tmp_path) -> None:
    from convcost.analyzer.roofline import Roofline, machine_roofline

    calls: list[str] = []

    def fake(device: str) -> Roofline:
        calls.append(device)
        return Roofline(50.0, 5.0, device, True, "fake")

    path = tmp_path / "cache" / "roofline.json"
    first = machine_roofline("cpu", 2, "Some CPU", cache=path, measure=fake)
    again = machine_roofline("cpu", 2, "Some CPU", cache=path, measure=fake)
    other = machine_roofline("cpu", 1, "Some CPU", cache=path, measure=fake)  # another thread count: measured
    assert first == again == other == Roofline(50.0, 5.0, "cpu", True, "fake") and calls == ["cpu", "cpu"]
    path.write_text("not json")
    assert machine_roofline("cpu", 2, "Some CPU", cache=path, measure=fake).peak_gflops == 50.0  # re-measured


def test_measuring_the_roofline_gives_positive_figures() -> None:
    from convcost.analyzer.roofline import measure_roofline

    roof = measure_roofline("cpu", matrix=64, channels=8, copy_elements=4096, repeats=1, min_seconds=0)
    assert roof.measured and roof.peak_gflops > 0 and roof.bandwidth_gbs > 0 and "measured" in roof.source


def test_a_roofline_kernel_runs_for_its_minimum_time() -> None:
    """A peak is the fastest of runs spread over at least ``min_seconds``, not of a few back-to-back calls that one
    burst of other work could slow together."""
    from convcost.analyzer.roofline import _fastest

    calls: list[int] = []
    _fastest(lambda: calls.append(1), "cpu", repeats=2, min_seconds=0)
    assert len(calls) == 1 + 2  # a warm-up and the repeats
    calls.clear()
    _fastest(lambda: calls.append(1), "cpu", repeats=2, min_seconds=0.02)
    assert len(calls) > 3  # a call that does nothing is far shorter than 20 ms


def test_published_devices_are_estimates_with_a_source(measured: Profile) -> None:
    from dataclasses import replace

    from convcost.analyzer.roofline import PUBLISHED_DEVICES, Roofline
    from convcost.reports.profile_section import profile_section

    assert {device.name for device in PUBLISHED_DEVICES} >= {
        "NVIDIA V100 SXM2", "NVIDIA A100 SXM 40GB", "NVIDIA H100 SXM", "NVIDIA T4", "Raspberry Pi 4 (4x Cortex-A72)"}
    assert all(not device.roofline.measured and "datasheet" in device.source for device in PUBLISHED_DEVICES)
    section = profile_section(replace(measured, roofline=Roofline(100.0, 10.0, "cpu", True, "test")))
    assert section.values["roofline"]["peak_gflops"] == 100.0
    assert {"bound", "bound_ms", "efficiency"} <= set(section.frame.columns)
    estimates = section.tables[1].frame
    assert list(estimates["device"]) == [device.name for device in PUBLISHED_DEVICES]
    assert "estimates from published peaks, not measurements" in section.tables[1].caption


def test_own_times_add_up_to_the_whole_forward() -> None:
    from convcost.analyzer.profiling import _Clock, _own_times

    # root [0, 10] calls a [1, 4] (which calls a.x [2, 3]) and b [5, 9]; a is called again [9.5, 9.75]
    marks = [(True, "", 0.0), (True, "a", 1.0), (True, "a.x", 2.0), (False, "a.x", 3.0), (False, "a", 4.0),
             (True, "b", 5.0), (False, "b", 9.0), (True, "a", 9.5), (False, "a", 9.75), (False, "", 10.0)]
    own = _own_times(marks, _Clock())
    assert own == {"": 2_750.0, "a": 2_250.0, "a.x": 1_000.0, "b": 4_000.0}  # milliseconds of second marks
    assert list(own) == ["", "a", "a.x", "b"] and sum(own.values()) == 10_000.0
    # a hook pair costs each call 250 ms of its caller's interval here: taken out of the callers, never below 0
    corrected = _own_times(marks, _Clock(), hook_ms=250.0)
    assert corrected == {"": 2_750.0 - 3 * 250.0, "a": 2_250.0 - 250.0, "a.x": 1_000.0, "b": 4_000.0}
    assert _own_times(marks, _Clock(), hook_ms=5_000.0)[""] == 0.0


def test_the_hook_cost_is_measured_per_call() -> None:
    from convcost.analyzer.profiling import hook_cost_ms

    cost = hook_cost_ms(modules=8, runs=3)
    assert isinstance(cost, float) and cost >= 0.0


def test_compare_latency_adds_measured_columns_and_runs_needs_latency(capsys) -> None:
    import csv
    import io
    import json

    from helpers import run_cli

    code, out, err = run_cli(capsys, "compare", "mobilenet_v2_035", "senet18", "--latency", "--runs", "1",
                             "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["model"] for row in rows] == ["mobilenet_v2_035", "senet18"]
    assert all(float(row["latency_ms"]) > 0 and float(row["latency_iqr_ms"]) >= 0 and float(row["predicted_ms"]) > 0
               for row in rows)
    code, out, _ = run_cli(capsys, "compare", "mobilenet_v2_035", "--latency", "--runs", "1", "--format", "json")
    (model,) = json.loads(out)["models"]
    assert model["latency_ms"] > 0 and model["macs"] == 59_285_808
    code, out, _ = run_cli(capsys, "compare", "mobilenet_v2_035", "--format", "csv")
    assert code == 0 and "latency_ms" not in out.splitlines()[0]  # not measured, not shown
    code, _, err = run_cli(capsys, "compare", "mobilenet_v2_035", "--runs", "3")
    assert code == 2 and err.strip().endswith("--runs counts the timed forwards of --latency; add --latency to "
                                              "measure latency")
