"""Study ``scaling``: EfficientNet B0–B7 MACs, the law's predictions, and the drift decomposition."""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache

import pytest
from helpers import figure_of

from convcost.analyzer import Analysis
from convcost.architectures import EFFICIENTNET_SCALING
from convcost.studies.common import analyze_model
from convcost.studies.scaling import (
    IDEAL,
    PARTS,
    Rounding,
    efficientnet_macs,
    scaling_from_analyses,
    scaling_section,
    scaling_study,
)

# Conv + linear MACs at native resolution: torchvision's `_ops` (rounded there to 3 decimals)
# and calflops agree with these exact counts.
EXPECTED_MACS = {
    "efficientnet_b0": 385_814_752,
    "efficientnet_b1": 686_802_832,
    "efficientnet_b2": 993_561_872,
    "efficientnet_b3": 1_827_141_392,
    "efficientnet_b4": 4_393_771_024,
    "efficientnet_b5": 10_266_384_752,
    "efficientnet_b6": 19_067_593_536,
    "efficientnet_b7": 37_745_884_192,
}
EXPECTED_PARAMS = {"efficientnet_b0": 5_288_548, "efficientnet_b7": 66_347_960}
B0 = "efficientnet_b0"


@cache
def native(name: str) -> Analysis:
    return analyze_model(name)


def study_of(name: str):
    return scaling_from_analyses({B0: native(B0)} | {name: native(name)})


@pytest.mark.parametrize("name", sorted(EXPECTED_MACS))
def test_measured_macs_at_native_resolution(name: str) -> None:
    study = study_of(name)
    row, drift = study.rows[-1], study.drift[-1]
    assert row.model == name
    assert row.resolution == EFFICIENTNET_SCALING[name].resolution
    assert row.macs == EXPECTED_MACS[name]
    assert drift.measured_macs == EXPECTED_MACS[name]
    # the analytic model of the stage table, with every builder rounding, is exact
    assert drift.analytic_macs == EXPECTED_MACS[name]
    assert drift.analytic_matches


@pytest.mark.parametrize("name", sorted(EXPECTED_MACS))
def test_fully_rounded_analytic_model_reproduces_every_count(name: str) -> None:
    parts = efficientnet_macs(EFFICIENTNET_SCALING[name])
    assert set(parts) == set(PARTS)
    assert sum(parts.values()) == EXPECTED_MACS[name]


def test_b0_parts_by_hand() -> None:
    parts = efficientnet_macs(EFFICIENTNET_SCALING[B0])
    assert parts["stem"] == 3 * 32 * 9 * 112 * 112  # 10,838,016
    assert parts["head"] == 320 * 1280 * 7 * 7  # 20,070,400
    assert parts["classifier"] == 1280 * 1000  # 1,280,000
    # SE: 2·hidden·squeeze per block, squeeze = C_in/4 of the block input
    se = 2 * (32 * 8 + 96 * 4 + 144 * 6 + 144 * 6 + 240 * 10 + 240 * 10 + 480 * 20 + 480 * 20
              + 480 * 20 + 672 * 28 + 672 * 28 + 672 * 28 + 1152 * 48 * 4)
    assert parts["se"] == se == 627_200
    analysis = native(B0)
    assert analysis.total("stem", "macs") == parts["stem"]
    assert analysis.total("head", "macs") == parts["head"]
    assert analysis.total("fc", "macs") == parts["classifier"]
    assert analysis.total("stages", "macs") == parts["blocks"] + parts["se"]


def test_b0_is_already_ideal() -> None:
    # B0: width 1, depth 1, 224 = 7·32, so no rounding changes anything
    assert sum(efficientnet_macs(EFFICIENTNET_SCALING[B0], IDEAL).values()) == EXPECTED_MACS[B0]


def test_idealised_fixed_size_parts_do_not_follow_the_law() -> None:
    b7, b0 = efficientnet_macs(EFFICIENTNET_SCALING["efficientnet_b7"], IDEAL), efficientnet_macs(
        EFFICIENTNET_SCALING[B0], IDEAL)
    resolution = Fraction(600, 224) ** 2
    assert b7["classifier"] / b0["classifier"] == 2  # w: 1280·w inputs, 1000 outputs
    assert b7["stem"] / b0["stem"] == 2 * resolution  # w·r²: three input channels
    assert b7["head"] / b0["head"] == 4 * resolution  # w²·r²: not repeated


