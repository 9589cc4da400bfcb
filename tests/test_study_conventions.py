"""Study ``conventions``: every tool's total for EfficientNet-B0 at 224, and the per-operator split."""

from __future__ import annotations

import pytest
from helpers import figure_of

from convcost.analyzer import Analysis
from convcost.analyzer.conventions import CONVENTIONS, convention_total, explain
from convcost.reports.reconciliation import reconciliation_section
from convcost.studies.conventions import ConventionsStudy, conventions_section, conventions_study

B0_TOTALS = {
    "convcost": 802_325_916, "paper": 385_814_752, "torchvision": 385_814_752, "fvcore": 401_659_392,
    "flopcounter": 771_629_504, "thop": 415_145_024, "ptflops": 410_196_896, "torchinfo": 385_867_108,
}


@pytest.fixture(scope="module")
def study(b0_analysis: Analysis) -> ConventionsStudy:
    return conventions_study(b0_analysis)


def test_every_total(study: ConventionsStudy) -> None:
    assert [t.tool for t in study.totals] == list(CONVENTIONS)
    assert {t.tool: t.total for t in study.totals} == B0_TOTALS
    assert (study.flops, study.macs, study.input_shape) == (802_325_916, 385_814_752, (1, 3, 224, 224))
    assert study.total("flopcounter").of_macs == 2.0  # 771,629,504 / 385,814,752
    assert study.total("paper").of_macs == 1.0


def test_ops_frame_columns_sum_to_each_total(study: ConventionsStudy) -> None:
    ops = study.ops_dataframe()
    assert list(ops.columns) == ["op", "convcost_flops", *(tool for tool in CONVENTIONS if tool != "convcost")]
    assert ops["convcost_flops"].sum() == 802_325_916
    for tool, total in B0_TOTALS.items():
        if tool != "convcost":
            assert ops[tool].sum() == total, tool
    assert list(ops["op"][:3]) == ["conv", "batch_norm", "silu"]  # largest convcost FLOPs first
    # thop: 4 per batch-norm element, 6,737,696 elements
    assert ops.set_index("op").loc["batch_norm", "thop"] == 4 * 6_737_696


def test_reconciliation_of_one_tool(study: ConventionsStudy) -> None:
    frame = study.reconciliation_dataframe("fvcore")
    assert list(frame.columns) == ["op", "convcost_flops", "fvcore", "difference", "rule"]
    assert frame["fvcore"].sum() == 401_659_392 and frame["convcost_flops"].sum() == 802_325_916
    assert (frame["difference"] == frame["fvcore"] - frame["convcost_flops"]).all()
    silu = frame.set_index("op").loc["silu"]
    assert (silu["fvcore"], silu["rule"]) == (0, "not counted by fvcore")
    with pytest.raises(KeyError, match="no convention 'calflops'"):
        study.reconciliation("calflops")


def test_one_tool_only(b0_analysis: Analysis) -> None:
    single = conventions_study(b0_analysis, ("thop",))
    assert [t.total for t in single.totals] == [415_145_024]
    with pytest.raises(ValueError, match="convention must be one of"):
        conventions_study(b0_analysis, ("calflops",))


# --- the report section -----------------------------------------------------------------


def test_conventions_and_reconciliation_sections(b0_analysis: Analysis) -> None:
    study = conventions_study(b0_analysis)
    section = conventions_section(study)
    assert section.title == "Conventions: why the tools disagree"
    for needle in ("convcost 802.33M", "paper 385.81M", "torchvision 385.81M", "fvcore 401.66M",
                   "flopcounter 771.63M", "thop 415.15M", "ptflops 410.20M", "torchinfo 385.87M",
                   "paper and torchvision count conv + linear multiply-adds only",
                   "flopcounter counts 2 per multiply-add and nothing else"):
        assert needle in section.intro, needle
    assert list(section.frame["total"]) == [802_325_916, 385_814_752, 385_814_752, 401_659_392, 771_629_504,
                                            415_145_024, 410_196_896, 385_867_108]
    (axes,) = figure_of(section).axes
    assert [text.get_text() for text in axes.texts][:2] == ["802.33M", "385.81M"]

    explained = reconciliation_section(b0_analysis, convention_total(b0_analysis, "ptflops"),
                                       explain(b0_analysis, "ptflops"))
    assert explained.footer == {"op": "total", "convcost_flops": 802_325_916, "ptflops": 410_196_896,
                                "difference": 410_196_896 - 802_325_916}
    assert explained.frame["ptflops"].sum() == 410_196_896 and not explained.figures
