"""Study ``training``: one training step of every built-in model, and FlopCounterMode's figure beside the truth."""

from __future__ import annotations

import pytest
from helpers import figure_of

from convcost.studies.common import analyze_model
from convcost.studies.train_step import StepRow, training_from_analyses, training_section


def test_rows_of_resnet50_and_efficientnet_b0() -> None:
    study = training_from_analyses({name: analyze_model(name, training=True)
                                    for name in ("resnet50", "efficientnet_b0")})
    resnet, b0 = study.rows
    # ResNet-50: twice the forward but the stem's grad-input (3·64·49·112·112 MACs); no grouped convolution, so
    # FlopCounterMode's figure is right
    assert (resnet.macs, resnet.backward_macs, resnet.first_layer_macs) == (4_089_184_256, 8_060_354_560, 118_013_952)
    assert resnet.backward_macs == 2 * resnet.macs - resnet.first_layer_macs
    assert resnet.flopcounter_flops == resnet.product_flops == 2 * (4_089_184_256 + 8_060_354_560)
    assert resnet.flopcounter_ratio == 1.0
    assert resnet.optimizer_flops == 2 * 25_557_032  # SGD: a multiply and an add per trainable element
    # EfficientNet-B0: the depthwise layers' weight gradients count C times in FlopCounterMode
    assert (b0.backward_macs, b0.grad_input_macs, b0.grad_weight_macs) == (760_791_488, 374_976_736, 385_814_752)
    assert b0.product_flops == 2 * (385_814_752 + 760_791_488) == 2_293_212_480
    assert b0.flopcounter_flops == 32_185_843_584 and b0.flopcounter_ratio == pytest.approx(14.035, abs=1e-3)
    assert (b0.peak_bytes, b0.peak_moment) == (119_918_832, "backward of stages.5.1.se.pool")


def test_an_analysis_without_the_step_is_refused() -> None:
    with pytest.raises(ValueError, match="has no training step; analyse with training=True"):
        training_from_analyses({"resnet50": analyze_model("resnet50")})


def test_training_section(study_of) -> None:
    section = training_section(study_of("training"))
    for needle in ("less the first layer's grad-input, which the image does not need: 20 of 20 models",
                   "right on resnet50, se_resnet50, senet18 (no grouped convolutions)",
                   "up to 16.9× the true figure (efficientnet_b7: 3.83T FLOPs for 226.16G)",
                   "The largest step, efficientnet_b7's, peaks at 3.86 GiB in the backward of "
                   "stages.6.3.se."):
        assert needle in section.intro, needle
    frame = section.frame.set_index("model")
    assert len(frame) == 20 and frame.loc["efficientnet_b7", "backward_macs"] == 75_336_248_384
    # the exact integers behind the prose's rounded figures
    b7 = frame.loc["efficientnet_b7"]
    assert (b7["flopcounter_flops"], b7["product_flops"], b7["training_peak_bytes"]) == (
        3_828_892_979_328, 226_164_265_152, 4_146_485_012)
    macs_axes, ratio_axes = figure_of(section).axes
    assert macs_axes.get_yscale() == "log"
    assert [bar.get_height() for bar in ratio_axes.patches] == list(frame["flopcounter_ratio"])


def test_step_row_ratio() -> None:
    row = StepRow("m", 8, 10, 0, 10, 10, 20, 0, 0, 60, 90, 0, "", 0)
    assert row.flopcounter_ratio == 1.5