def test_each_rounding_switch_changes_what_it_should() -> None:
    b2 = EFFICIENTNET_SCALING["efficientnet_b2"]  # width 1.1, depth 1.2, 260 px
    ideal = efficientnet_macs(b2, IDEAL)
    only_sizes = efficientnet_macs(b2, Rounding(channels=False, repeats=False, sizes=True))
    # 260 → 130 exactly, so the stem does not change; the head sees 9×9 instead of 8.125²
    assert only_sizes["stem"] == ideal["stem"]
    assert only_sizes["head"] / ideal["head"] == Fraction(81) / Fraction(260, 32) ** 2
    only_channels = efficientnet_macs(b2, Rounding(channels=True, repeats=False, sizes=False))
    # round_filters(1280, 1.1) = 1408 = 1280·1.1 exactly; 1000 classes fixed
    assert only_channels["classifier"] == ideal["classifier"] == 1408 * 1000


def test_predictions_and_drift_chain() -> None:
    study = study_of("efficientnet_b7")
    b0_row, row = study.rows
    assert (b0_row.measured_ratio, b0_row.coefficient_prediction, b0_row.phi_prediction) == (1.0, 1.0, 1.0)
    assert row.phi == 7
    assert row.measured_ratio == pytest.approx(37_745_884_192 / 385_814_752)  # 97.83
    assert row.coefficient_prediction == pytest.approx(3.1 * 2.0**2 * (600 / 224) ** 2)  # 88.97
    assert row.phi_prediction == 128
    assert row.compound_prediction == pytest.approx((1.2 * 1.1**2 * 1.15**2) ** 7)  # 1.92^7 = 96.3
    assert study.compound_base == pytest.approx(1.920270)
    drift = study.drift[-1]
    product = drift.structure_effect * drift.channels_effect * drift.repeats_effect * drift.sizes_effect
    assert product == pytest.approx(drift.total_drift, rel=1e-12)
    assert drift.law_macs == pytest.approx(385_814_752 * 3.1 * 4 * (600 / 224) ** 2)
    assert drift.channels_effect == pytest.approx(1.0)  # width 2.0: every channel count already a multiple of 8
    assert drift.repeats_effect > 1  # ceil(3.1·n) adds blocks
    assert drift.structure_effect < 1  # stem, head, classifier and SE grow slower than d·w²·r²


def test_rows_carry_the_analysis_totals() -> None:
    study = study_of("efficientnet_b7")
    for row in study.rows:
        totals = native(row.model).totals
        assert (row.params, row.flops, row.activation_bytes, row.training_bytes) == (
            totals.params, totals.flops, totals.activation_bytes, totals.training_bytes)
        assert row.params == EXPECTED_PARAMS[row.model]
    frame = study.to_dataframe()
    assert list(frame["model"]) == [B0, "efficientnet_b7"]
    assert {"macs", "coefficient_prediction", "structure_effect", "total_drift"} <= set(frame.columns)
    parts = study.parts_dataframe()
    assert len(parts) == 2 * len(PARTS)
    assert parts.groupby("model")["macs"].sum().to_dict() == {
        B0: EXPECTED_MACS[B0], "efficientnet_b7": EXPECTED_MACS["efficientnet_b7"]}


def test_scaling_study_end_to_end() -> None:
    study = scaling_study([B0, "efficientnet_b1"])
    assert [row.macs for row in study.rows] == [EXPECTED_MACS[B0], EXPECTED_MACS["efficientnet_b1"]]
    # B1 only deepens (1.1) and enlarges (240): the law says 1.1·(240/224)² = 1.2628, ceil(1.1·n) makes it 1.78
    assert study.rows[1].coefficient_prediction == pytest.approx(1.1 * (240 / 224) ** 2)
    assert study.drift[1].repeats_effect == pytest.approx(1.339, abs=1e-3)
    assert math.isclose(study.rows[1].measured_ratio, 686_802_832 / 385_814_752)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="baseline"):
        scaling_study(["efficientnet_b1"])
    with pytest.raises(ValueError, match="scaling covers"):
        scaling_study([B0, "resnet50"])
    with pytest.raises(ValueError, match=r"\(N, 3, 224, 224\)"):
        scaling_from_analyses({B0: analyze_model(B0, 256)})


