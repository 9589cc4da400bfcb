"""Terminal tables: the golden B0 table, inclusive numbers at a cut depth, comparisons."""

from convcost.analyzer import Analysis
from convcost.reports.columns import Column
from convcost.reports.frames import stage_comparison, summary_frame
from convcost.reports.table import align, analysis_text, frame_text, summary_text, tree_table
from convcost.reports.units import human_count


def test_b0_table_matches_golden(b0_analysis: Analysis, golden) -> None:
    golden("efficientnet_b0_224.txt", analysis_text(b0_analysis, depth=3))


def test_cut_rows_show_their_whole_subtree(b0_analysis: Analysis) -> None:
    lines = tree_table(b0_analysis, depth=1).splitlines()
    stages = next(line for line in lines if line.startswith("  stages (Sequential)"))
    assert human_count(b0_analysis.total("stages", "macs")) in stages  # 353.63M, not the container's own 0
    assert not any(line.startswith("    ") for line in lines)  # nothing below depth 1
    assert lines[-1].startswith("Total") and "385.81M" in lines[-1]


def test_full_depth_shows_every_module(b0_analysis: Analysis) -> None:
    lines = tree_table(b0_analysis, depth=None).splitlines()
    assert len(lines) == len(b0_analysis.layers) + 4  # header, rule, rows, rule, total


def test_align_pads_columns() -> None:
    assert align(["a", "n"], [["xyz", "1"], ["b", "100"]], [False, True]) == (
        "a      n\n---  ---\nxyz    1\nb    100")


def test_comparison_tables(b0_analysis: Analysis) -> None:
    text = summary_text(summary_frame([b0_analysis]))
    assert text.splitlines()[0].split() == ["Model", "Input", "Params", "MACs", "FLOPs", "Activations", "Training",
                                            "Peak"]
    assert "385.81M" in text
    stages = frame_text(stage_comparison([b0_analysis], Column.MACS), Column.MACS)
    assert stages.splitlines()[2].split() == ["stem", "10.84M"]
