"""Study ``swish``: bytes saved for backward by Swish, MemoryEfficientSwish and nn.SiLU."""

from __future__ import annotations

from functools import cache

import pytest
from helpers import figure_of

from convcost.studies.common import analyze_model
from convcost.studies.swish import SwishStudy, SwishVariant, recommend, swish_from_analyses, swish_section, swish_study

BATCH = 32
# EfficientNet-B0 stage table: (expand, stride, out channels, repeats).
B0 = [(1, 1, 16, 1), (6, 2, 24, 2), (6, 2, 40, 2), (6, 2, 80, 3), (6, 1, 112, 3), (6, 2, 192, 4), (6, 1, 320, 1)]


def activation_elements_per_image() -> int:
    """Elements out of every Swish in B0 at 224: stem, expand, depthwise, SE squeeze and head."""
    total = 32 * 112 * 112  # stem
    c_in, side = 32, 112
    for expand, stride, out, repeats in B0:
        for i in range(repeats):
            hidden = c_in * expand
            side_out = side // (stride if i == 0 else 1)
            if expand != 1:
                total += hidden * side * side  # expand conv's activation, before the stride
            total += hidden * side_out * side_out + c_in // 4  # depthwise activation, SE squeeze activation
            c_in, side = out, side_out
    return total + 1280 * 7 * 7  # head


@cache
def study() -> SwishStudy:
    return swish_study("efficientnet_b0", batch=BATCH)


def test_activation_elements_by_hand() -> None:
    assert activation_elements_per_image() == 6_157_916


def test_training_bytes_per_variant() -> None:
    result = study()
    assert (result.model, result.resolution, result.batch, result.dtype) == ("efficientnet_b0", 224, 32, "float32")
    one_copy = BATCH * 4 * activation_elements_per_image()  # 788,213,248 bytes: x of every activation, float32
    swish, efficient, silu = (result.variant(name) for name in ("swish", "memory_efficient_swish", "silu"))
    assert (swish.modules, efficient.modules, silu.modules) == (49, 49, 49)  # stem, 16 blocks × 2–3, head
    assert silu.activation_saved_bytes == efficient.activation_saved_bytes == one_copy
    assert swish.activation_saved_bytes == 2 * one_copy  # x and sigmoid(x)
    # a train-mode step: the eval-mode walk's 3,610,257,920 and 2,822,044,672, plus what training adds for every
    # variant alike: each BatchNorm's batch mean and inverse std (2 floats for each of its 21,008 channels), the
    # per-sample masks of the 9 stochastic-depth blocks and the classifier dropout's float mask (32 × 1280)
    train_only = 2 * 4 * 21_008 + 9 * BATCH * 4 + BATCH * 1280 * 4
    assert train_only == 333_056
    assert swish.training_bytes == 3_610_257_920 + train_only
    assert efficient.training_bytes == silu.training_bytes == 2_822_044_672 + train_only
    assert swish.training_bytes - silu.training_bytes == one_copy
    assert swish.flops == efficient.flops == silu.flops  # same arithmetic, different memory
    # the step's peak: MemoryEfficientSwish recomputes sigmoid(x) in its backward, two head-sized temporaries
    assert efficient.peak_bytes - silu.peak_bytes == 2 * BATCH * 1280 * 7 * 7 * 4 == 16_056_320
    assert swish.peak_bytes == 3_661_050_424 and silu.peak_bytes == 2_864_809_016


def test_saved_bytes_match_a_real_training_step() -> None:
    checks = study().checks
    assert [check.variant for check in checks] == ["swish", "memory_efficient_swish", "silu"]
    assert all((check.batch, check.resolution) == (2, 64) for check in checks)
    assert [check.measured_bytes for check in checks] == [18_747_496, 14_723_208, 14_723_208]
    assert all(check.difference_bytes == 0 for check in checks)