# --- the report section -----------------------------------------------------------------


def test_scaling_section(study_of) -> None:
    section = scaling_section(study_of("scaling"))
    assert section.title == "Scaling: EfficientNet B0–B7 against the compound-scaling law"
    for needle in ("97.8× the MACs of efficientnet_b0 (37.75G against 385.81M)",
                   "official coefficients predict 89.0×", "2^φ 128×", "repeats rounded up 1.12×",
                   "channels rounded to multiples of 8 1.00×", "The largest single effect is repeats rounded up "
                   "(1.34× for efficientnet_b1)", "measured MACs of 8 of 8 models exactly"):
        assert needle in section.intro, needle
    assert list(section.frame["macs"])[-1] == 37_745_884_192
    # the training columns: backward = twice the forward but the stem's grad-input (3·64·9·300·300 MACs for B7)
    frame = section.frame.set_index("model")
    assert frame.loc["efficientnet_b0", "backward_macs"] == 2 * 385_814_752 - 3 * 32 * 9 * 112 * 112 == 760_791_488
    assert frame.loc["efficientnet_b7", "backward_macs"] == 2 * 37_745_884_192 - 3 * 64 * 9 * 300 * 300
    assert (frame.loc["efficientnet_b0", "training_flops"], frame.loc["efficientnet_b7", "training_flops"]) == (
        2_464_552_650, 233_393_255_603)
    assert "the step peaks at 3.86 GiB, 34.6× efficientnet_b0's 114.36 MiB" in section.intro
    peaks = frame["training_peak_bytes"]
    assert (peaks["efficientnet_b0"], peaks["efficientnet_b7"]) == (119_918_832, 4_146_485_012)
    ((caption, growth),) = ((table.caption, table.frame) for table in section.tables)
    assert "Growth of each part" in caption
    assert list(growth.columns) == ["model", "law_growth", "stem_growth", "blocks_growth", "se_growth", "head_growth",
                                    "classifier_growth"]
    assert growth.set_index("model").loc["efficientnet_b7", "classifier_growth"] == 2.0  # width only: 1280·2 → 1000
    ratio_axes, drift_axes = figure_of(section).axes
    measured = ratio_axes.get_lines()[0]
    assert list(measured.get_ydata()) == list(section.frame["measured_ratio"])
    assert ratio_axes.get_yscale() == "log" and len(drift_axes.get_lines()) == 5 + 1  # four effects, total, 1.0


def test_latency_joins_the_series_as_measured_and_its_ratio_is_b0s(study_of) -> None:
    from dataclasses import replace

    from convcost.analyzer.profiling import Spread
    from convcost.studies import get_study
    from convcost.studies.latency import Latency
    from convcost.studies.scaling import scaling_section, with_latency
    from convcost.studies.timing_jobs import ProfileJob

    study = study_of("scaling")  # untimed in the tests
    assert all(row.latency_ms is None for row in study.rows)
    assert "latency_ms" not in scaling_section(study).frame.columns
    spreads = {row.model: Spread(10.0 * (index + 1) ** 2, 9.0, 11.0, 5) for index, row in enumerate(study.rows)}
    timed = with_latency(study, spreads)
    assert [row.latency_ratio for row in timed.rows] == [(index + 1) ** 2 for index in range(8)]
    assert [row.latency_iqr_ms for row in timed.rows] == [2.0] * 8
    assert replace(timed.rows[0], latency_ms=None, latency_iqr_ms=None, latency_ratio=None) == study.rows[0]
    section = scaling_section(timed)
    assert list(section.frame["latency_ratio"]) == [(index + 1) ** 2 for index in range(8)]
    assert "efficientnet_b7 takes 640 ms, 64.0× efficientnet_b0's 10.0 ms, for 97.8× the MACs" in section.intro
    # the report profiles each model once: the scaling study asks for the latency study's own jobs
    scaling, latency = get_study("scaling"), get_study("latency")
    assert isinstance(latency, Latency)
    profiles = [job for job in scaling.jobs(scaling.report_settings()) if isinstance(job, ProfileJob)]
    assert profiles and set(profiles) <= set(latency.jobs(latency.report_settings()))
    assert not [job for job in scaling.jobs(scaling.settings({"scaling_runs": 0})) if isinstance(job, ProfileJob)]
