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
    assert swish.training_bytes == 3_610_257_920
    assert efficient.training_bytes == silu.training_bytes == 2_822_044_672
    assert swish.training_bytes - silu.training_bytes == one_copy
    assert swish.flops == efficient.flops == silu.flops  # same arithmetic, different memory


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
    assert "788,213,248 fewer than swish" in pick.reason
    assert "memory_efficient_swish" in pick.reason and "native" in pick.reason


def test_recommend_prefers_least_memory_then_native() -> None:
    def variant(name: str, saved: int) -> SwishVariant:
        return SwishVariant(name, name, 1, saved, saved, saved, 0)

    assert recommend([variant("memory_efficient_swish", 5), variant("silu", 5)]).activation == "silu"
    assert recommend([variant("swish", 9), variant("memory_efficient_swish", 5)]).activation == (
        "memory_efficient_swish")
    with pytest.raises(ValueError):
        recommend([])


def test_dataframe() -> None:
    frame = study().to_dataframe()
    assert list(frame["variant"]) == ["swish", "memory_efficient_swish", "silu"]
    assert list(frame["activation_type"]) == ["Swish", "MemoryEfficientSwish", "SiLU"]


def test_analyses_must_use_the_variant_they_are_given_for() -> None:
    with pytest.raises(ValueError, match="no Swish module"):
        swish_from_analyses({"swish": analyze_model("efficientnet_b0")})


# --- the report section -----------------------------------------------------------------


def test_swish_section(study_of) -> None:
    section = swish_section(study_of("swish"))
    assert "swish keeps 1,576,426,496 B (1.47 GiB) in its 49 activation modules (3,610,257,920 B" in section.intro
    assert section.intro.endswith("Recommendation: silu.")
    assert section.notes[0].startswith("Why silu: silu keeps 2,822,044,672 bytes for backward; 788,213,248 fewer")
    assert list(section.frame["training_bytes"]) == [3_610_257_920, 2_822_044_672, 2_822_044_672]
    (_, modules), = section.tables
    assert len(modules) == 49
    assert list(modules.columns) == ["module", "swish_saved_bytes", "memory_efficient_swish_saved_bytes",
                                     "silu_saved_bytes"]
    (axes,) = figure_of(section).axes
    heights = [bar.get_height() for bar in axes.patches]
    assert heights == [1_576_426_496, 788_213_248, 788_213_248, 3_610_257_920, 2_822_044_672, 2_822_044_672]
