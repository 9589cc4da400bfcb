"""Each study as a report section: headline figures in the intro, raw tables, notes and labelled charts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from matplotlib.figure import Figure

from analyzer import Analysis
from analyzer.studies import StudyResults
from analyzer.studies.fused import FusedStudy
from analyzer.studies.tools import conventions_study
from reports.charts import ChartJob
from reports.sections import Section
from reports.study_sections import (
    conventions_section,
    dwsep_section,
    fused_section,
    plan_section,
    reconciliation_section,
    scaling_section,
    se_section,
    study_sections,
    swish_section,
)


def figure_of(section: Section) -> Figure:
    (job,) = section.figures
    assert isinstance(job, ChartJob)  # drawn only when a page needs it
    figure = job.build(*job.args)
    assert figure.get_suptitle() and figure.axes[0].get_ylabel()  # panels in a row may share the first's
    for axes in figure.axes:
        assert axes.get_xlabel() and axes.get_legend() is not None
        assert axes.get_title() or len(figure.axes) == 1  # several panels: each says what it shows
    return figure


def test_scaling(study_of) -> None:
    section = scaling_section(study_of("scaling").scaling)
    assert section.title == "Scaling: EfficientNet B0–B7 against the compound-scaling law"
    for needle in ("97.83× the MACs of efficientnet_b0 (37,745,884,192 against 385,814,752)",
                   "official coefficients predict 88.97×", "2^φ 128×", "repeats rounded up ×1.119",
                   "channels rounded to multiples of 8 ×1.000", "The largest single effect is repeats rounded up "
                   "(×1.339 for efficientnet_b1)", "measured MACs of 8 of 8 models exactly"):
        assert needle in section.intro, needle
    assert list(section.frame["macs"])[-1] == 37_745_884_192
    (caption, growth), = section.tables
    assert "Growth of each part" in caption
    assert list(growth.columns) == ["model", "law_growth", "stem", "blocks", "se", "head", "classifier"]
    assert growth.set_index("model").loc["efficientnet_b7", "classifier"] == 2.0  # width only: 1280·2 → 1000
    ratio_axes, drift_axes = figure_of(section).axes
    measured = ratio_axes.get_lines()[0]
    assert list(measured.get_ydata()) == list(section.frame["measured_ratio"])
    assert ratio_axes.get_yscale() == "log" and len(drift_axes.get_lines()) == 5 + 1  # four effects, total, 1.0


def test_dwsep(study_of) -> None:
    section = dwsep_section(study_of("dwsep").dwsep)
    for needle in ("39 parameters against 108 (0.3611 = 1/4 + 1/9)", "88 of 88 pairs",
                   "need 4.07×, 7.84× and 8.76× the MACs"):
        assert needle in section.intro, needle
    assert list(section.frame["model"]) == ["mobilenet_v2", "efficientnet_b0", "efficientnet_b7"]
    assert list(section.frame["pairs"]) == [17, 16, 55]
    assert list(section.frame["standard_macs"]) == [1_224_972_288, 3_023_755_168, 330_581_873_024]
    (_, textbook), (_, pairs) = section.tables
    assert (textbook.iloc[0]["pair_params"], textbook.iloc[0]["standard_params"]) == (39, 108)
    assert len(pairs) == 88 and pairs["macs_ratio_is_theory"].all()
    panels = figure_of(section).axes
    assert [axes.get_title() for axes in panels] == ["mobilenet_v2 (17 pairs)", "efficientnet_b0 (16 pairs)",
                                                     "efficientnet_b7 (55 pairs)"]
    assert len(panels[2].get_lines()[1].get_xdata()) == 55  # one measured marker per pair


def test_se(study_of) -> None:
    section = se_section(study_of("se").se)
    for needle in ("se_resnet50 over resnet50: +2,530,992 parameters (+9.90%), 62.4% of them in the final stage "
                   "(stages.3)", "+2,514,944 MACs (+0.06%)", "3.86 → 3.87 GFLOPs", "+0.26%",
                   "The claim that 96% of SE's extra parameters sit in the final stage does not hold: 1,579,392 of "
                   "2,530,992, 62.4%", "efficientnet_b0 over efficientnet_b0 se=False: +636,540 parameters"):
        assert needle in section.intro, needle
    assert len(section.frame) == (4 + 1) + (7 + 1)
    whole = section.frame[section.frame["module"] == "(whole model)"]
    assert list(whole["extra_params"]) == [2_530_992, 636_540]
    resnet_axes, b0_axes = figure_of(section).axes
    assert [bar.get_height() for bar in resnet_axes.patches] == [25_392, 133_248, 792_960, 1_579_392]
    assert [text.get_text() for text in resnet_axes.texts] == ["1.0%", "5.3%", "31.3%", "62.4%"]
    assert len(b0_axes.patches) == 7


def test_swish(study_of) -> None:
    section = swish_section(study_of("swish").swish)
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


def timed(study: FusedStudy, seconds: dict[bool, float]) -> FusedStudy:
    """``study`` as if timed: three runs per variant, as built ``seconds[True]``, swapped ``seconds[False]``."""
    stages = tuple(replace(cost, latency_runs=(seconds[cost.as_built],) * 3) for cost in study.stages)
    return replace(study, stages=stages, runs=3, warmup=1, threads=2)


def test_fused_untimed_and_timed(study_of) -> None:
    untimed = fused_section(study_of("fused").fused)
    assert "Latency was not measured (0 runs)." in untimed.notes
    assert "latency" not in untimed.intro
    assert len(untimed.frame) == 12 and untimed.frame["latency_ms"].isna().all()
    assert list(untimed.frame["variant"][:2]) == ["as built", "swapped"]
    assert list(untimed.frame["input_size"][:3]) == ["192x192", "192x192", "192x192"]
    assert "fused stages (0, 1, 2) over their mbconv rebuild: MACs ×3.76–6.55" in untimed.intro
    assert figure_of(untimed).axes[2].get_title() == "Latency (not timed)"

    section = fused_section(timed(study_of("fused").fused, {True: 0.010, False: 0.020}))
    assert "latency ×0.50" in section.intro
    assert list(section.frame["latency_ms"][:2]) == [10.0, 20.0]
    note = section.notes[0]
    assert note.startswith("Latency: median of 3 timed forward passes after 1 warm-up pass, float32")
    assert "with 2 threads" in note and "convcost study fused --runs 20" in note
    latency_axes = figure_of(section).axes[2]
    assert [bar.get_height() for bar in latency_axes.patches] == [10.0] * 6 + [20.0] * 6


def test_plan(study_of) -> None:
    section = plan_section(study_of("plan").plans)
    assert section.title == "Training memory plan: efficientnet_b6 at 512 px"
    for needle in ("517,386,712 B (493.42 MiB) with sgd, 689,549,528 B (657.61 MiB) with adam",
                   "grow by 2,069,696,448 B (1.93 GiB) per image (linear in the batch)",
                   "Within 17,179,869,184 B (16.00 GiB) the largest batch is 8 with sgd, 7 with adam",
                   "batch 24 runs out of memory on a 16 GB V100: here batch 24 needs 50,190,101,464 B (46.74 GiB) "
                   "with sgd, 2.9× the budget, so it does not fit"):
        assert needle in section.intro, needle
    sgd = section.frame[section.frame["optimizer"] == "sgd"].set_index("batch")
    assert bool(sgd.loc[8, "fits"]) and not bool(sgd.loc[16, "fits"])
    (_, fixed), = section.tables
    assert list(fixed["max_batch"]) == [8, 7] and list(fixed["fixed_bytes"]) == [517_386_712, 689_549_528]
    assert len(section.notes) == 4  # the plan's caveats
    (axes,) = figure_of(section).axes
    assert 17_179_869_184 in [line.get_ydata()[0] for line in axes.get_lines()]  # the budget line
    assert {line.get_xdata()[0] for line in axes.get_lines() if "largest" in line.get_label()} == {7, 8}


def test_conventions_and_reconciliation(b0_analysis: Analysis) -> None:
    study = conventions_study(b0_analysis)
    section = conventions_section(study)
    assert section.title == "Conventions: why the tools disagree"
    for needle in ("convcost 802,325,916", "paper 385,814,752", "torchvision 385,814,752", "fvcore 401,659,392",
                   "flopcounter 771,629,504", "thop 415,145,024", "ptflops 410,196,896", "torchinfo 385,867,108",
                   "paper and torchvision count conv + linear multiply-adds only",
                   "flopcounter counts 2 per multiply-add and nothing else"):
        assert needle in section.intro, needle
    assert list(section.frame["total"]) == [802_325_916, 385_814_752, 385_814_752, 401_659_392, 771_629_504,
                                            415_145_024, 410_196_896, 385_867_108]
    (axes,) = figure_of(section).axes
    assert [text.get_text() for text in axes.texts][:2] == ["802.33M", "385.81M"]

    explained = reconciliation_section(study, "ptflops")
    assert explained.footer == {"op": "total", "convcost_flops": 802_325_916, "ptflops": 410_196_896,
                                "difference": 410_196_896 - 802_325_916}
    assert explained.frame["ptflops"].sum() == 410_196_896 and not explained.figures


def test_sections_in_report_order(study_of) -> None:
    results = StudyResults(se=study_of("se").se, plans=study_of("plan").plans, fused=study_of("fused").fused)
    titles = [section.title for section in study_sections(results)]
    assert titles == ["Squeeze-and-excitation: what it costs and where", "Fused-MBConv against MBConv, stage by stage",
                      "Training memory plan: efficientnet_b6 at 512 px"]

    def later() -> Section:
        raise AssertionError("not called here")

    sections = study_sections(results, fused=later)
    assert sections[1] is later
    with pytest.raises(ValueError, match="at least one plan"):
        plan_section([])
