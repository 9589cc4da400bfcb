"""Study ``fused``: EfficientNetV2-S stages as Fused-MBConv and as MBConv."""

from __future__ import annotations

import platform
import statistics
from dataclasses import replace
from functools import cache

import pytest
import torch
from helpers import figure_of
from torch import nn

from convcost.architectures import EFFICIENTNET_V2_SPECS, BlockStage
from convcost.studies.common import analyze_model
from convcost.studies.fused import (
    SWAP,
    Fused,
    FusedCountJob,
    FusedJob,
    FusedStudy,
    fused_section,
    fused_study,
    measure_latency,
    swapped,
)


@cache
def study() -> FusedStudy:
    return fused_study("efficientnet_v2_s", runs=0)


def bn(channels: int) -> int:
    return 2 * channels  # weight and bias


def test_stage_inputs_at_384() -> None:
    built = [cost for cost in study().stages if cost.as_built]
    # stem /2 → 192; strides 1, 2, 2, 2, 1, 2 before stages 1–5
    assert [cost.input_size for cost in built] == [(192, 192), (192, 192), (96, 96), (48, 48), (24, 24), (24, 24)]
    assert [cost.block for cost in built] == ["fused", "fused", "fused", "mbconv", "mbconv", "mbconv"]


def test_stage_0_both_ways_by_hand() -> None:
    fused, mbconv = study().pairs()[0]
    # Fused-MBConv, expand 1: one 3×3 conv 24 → 24 + BN, two blocks at 192×192
    assert fused.params == 2 * (24 * 24 * 9 + bn(24)) == 10_464
    assert fused.macs == 2 * 24 * 24 * 9 * 192 * 192 == 382_205_952
    # MBConv, expand 1, SE 0.25: depthwise 24·9 + BN, SE 24 → 6 → 24 with biases, project 24·24 + BN
    block = 24 * 9 + bn(24) + (24 * 6 + 6) + (6 * 24 + 24) + 24 * 24 + bn(24)
    assert mbconv.params == 2 * block == 2_412
    assert mbconv.macs == 2 * ((24 * 9 + 24 * 24) * 192 * 192 + 2 * 24 * 6) == 58_393_152
    assert (mbconv.block, mbconv.se_ratio, mbconv.as_built) == ("mbconv", 0.25, False)


def test_stage_1_fused_by_hand() -> None:
    fused, _ = study().pairs()[1]
    # block 0: 3×3 24 → 96 stride 2 to 96×96, 1×1 96 → 48; blocks 1–3: 3×3 48 → 192, 1×1 192 → 48
    first = (24 * 96 * 9 + bn(96) + 96 * 48 + bn(48), (24 * 96 * 9 + 96 * 48) * 96 * 96)
    rest = (48 * 192 * 9 + bn(192) + 192 * 48 + bn(48), (48 * 192 * 9 + 192 * 48) * 96 * 96)
    assert fused.params == first[0] + 3 * rest[0] == 303_552
    assert fused.macs == first[1] + 3 * rest[1] == 2_781_609_984


def test_as_built_stages_match_the_whole_network() -> None:
    network = analyze_model("efficientnet_v2_s")
    for fused, _ in study().pairs():
        name = f"stages.{fused.stage}"
        assert (fused.params, fused.macs, fused.flops) == (
            network.total(name, "params"), network.total(name, "macs"), network.total(name, "flops"))


def test_bytes_moved_and_intensity() -> None:
    fused, _ = study().pairs()[0]
    image = 24 * 192 * 192 * 4  # float32 input, and the output has the same shape
    assert (fused.input_bytes, fused.output_bytes) == (image, image) == (3_538_944, 3_538_944)
    # BN buffers: running mean and var per channel plus one counter, two BNs
    assert fused.weight_bytes == (10_464 + 2 * (2 * 24 + 1)) * 4 == 42_248
    assert fused.bytes_moved == 42_248 + 2 * 3_538_944
    assert fused.arithmetic_intensity == fused.flops / fused.bytes_moved
    assert fused.layerwise_bytes == 42_248 + 3_538_944 + 2 * fused.activation_bytes
    assert fused.latency_s is None and fused.flops_per_second is None


