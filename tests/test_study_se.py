"""Study ``se``: SE-ResNet-50 against ResNet-50, EfficientNet-B0 with and without SE."""

from __future__ import annotations

from functools import cache

import pytest
from helpers import figure_of

from convcost.studies.common import analyze_model
from convcost.studies.se import SENET_PAPER_GFLOPS, SeComparison, SeStudy, compare_se, se_section

# ResNet-50 stages: (bottleneck output channels C, blocks, output side). SE squeezes C → C/16 → C.
RESNET50 = [(256, 3, 56), (512, 4, 28), (1024, 6, 14), (2048, 3, 7)]
# EfficientNet-B0 blocks as (block input channels, hidden channels, output side of the depthwise conv);
# SE squeezes hidden → C_in/4 → hidden.
B0_BLOCKS = [(32, 32, 112), (16, 96, 56), (24, 144, 56), (24, 144, 28), (40, 240, 28), (40, 240, 14),
             (80, 480, 14), (80, 480, 14), (80, 480, 14), (112, 672, 14), (112, 672, 14), (112, 672, 7),
             (192, 1152, 7), (192, 1152, 7), (192, 1152, 7), (192, 1152, 7)]


@cache
def resnet() -> SeComparison:
    return compare_se(analyze_model("resnet50"), analyze_model("se_resnet50"))


@cache
def efficientnet() -> SeComparison:
    return compare_se(analyze_model("efficientnet_b0", se=False), analyze_model("efficientnet_b0"),
                      base_label="efficientnet_b0 se=False")


