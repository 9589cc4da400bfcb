"""Measured time (``convcost.analyzer.profiling``): structure, units and arithmetic, never a time value."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from convcost.analyzer import analyze
from convcost.analyzer.profiling import LayerTime, Profile, Spread, profile


def tiny() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))


@pytest.fixture(scope="module")
def measured() -> Profile:
    torch.manual_seed(0)
    return profile(tiny(), (2, 3, 8, 8), runs=5, warmup=1)


def test_every_leaf_that_ran_is_timed_over_every_run(measured: Profile) -> None:
    assert [layer.name for layer in measured.layers] == ["0", "1", "2", "3", "4"]
    for spread in (measured.latency, measured.hooked, *(layer.latency for layer in measured.layers)):
        assert spread.runs == 5
        assert 0 <= spread.q1_ms <= spread.median_ms <= spread.q3_ms
        assert spread.iqr_ms == spread.q3_ms - spread.q1_ms
    assert measured.warmup == 1 and measured.input_shapes == ((2, 3, 8, 8),) and measured.dtype == "float32"
    assert measured.machine.device == "cpu" and measured.machine.threads >= 1 and measured.machine.torch


def test_counts_and_bytes_beside_the_times(measured: Profile) -> None:
    conv, bn, relu, flatten, fc = measured.layers
    analysis = analyze(tiny(), (2, 3, 8, 8))
    assert [layer.macs for layer in measured.layers] == [analysis.layer(name).macs for name in "01234"]
    assert [layer.kind for layer in measured.layers] == ["standard", "", "", "", "linear"]
    # the conv reads its input (2·3·8·8) and its weight and bias (108 + 4) and writes 2·4·6·6, in float32
    assert conv.bytes_moved == (384 + 112 + 288) * 4
    assert fc.bytes_moved == (288 + 1_450 + 20) * 4
    for layer in measured.layers:
        seconds = layer.latency.median_ms / 1e3
        assert layer.gflops_per_s == (layer.flops / seconds / 1e9 if seconds else 0.0)
        assert layer.intensity == layer.flops / layer.bytes_moved
    assert measured.overhead_ms == measured.hooked.median_ms - measured.latency.median_ms
    assert measured.layer_sum_ms == sum(layer.latency.median_ms for layer in measured.layers)
    kinds = measured.by_kind()
    assert set(kinds) == {"standard", "linear", "other"}
    assert kinds["other"] == bn.latency.median_ms + relu.latency.median_ms + flatten.latency.median_ms


def test_the_users_model_is_not_run_or_changed() -> None:
    model = tiny()
    model.train()
    before = copy.deepcopy(model.state_dict())
    threads = torch.get_num_threads()
    profile(model, (2, 3, 8, 8), runs=2, warmup=0, threads=1)
    assert model.training and torch.get_num_threads() == threads
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())
    assert int(model[1].num_batches_tracked) == 0  # the copy ran, in eval mode
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_a_meta_model_is_materialised_to_run() -> None:
    result = profile(tiny().to("meta"), (1, 3, 8, 8), runs=1, warmup=0)
    assert len(result.layers) == 5 and result.latency.runs == 1


def test_bad_arguments_say_what_is_valid() -> None:
    with pytest.raises(ValueError, match="runs must be at least 1 and warmup at least 0"):
        profile(tiny(), (1, 3, 8, 8), runs=0)
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
    still = LayerTime("x", "Identity", "", Spread(0.0, 0.0, 0.0, 1), 0, 0, 0)
    assert still.gflops_per_s == 0.0 and still.intensity == 0.0


# --- the command ------------------------------------------------------------------------------


def test_profile_command_json(capsys) -> None:
    import json

    from helpers import run_cli

    code, out, err = run_cli(capsys, "profile", "mobilenet_v2_035", "--resolution", "64", "--runs", "2",
                             "--warmup", "0", "--threads", "1", "--format", "json")
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


def test_profile_command_bad_input(capsys) -> None:
    from helpers import run_cli

    for argv, message in ((["--runs", "0"], "argument --runs"), (["--warmup", "x"], "argument --warmup"),
                          (["--device", "tpu"], "argument --device")):
        code, out, err = run_cli(capsys, "profile", "mobilenet_v2", *argv)
        assert (code, out) == (2, "") and message in err and "Traceback" not in err
    if not torch.cuda.is_available():
        code, _, err = run_cli(capsys, "profile", "mobilenet_v2", "--device", "cuda")
        assert code == 2 and err.strip() == ("convcost: error: --device cuda: no CUDA device is available here; "
                                             "use --device cpu")