def test_swaps_keep_se_as_efficientnet_v2_uses_it() -> None:
    used = {stage.block: stage.se_ratio for stage in EFFICIENTNET_V2_SPECS["efficientnet_v2_s"].stages}
    assert used == {"fused": 0.0, "mbconv": 0.25}
    assert {kind: SWAP[target][1] for target, (kind, _) in SWAP.items()} == used
    for stage in EFFICIENTNET_V2_SPECS["efficientnet_v2_s"].stages:
        other = swapped(stage)
        assert other.se_ratio == used[other.block] and other.block != stage.block
        assert (other.expand_ratio, other.kernel, other.stride, other.repeats) == (
            stage.expand_ratio, stage.kernel, stage.stride, stage.repeats)
    with pytest.raises(ValueError, match="swapped"):
        swapped(BlockStage("ir", 6, 3, 1, 16, 16, 1))


def test_fused_trades_macs_for_fewer_memory_passes() -> None:
    for built, other in study().pairs():
        fused, mbconv = (built, other) if built.block == "fused" else (other, built)
        assert fused.macs > mbconv.macs
        assert fused.layerwise_intensity > mbconv.layerwise_intensity


def test_latency_is_the_median_of_the_requested_runs() -> None:
    result = fused_study("efficientnet_v2_s", runs=3, warmup=1, stages=[0])
    assert (result.runs, result.warmup, len(result.stages)) == (3, 1, 2)
    assert result.threads == torch.get_num_threads() >= 1
    assert (result.machine, result.processor) == (platform.machine(), platform.processor())
    for cost in result.stages:
        assert len(cost.latency_runs) == 3
        assert all(seconds > 0 for seconds in cost.latency_runs)
        assert cost.latency_s == statistics.median(cost.latency_runs)
        assert cost.latency_min_s == min(cost.latency_runs)
        assert cost.flops_per_second is not None and cost.flops_per_second > 0
    frame = result.to_dataframe()
    assert {"latency_s", "arithmetic_intensity", "bytes_moved", "flops_per_second"} <= set(frame.columns)


def test_the_study_is_a_shared_counting_job_and_an_isolated_timing_job() -> None:
    settings = FusedJob("efficientnet_v2_s", runs=2, warmup=0, stages=(0, 3))
    counting, timing = Fused().jobs(settings)
    assert counting == FusedCountJob("efficientnet_v2_s", (0, 3)) and not counting.isolated
    assert timing == settings and timing.isolated
    assert Fused().jobs(replace(settings, runs=0)) == [counting]  # untimed: counting alone
    timings = timing.run()
    assert (timings.runs, timings.warmup, timings.threads) == (2, 0, torch.get_num_threads())
    assert [(t.stage, t.as_built, len(t.latency_runs)) for t in timings.timings] == [
        (0, True, 2), (0, False, 2), (3, True, 2), (3, False, 2)]
    result = Fused().assemble(settings, {counting: counting.run(), timing: timings})
    assert result.runs == 2 and [cost.stage for cost in result.stages] == [0, 0, 3, 3]
    assert [cost.latency_runs for cost in result.stages] == [t.latency_runs for t in timings.timings]
    assert [replace(cost, latency_runs=()) for cost in result.stages] == list(counting.run().stages)  # counts kept


def test_measure_latency_alternates_cases_and_restores_modes() -> None:
    order: list[str] = []
    first, second = nn.Linear(4, 4).train(), nn.Linear(4, 4).eval()
    first.register_forward_hook(lambda *_: order.append("first"))
    second.register_forward_hook(lambda *_: order.append("second"))
    times = measure_latency([(first, torch.randn(2, 4)), (second, torch.randn(2, 4))], runs=2, warmup=1)
    assert [len(t) for t in times] == [2, 2]
    assert order == ["first", "second"] * 3  # one warm-up round, two timed rounds, in alternation
    assert first.training and not second.training
    with pytest.raises(ValueError, match="runs"):
        measure_latency([(first, torch.randn(2, 4))], runs=0)