def se_resnet_block_params(c: int) -> int:
    return 2 * c * (c // 16) + c // 16 + c  # two 1×1 convs with biases


def test_se_resnet50_extra_params_per_stage() -> None:
    comparison = resnet()
    assert (comparison.total.base_params, comparison.total.se_params) == (25_557_032, 28_088_024)
    assert comparison.total.extra_params == 2_530_992
    per_stage = [n * se_resnet_block_params(c) for c, n, _ in RESNET50]
    assert per_stage == [25_392, 133_248, 792_960, 1_579_392]  # 3·8,464; 4·33,312; 6·132,160; 3·526,464
    assert [row.extra_params for row in comparison.stages] == per_stage
    assert [row.module for row in comparison.stages] == ["stages.0", "stages.1", "stages.2", "stages.3"]
    assert sum(per_stage) == comparison.total.extra_params  # nothing outside the stages changes


def test_the_96_percent_claim_does_not_hold() -> None:
    comparison = resnet()
    # 1,579,392 / 2,530,992 = 62.4 % of the extra parameters sit in the last stage, not 96 %
    assert comparison.last_stage_share == pytest.approx(1_579_392 / 2_530_992)
    assert comparison.last_stage_share == pytest.approx(0.624, abs=5e-4)
    assert sum(comparison.stage_shares().values()) == pytest.approx(1.0)
    assert comparison.params_increase == pytest.approx(2_530_992 / 25_557_032)  # 9.9 %


def test_se_resnet50_extra_macs_and_flops() -> None:
    comparison = resnet()
    # MACs: the two 1×1 convs on a 1×1 map, 2·C·C/16 per block
    macs = [n * 2 * c * (c // 16) for c, n, _ in RESNET50]
    assert [row.extra_macs for row in comparison.stages] == macs
    assert comparison.total.extra_macs == sum(macs) == 2_514_944
    assert (comparison.total.base_macs, comparison.total.se_macs) == (4_089_184_256, 4_091_699_200)
    # FLOPs per block: pool C·H·W + fc1 (2·C·C/16 + C/16 bias) + relu C/16 + fc2 (2·C·C/16 + C bias)
    # + sigmoid C + gate multiply C·H·W
    flops = [n * (2 * c * h * h + 4 * c * (c // 16) + 2 * (c // 16) + 2 * c) for c, n, h in RESNET50]
    assert [row.extra_flops for row in comparison.stages] == flops
    assert comparison.total.extra_flops == sum(flops) == 16_100_704
    assert comparison.macs_increase == pytest.approx(2_514_944 / 4_089_184_256)  # 0.06 %
    assert comparison.flops_increase == pytest.approx(16_100_704 / 8_217_632_232)  # 0.20 %
    paper = (SENET_PAPER_GFLOPS[1] - SENET_PAPER_GFLOPS[0]) / SENET_PAPER_GFLOPS[0]
    assert paper == pytest.approx(0.0026, abs=1e-4)
    assert comparison.macs_increase < comparison.flops_increase < paper


def test_efficientnet_b0_with_and_without_se() -> None:
    comparison = efficientnet()
    assert comparison.base_model == "efficientnet_b0 se=False"
    assert (comparison.total.base_params, comparison.total.se_params) == (4_652_008, 5_288_548)
    params = sum(2 * h * (c // 4) + c // 4 + h for c, h, _ in B0_BLOCKS)
    macs = sum(2 * h * (c // 4) for c, h, _ in B0_BLOCKS)
    # pool h·side² + fc1 (2·h·s + s) + SiLU 2·s + fc2 (2·s·h + h) + sigmoid h + gate multiply h·side²
    flops = sum(2 * h * side**2 + 4 * h * (c // 4) + 3 * (c // 4) + 2 * h for c, h, side in B0_BLOCKS)
    assert comparison.total.extra_params == params == 636_540
    assert comparison.total.extra_macs == macs == 627_200
    assert comparison.total.extra_flops == flops == 5_886_516
    assert (comparison.total.base_macs, comparison.total.se_macs) == (385_187_552, 385_814_752)
    assert len(comparison.stages) == 7
    assert max(comparison.stage_shares(), key=comparison.stage_shares().get) == "stages.5"


def test_dataframe_rows_and_shares() -> None:
    frame = SeStudy((resnet(), efficientnet())).to_dataframe()
    assert len(frame) == (4 + 1) + (7 + 1)
    whole = frame[frame["module"] == ""]
    assert list(whole["extra_params"]) == [2_530_992, 636_540]
    assert list(whole["extra_macs"]) == [2_514_944, 627_200]
    assert list(whole["share_of_extra_params"]) == [1.0, 1.0]
    assert {"extra_macs", "extra_flops", "extra_training_bytes", "base_model", "se_model"} <= set(frame.columns)


def test_compare_se_rejects_different_inputs() -> None:
    with pytest.raises(ValueError, match="different inputs"):
        compare_se(analyze_model("resnet50"), analyze_model("se_resnet50", 192))


# --- the report section -----------------------------------------------------------------


def test_se_section(study_of) -> None:
    section = se_section(study_of("se"))
    for needle in ("se_resnet50 over resnet50: +2.53M parameters (+9.9%), 62.4% of them in the final stage "
                   "(stages.3)", "+2.51M MACs (+0.062%)", "3.86 → 3.87 GFLOPs", "+0.26%",
                   "The claim that 96% of SE's extra parameters sit in the final stage does not hold: 1.58M of "
                   "2.53M, 62.4%", "efficientnet_b0 over efficientnet_b0 se=False: +636.54K parameters"):
        assert needle in section.intro, needle
    assert len(section.frame) == (4 + 1) + (7 + 1)
    whole = section.frame[section.frame["module"] == "(whole model)"]
    assert list(whole["extra_params"]) == [2_530_992, 636_540]
    resnet_axes, b0_axes = figure_of(section).axes
    assert [bar.get_height() for bar in resnet_axes.patches] == [25_392, 133_248, 792_960, 1_579_392]
    assert [text.get_text() for text in resnet_axes.texts] == ["1.0%", "5.3%", "31.3%", "62.4%"]
    assert len(b0_axes.patches) == 7


def test_se_section_shows_the_published_figures_its_text_tests(study_of) -> None:
    section = se_section(study_of("se"))
    (claims,) = (table.frame for table in section.tables)
    rows = {row.figure: (row.published, row.counted) for row in claims.itertuples()}
    assert rows == {"resnet50 MACs": ("3.86G", "4.09G"), "se_resnet50 MACs": ("3.87G", "4.09G"),
                    "MACs added by SE": ("+0.26%", "+0.062%"),
                    "SE's extra parameters in the final stage": ("96%", "62.4%")}
