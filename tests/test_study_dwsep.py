"""Study ``dwsep``: depthwise-separable pairs against one standard conv, per layer and per network."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import pytest
import torch
from helpers import figure_of
from torch import nn

from convcost.analyzer import Analysis, analyze
from convcost.reports.display import display_frame
from convcost.studies.common import analyze_model
from convcost.studies.dwsep import (
    DwsepStudy,
    NetworkSeparable,
    dwsep_section,
    separable_network,
    separable_pairs,
    textbook_pair,
)

# Stage tables written out from the papers: (expand t, kernel k, stride s, out channels c, repeats n).
MOBILENET_V2 = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 3, 2, 32, 3), (6, 3, 2, 64, 4), (6, 3, 1, 96, 3),
                (6, 3, 2, 160, 3), (6, 3, 1, 320, 1)]
EFFICIENTNET_B0 = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
                   (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]


@dataclass
class Block:
    c_in: int
    hidden: int
    out: int
    kernel: int
    side: int  # output side of the depthwise conv

    @property
    def pair_params(self) -> int:
        return self.hidden * self.kernel**2 + self.hidden * self.out

    @property
    def standard_params(self) -> int:
        return self.hidden * self.out * self.kernel**2


def blocks(table: list[tuple[int, int, int, int, int]], stem: int = 32, side: int = 112) -> Iterator[Block]:
    c_in = stem
    for t, k, s, c, n in table:
        for i in range(n):
            side = -(-side // (s if i == 0 else 1))
            yield Block(c_in, c_in * t, c, k, side)
            c_in = c


@cache
def network(name: str) -> NetworkSeparable:
    return separable_network(analyze_model(name), analyze_model(name, separable=False))


@cache
def real(name: str) -> Analysis:
    return analyze_model(name)


def test_textbook_pair() -> None:
    pair = textbook_pair()  # 3 → 4 channels, 3×3, on an 8×8 map
    assert (pair.depthwise_params, pair.pointwise_params) == (3 * 9, 3 * 4)
    assert pair.pair_params == 39
    assert pair.standard_params == 3 * 4 * 9 == 108
    assert pair.pair_macs == (27 + 12) * 64  # 2,496
    assert pair.standard_macs == 108 * 64  # 6,912
    assert pair.params_ratio == pytest.approx(39 / 108)
    assert pair.theory_ratio == pytest.approx(1 / 4 + 1 / 9)  # 0.3611
    assert pair.macs_ratio_is_theory and pair.params_ratio_is_theory


def test_textbook_standard_conv_matches_a_measured_one() -> None:
    pair = textbook_pair()
    with torch.device("meta"):
        conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
    measured = analyze(conv, (1, 3, 8, 8)).totals
    assert (measured.params, measured.macs) == (pair.standard_params, pair.standard_macs)


def test_biases_break_the_exact_parameter_ratio_only() -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.Conv2d(8, 16, 1))
    (pair,) = separable_pairs(analyze(model, (2, 8, 6, 6)))
    assert pair.pair_params == 8 * 9 + 8 + 8 * 16 + 16  # 224 with biases
    assert pair.standard_params == 8 * 16 * 9 + 16  # 1,168
    assert not pair.params_ratio_is_theory
    assert pair.macs_ratio_is_theory  # bias adds are not MACs
    assert pair.batch == 2


def test_pairs_need_the_pointwise_inside_the_same_block() -> None:
    # a depthwise conv ending block "a" must not pair with the 1×1 conv opening block "b"
    with torch.device("meta"):
        model = nn.Sequential()
        model.add_module("a", nn.Sequential(nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 3, padding=1, groups=4)))
        model.add_module("b", nn.Sequential(nn.Conv2d(4, 8, 1)))
    assert separable_pairs(analyze(model, (1, 4, 5, 5))) == ()


def test_mobilenet_v2_pairs_equal_theory_exactly() -> None:
    net = network("mobilenet_v2")
    expected = list(blocks(MOBILENET_V2))
    assert len(net.pairs) == len(expected) == 17
    for pair, block in zip(net.pairs, expected, strict=True):
        assert pair.pointwise == pair.depthwise.replace("depthwise", "project")
        assert pair.between == ()
        assert (pair.in_channels, pair.out_channels, pair.kernel) == (block.hidden, block.out, block.kernel)
        assert pair.pair_params == block.pair_params
        assert pair.standard_params == block.standard_params
        assert pair.pair_macs == block.pair_params * block.side**2
        assert pair.standard_macs == block.standard_params * block.side**2
        assert Fraction(pair.pair_macs, pair.standard_macs) == Fraction(1, block.out) + Fraction(1, 9)
        assert pair.macs_ratio_is_theory and pair.params_ratio_is_theory
    first = net.pairs[0]  # 32 channels, 3×3 → 16 at 112×112: 288 + 512 weights against 4,608
    assert (first.pair_params, first.standard_params) == (800, 4608)
    assert (first.pair_macs, first.standard_macs) == (800 * 12544, 4608 * 12544)  # 10,035,200 vs 57,802,752


def test_mobilenet_v2_counterfactual_network() -> None:
    net = network("mobilenet_v2")
    expected = list(blocks(MOBILENET_V2))
    pair_params = sum(b.pair_params for b in expected)
    standard_params = sum(b.standard_params for b in expected)
    bn_between = sum(2 * b.hidden for b in expected)  # the depthwise conv's BatchNorm goes too
    assert net.params == 3_504_872
    assert net.standard_params == 3_504_872 - pair_params + standard_params - bn_between == 11_131_976
    assert net.other_params_delta == -bn_between == -14_272
    pair_macs = sum(b.pair_params * b.side**2 for b in expected)
    standard_macs = sum(b.standard_params * b.side**2 for b in expected)
    assert net.macs == 300_774_272
    assert net.standard_macs == 300_774_272 - pair_macs + standard_macs == 1_224_972_288
    assert net.other_macs_delta == 0
    assert net.macs_ratio == pytest.approx(300_774_272 / 1_224_972_288)  # 0.2455: diluted by the rest


def test_efficientnet_b0_pairs_skip_the_se_convs() -> None:
    net = network("efficientnet_b0")
    expected = list(blocks(EFFICIENTNET_B0))
    assert len(net.pairs) == 16
    for pair, block in zip(net.pairs, expected, strict=True):
        assert pair.depthwise == f"{pair.block}.depthwise.conv"
        assert pair.pointwise == f"{pair.block}.project.conv"
        assert pair.between == (f"{pair.block}.se.fc1", f"{pair.block}.se.fc2")
        assert pair.pair_macs == block.pair_params * block.side**2
        assert pair.standard_macs == block.standard_params * block.side**2
        assert pair.macs_ratio_is_theory and pair.params_ratio_is_theory
    five = net.pairs[3]  # stages.2.0: 144 channels 5×5 → 40, stride 2 to 28×28
    assert (five.block, five.kernel, five.stride, five.output_size) == ("stages.2.0", 5, 2, (28, 28))
    assert five.theory_ratio == pytest.approx(1 / 40 + 1 / 25)  # 0.065


def test_efficientnet_b0_counterfactual_network() -> None:
    net = network("efficientnet_b0")
    expected = list(blocks(EFFICIENTNET_B0))
    # without separable convs SE gates C_out instead of the hidden width: (2·squeeze + 1) per channel
    se_params = sum((2 * (b.c_in // 4) + 1) * (b.out - b.hidden) for b in expected)
    se_macs = sum(2 * (b.c_in // 4) * (b.out - b.hidden) for b in expected)
    bn_between = sum(2 * b.hidden for b in expected)
    params = (5_288_548 - sum(b.pair_params for b in expected) + sum(b.standard_params for b in expected)
              - bn_between + se_params)
    macs = (385_814_752 - sum(b.pair_params * b.side**2 for b in expected)
            + sum(b.standard_params * b.side**2 for b in expected) + se_macs)
    assert (net.standard_params, net.standard_macs) == (params, macs) == (32_638_740, 3_023_755_168)
    assert net.other_params_delta == se_params - bn_between
    assert net.other_macs_delta == se_macs


def test_efficientnet_b7_pairs_and_counterfactual() -> None:
    net = network("efficientnet_b7")
    assert net.resolution == 600
    assert len(net.pairs) == 4 + 7 + 7 + 10 + 10 + 13 + 4  # ceil(3.1·n) blocks: 55
    assert all(pair.macs_ratio_is_theory for pair in net.pairs)
    assert (net.params, net.macs) == (66_347_960, 37_745_884_192)
    assert net.standard_macs > 8 * net.macs
    # the network-wide pair ratio is the standard-MAC-weighted mean of the per-layer theory
    weighted = sum(p.theory_ratio * p.standard_macs for p in net.pairs) / net.pairs_standard_macs
    assert net.pairs_macs_ratio == pytest.approx(weighted, rel=1e-12)


def test_records_cover_every_depthwise_conv() -> None:
    analysis = real("efficientnet_b0")
    depthwise = [layer.name for layer in analysis.layers if layer.kind == "depthwise"]
    assert [pair.depthwise for pair in separable_pairs(analysis)] == depthwise


def test_dataframes() -> None:
    study = DwsepStudy(textbook_pair(), (network("mobilenet_v2"),))
    frame = study.to_dataframe()
    assert len(frame) == 1 + 17
    assert {"macs_ratio", "theory_ratio", "macs_ratio_is_theory", "standard_macs"} <= set(frame.columns)
    assert frame["macs_ratio_is_theory"].all()
    summary = study.networks_dataframe()
    assert list(summary["standard_params"]) == [11_131_976]
    assert "pairs" not in summary.columns


# --- the report section -----------------------------------------------------------------


def test_dwsep_section(study_of) -> None:
    section = dwsep_section(study_of("dwsep"))
    for needle in ("39 parameters against 108 (0.361× = 1/4 + 1/9)", "88 of 88 pairs",
                   "need 0.246×, 0.128× and 0.114× the MACs of the same networks built with standard convs"):
        assert needle in section.intro, needle
    assert list(section.frame["model"]) == ["mobilenet_v2", "efficientnet_b0", "efficientnet_b7"]
    assert list(section.frame["pairs"]) == [17, 16, 55]
    assert list(section.frame["standard_macs"]) == [1_224_972_288, 3_023_755_168, 330_581_873_024]
    textbook, pairs = (table.frame for table in section.tables)
    assert (textbook.iloc[0]["pair_params"], textbook.iloc[0]["standard_params"]) == (39, 108)
    assert display_frame(textbook)[0]["Output size"].tolist() == ["8x8"]  # shown as the other tables show sizes
    assert len(pairs) == 88 and pairs["equals_theory"].all()
    panels = figure_of(section).axes
    assert [axes.get_title() for axes in panels] == ["mobilenet_v2 (17 pairs)", "efficientnet_b0 (16 pairs)",
                                                     "efficientnet_b7 (55 pairs)"]
    assert len(panels[2].get_lines()[1].get_xdata()) == 55  # one measured marker per pair


def test_time_is_set_beside_the_macs_pair_by_pair_and_per_network() -> None:
    from convcost.studies import get_study
    from convcost.studies.dwsep import DwsepSettings, dwsep_section

    study = get_study("dwsep")
    settings = DwsepSettings(models=("mobilenet_v2_035",), timed=("mobilenet_v2_035",), runs=1)
    result = study.compute(settings)
    (network,) = result.networks
    (timed,) = result.times
    assert (timed.model, timed.macs_ratio) == ("mobilenet_v2_035", network.macs_ratio) and timed.runs >= 1
    assert len(timed.pairs) == len(network.pairs) == 17  # every pair found its block's one standard conv
    for pair, counted in zip(timed.pairs, network.pairs, strict=True):
        assert (pair.block, pair.macs_ratio) == (counted.block, counted.macs_ratio)
        assert pair.time_ratio == pytest.approx(pair.pair_ms / pair.standard_ms, rel=1e-12)
    assert timed.latency_ratio == pytest.approx(timed.latency_ms / timed.standard_latency_ms, rel=1e-12)
    section = dwsep_section(result)
    captions = [table.caption for table in section.tables]
    assert captions[2:] == ["Time against MACs: each network against its separable=False counterfactual (measured "
                            "on this machine)", "Time against MACs, pair by pair (measured on this machine)"]
    assert list(section.tables[3].frame["time_ratio"]) == [pair.time_ratio for pair in timed.pairs]
    low, high = sorted((timed.runs, timed.standard_runs))
    counts = str(low) if low == high else f"{low}–{high}"
    assert "mobilenet_v2_035 takes" in section.intro and section.notes[0].startswith(
        f"Times: the median of {counts} hook-free forwards")
    assert list(section.tables[2].frame[["runs", "standard_runs"]].iloc[0]) == [timed.runs, timed.standard_runs]
    assert [job for job in study.jobs(study.settings({"dwsep_runs": 0})) if "Profile" in type(job).__name__] == []


def test_the_report_counts_and_times_the_counterfactuals() -> None:
    from convcost.studies import get_study
    from convcost.studies.common import AnalysisJob
    from convcost.studies.dwsep import TextbookJob
    from convcost.studies.timing_jobs import ProfileJob

    study = get_study("dwsep")
    jobs = list(study.jobs(study.report_settings()))
    assert TextbookJob() in jobs
    separable = [job.model for job in jobs if isinstance(job, AnalysisJob) and ("separable", False) in job.overrides]
    assert separable == ["mobilenet_v2", "efficientnet_b0", "efficientnet_b7"]
    # each network timed as built and with standard convolutions (the built ones are the latency study's profiles)
    assert [job for job in jobs if job.isolated] == [
        ProfileJob("mobilenet_v2", 5, 2), ProfileJob.of("mobilenet_v2", 5, 2, separable=False),
        ProfileJob("efficientnet_b0", 5, 2), ProfileJob.of("efficientnet_b0", 5, 2, separable=False)]