def test_bad_stage_and_model() -> None:
    with pytest.raises(ValueError, match="stages 0–5"):
        fused_study("efficientnet_v2_s", runs=0, stages=[6])
    with pytest.raises(ValueError, match="stage table"):
        fused_study("resnet50", runs=0)


# --- the report section -----------------------------------------------------------------


def timed(study: FusedStudy, seconds: dict[bool, float]) -> FusedStudy:
    """``study`` as if timed: three runs per variant, as built ``seconds[True]``, swapped ``seconds[False]``."""
    stages = tuple(replace(cost, latency_runs=(seconds[cost.as_built],) * 3) for cost in study.stages)
    return replace(study, stages=stages, runs=3, warmup=1, threads=2)


def test_fused_section_untimed_and_timed(study_of) -> None:
    untimed = fused_section(study_of("fused"))
    assert "Latency was not measured (0 runs)." in untimed.notes
    assert "latency" not in untimed.intro
    assert len(untimed.frame) == 12 and untimed.frame["latency_ms"].isna().all()
    assert list(untimed.frame["variant"][:2]) == ["as built", "swapped"]
    assert list(untimed.frame["input_size"][:3]) == ["192x192", "192x192", "192x192"]
    assert "fused stages (0, 1, 2) over their mbconv rebuild: MACs 3.76–6.55×" in untimed.intro
    assert figure_of(untimed).axes[2].get_title() == "Latency (not timed)"

    section = fused_section(timed(study_of("fused"), {True: 0.010, False: 0.020}))
    assert "latency 0.500×" in section.intro
    assert list(section.frame["latency_ms"][:2]) == [10.0, 20.0]
    note = section.notes[0]
    assert note.startswith("Latency: median of 3 timed forward passes after 1 warm-up pass, float32")
    assert "with 2 threads" in note and "convcost study fused --runs 20" in note
    latency_axes = figure_of(section).axes[2]
    assert [bar.get_height() for bar in latency_axes.patches] == [10.0] * 6 + [20.0] * 6


def test_a_verdict_names_the_faster_kind_only_beyond_the_spread(study_of) -> None:
    from convcost.studies.fused import WITHIN_SPREAD, verdict

    study = study_of("fused")
    built, rebuilt = study.pairs()[0]  # a fused stage and its MBConv rebuild
    assert verdict(built, rebuilt) is None  # not timed
    apart = (replace(built, latency_runs=(0.010, 0.011, 0.012, 0.013)),
             replace(rebuilt, latency_runs=(0.020, 0.021, 0.022, 0.023)))
    assert verdict(*apart) == "fused faster" and verdict(apart[1], apart[0]) == "fused faster"
    overlapping = (replace(built, latency_runs=(0.010, 0.015, 0.020, 0.025)),
                   replace(rebuilt, latency_runs=(0.012, 0.016, 0.030, 0.031)))
    assert verdict(*overlapping) == WITHIN_SPREAD  # medians differ, quartiles overlap
    assert apart[0].latency is not None and apart[0].latency.iqr_ms == pytest.approx(1.5)
    three = (replace(built, latency_runs=(0.010,) * 3), replace(rebuilt, latency_runs=(0.020,) * 3))
    assert verdict(*three) is None  # three passes have no spread to speak of
    few = fused_section(timed(study, {True: 0.010, False: 0.020}))
    assert few.frame["verdict"].isna().all() and "No verdict from fewer than 4 passes." in few.notes[0]
    stages = tuple(replace(cost, latency_runs=(0.010 if cost.as_built else 0.020,) * 4) for cost in study.stages)
    section = fused_section(replace(study, stages=stages, runs=4, warmup=1, threads=2))
    assert list(section.frame["verdict"][:2]) == ["fused faster", "fused faster"]  # both rows of stage 0
    assert "stage 0 fused faster" in section.intro and "exceeds the spread" in section.notes[0]


def test_the_report_times_efficientnet_v2_s_alone() -> None:
    from convcost.studies import get_study

    study = get_study("fused")
    assert [job for job in study.jobs(study.report_settings()) if job.isolated] == [
        FusedJob("efficientnet_v2_s", runs=7)]