def test_per_module_saved_bytes() -> None:
    frame = study().modules_dataframe()
    assert len(frame) == 49
    stem = frame[frame["module"] == "stem.act"].iloc[0]
    assert stem["silu"] == stem["memory_efficient_swish"] == BATCH * 32 * 112 * 112 * 4  # 51,380,224
    assert stem["swish"] == 2 * stem["silu"]
    assert (frame["swish"] == 2 * frame["silu"]).all()
    assert (frame["memory_efficient_swish"] == frame["silu"]).all()
    assert list(frame["module"][:3]) == ["stem.act", "stages.0.0.depthwise.act", "stages.0.0.se.act"]


def test_recommendation_is_silu_with_the_reason() -> None:
    pick = study().recommendation
    assert pick.activation == "silu"
    assert "751.70 MiB fewer than swish" in pick.reason
    assert ("the same as memory_efficient_swish, whose step peaks higher (2.68 GiB against 2.67 GiB, 15.31 MiB more)"
            in pick.reason)
    assert "native" in pick.reason and "fast" not in pick.reason  # the study measures memory, not time


def test_recommend_prefers_least_memory_then_native() -> None:
    def variant(name: str, saved: int) -> SwishVariant:
        return SwishVariant(name, name, 1, saved, saved, saved, 0)

    assert recommend([variant("memory_efficient_swish", 5), variant("silu", 5)]).activation == "silu"
    assert recommend([variant("swish", 9), variant("memory_efficient_swish", 5)]).activation == (
        "memory_efficient_swish")
    lower_peak = SwishVariant("memory_efficient_swish", "m", 1, 5, 5, 5, 0, peak_bytes=7)
    assert recommend([lower_peak, SwishVariant("silu", "s", 1, 5, 5, 5, 0, peak_bytes=8)]).activation == (
        "memory_efficient_swish")
    with pytest.raises(ValueError):
        recommend([])


def test_dataframe() -> None:
    frame = study().to_dataframe()
    assert list(frame["variant"]) == ["swish", "memory_efficient_swish", "silu"]
    assert list(frame["activation_type"]) == ["Swish", "MemoryEfficientSwish", "SiLU"]


def test_analyses_must_use_the_variant_they_are_given_for() -> None:
    with pytest.raises(ValueError, match="no Swish module"):
        swish_from_analyses({"swish": analyze_model("efficientnet_b0", training=True)})
    with pytest.raises(ValueError, match="has no training step; analyse with training=True"):
        swish_from_analyses({"silu": analyze_model("efficientnet_b0")})


# --- the report section -----------------------------------------------------------------


def test_swish_section(study_of) -> None:
    section = swish_section(study_of("swish"))
    assert "swish keeps 1.47 GiB in its 49 activation modules (3.36 GiB" in section.intro
    assert "Recommendation: silu." in section.intro
    assert section.intro.endswith("the counted saved bytes match to the byte for every variant.")
    assert section.notes[0].startswith("Why silu: silu keeps 2.63 GiB for backward; 751.70 MiB fewer")
    assert list(section.frame["training_bytes"]) == [3_610_590_976, 2_822_377_728, 2_822_377_728]
    modules, checks = (table.frame for table in section.tables)
    assert len(modules) == 49
    assert list(checks["difference_bytes"]) == [0, 0, 0]
    assert list(modules.columns) == ["module", "swish_saved_bytes", "memory_efficient_swish_saved_bytes",
                                     "silu_saved_bytes"]
    (axes,) = figure_of(section).axes
    heights = [bar.get_height() for bar in axes.patches]
    assert heights == [1_576_426_496, 788_213_248, 788_213_248, 3_610_590_976, 2_822_377_728, 2_822_377_728]


def test_the_report_counts_and_steps_each_variant() -> None:
    from convcost.studies import get_study
    from convcost.studies.common import AnalysisJob
    from convcost.studies.swish import RealSavedJob

    study = get_study("swish")
    jobs = list(study.jobs(study.report_settings()))
    variants = ["swish", "memory_efficient_swish", "silu"]
    counted = [job for job in jobs if isinstance(job, AnalysisJob) and job.batch == 32]
    assert [dict(job.overrides)["activation"] for job in counted] == variants
    # real training steps: real arithmetic never runs in a forked worker
    assert [job for job in jobs if job.isolated] == [RealSavedJob("efficientnet_b0", variant) for variant in variants]
