"""Terminal tables: the golden B0 table, inclusive numbers at a cut depth, comparisons."""

from convcost.analyzer import Analysis
from convcost.reports.columns import Column
from convcost.reports.frames import stage_comparison, summary_frame
from convcost.reports.table import align, analysis_text, frame_text, summary_text, tree_table
from convcost.reports.units import human_count


def test_b0_table_matches_golden(b0_analysis: Analysis, golden) -> None:
    golden("efficientnet_b0_224.txt", analysis_text(b0_analysis, depth=3))


def test_cut_rows_show_their_whole_subtree(b0_analysis: Analysis) -> None:
    lines = tree_table(b0_analysis, depth=1, own=True).splitlines()  # own costs, as before
    stages = next(line for line in lines if line.startswith("├─ stages (Sequential)"))
    assert human_count(b0_analysis.total("stages", "macs")) in stages  # 353.63M, not the container's own 0
    assert not any(line.startswith("│") for line in lines)  # nothing below depth 1
    assert lines[-1].startswith("Total") and "385.81M" in lines[-1]


def test_parent_rows_show_their_subtree_and_share(b0_analysis: Analysis) -> None:
    lines = tree_table(b0_analysis, depth=2).splitlines()
    stem = next(line for line in lines if line.startswith("├─ stem (ConvNormAct)"))
    assert "10.84M" in stem and "23.28M" in stem  # its conv's MACs; conv, batch norm and SiLU FLOPs
    assert stem.endswith("2.8%") and "928" in stem  # the stem's conv and batch norm: 864 + 64 parameters
    root = lines[2]
    assert root.startswith("efficientnet_b0 (StagedConvNet)") and "385.81M" in root and root.endswith("100.0%")
    assert next(line for line in lines if "└─ fc (Linear)" in line).endswith("0.3%")  # 1,280,000 of 385.8M
    assert not any(line.startswith("Total") for line in lines)  # the root row is the total


def test_full_depth_shows_every_module(b0_analysis: Analysis) -> None:
    lines = tree_table(b0_analysis, depth=None, own=True).splitlines()
    assert len(lines) == len(b0_analysis.layers) + 4  # header, rule, rows, rule, total
    assert len(tree_table(b0_analysis, depth=None).splitlines()) == len(b0_analysis.layers) + 2


def test_align_pads_columns() -> None:
    assert align(["a", "n"], [["xyz", "1"], ["b", "100"]], [False, True]) == (
        "a      n\n---  ---\nxyz    1\nb    100")


def test_comparison_tables(b0_analysis: Analysis) -> None:
    text = summary_text(summary_frame([b0_analysis]))
    assert text.splitlines()[0].split() == ["Model", "Input", "Params", "MACs", "FLOPs", "Activations", "Training",
                                            "Inference", "peak"]
    assert "385.81M" in text
    stages = frame_text(stage_comparison([b0_analysis], Column.MACS), Column.MACS)
    assert stages.splitlines()[2].split() == ["stem", "10.84M"]
