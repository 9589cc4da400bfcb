"""Study sections in every output: text with a total row, JSON, HTML tables, and report files."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pandas as pd
import pytest
from matplotlib.figure import Figure

from convcost.reports.build import build_report, render_page
from convcost.reports.charts import ChartJob
from convcost.reports.display import display_frame, display_row
from convcost.reports.export import section_json
from convcost.reports.html import table_html
from convcost.reports.sections import Section, Table, key_columns_first
from convcost.reports.table import frame_text, section_text

FRAME = pd.DataFrame({"op": ["conv", "<add>"], "count": [1_234_567, 89], "saved_bytes_total": [0, 3 * 2**20],
                      "ratio": [0.123456, 2.0]})
FOOTER = {"op": "total", "count": 1_234_656}


def line_chart(values: list[int], title: str) -> Figure:
    figure = Figure()
    axes = figure.subplots()
    axes.plot(values)
    figure.suptitle(title)
    return figure


def section(**extra) -> Section:
    return Section("Study: <ops>", "What it shows.", FRAME, footer=FOOTER, notes=["A caveat."],
                   tables=[Table("Per op & more", pd.DataFrame({"op": ["conv"], "macs": [5_000_000]}))], **extra)


def test_display_units_by_key() -> None:
    shown, numeric = display_frame(FRAME)
    # no vocabulary key here: titles and units come from the field names' words
    assert list(shown.columns) == ["Op", "Count", "Saved bytes total", "Ratio (×)"]
    assert list(shown["Count"]) == ["1,234,567", "89"]  # exact, with separators
    assert list(shown["Ratio (×)"]) == ["0.123×", "2.00×"]  # three significant digits
    assert list(shown["Saved bytes total"]) == ["0", "3.00 MiB"]  # binary units
    assert numeric == [False, True, True, True]
    assert display_row(FRAME, FOOTER) == ["total", "1,234,656", "", ""]
    study = pd.DataFrame({"pair_macs": [1_450_000], "time_share": [0.6243], "prediction_error": [-0.1126],
                          "standard_latency_ms": [13.26], "gflops_per_s": [5.0943], "of_macs": [2.0796],
                          "fits": [True], "share_of_extra_params": [0.25]})
    shown, _ = display_frame(study)
    assert dict(zip(shown.columns, shown.iloc[0], strict=True)) == {
        "Pair MACs": "1.45M", "Time share (%)": "62.4%", "Prediction error (%)": "-11.3%",
        "Standard latency (ms)": "13.3", "GFLOP/s": "5.09", "× MACs": "2.08×", "Fits": "yes",
        "Share of extra params (%)": "25.0%"}
    # a terminal keeps counts outside the vocabulary exact
    exact, _ = display_frame(study, exact_counts=True)
    assert exact["Pair MACs"].tolist() == ["1,450,000"]


def test_section_text_has_title_total_row_notes_and_tables() -> None:
    text = section_text(section())
    lines = text.splitlines()
    assert lines[:3] == ["Study: <ops>", "============", "What it shows."]
    table = frame_text(FRAME, footer=FOOTER).splitlines()
    assert table[-1].split()[:2] == ["total", "1,234,656"] and set(table[-2]) == {"-", " "}
    assert "\n".join(table) in text
    assert "- A caveat." in lines
    assert lines[lines.index("Per op & more") + 1].split() == ["Op", "MACs"]  # titles: derived, vocabulary
    assert lines[-1].split() == ["conv", "5.00M"]


def test_section_json_keeps_raw_values() -> None:
    document = json.loads(json.dumps(section_json(section())))
    assert document["title"] == "Study: <ops>" and document["notes"] == ["A caveat."]
    assert document["rows"][0] == {"op": "conv", "count": 1_234_567, "saved_bytes_total": 0, "ratio": 0.123456}
    assert document["footer"] == {"op": "total", "count": 1_234_656}
    assert document["tables"] == [{"caption": "Per op & more", "rows": [{"op": "conv", "macs": 5_000_000}]}]


def test_table_html_footer_is_escaped_and_outside_the_body() -> None:
    html = table_html(FRAME, footer={"op": "<b>total</b>", "count": 7})
    body, foot = html.split("<tfoot>")
    assert "&lt;add&gt;" in body and "<th>&lt;b&gt;total&lt;/b&gt;</th><th class=\"n\">7</th>" in foot
    assert foot.endswith("</tr></tfoot></table>")


def test_page_of_sections_only() -> None:
    html = render_page([], title="convcost: study", sections=[section(figures=[ChartJob("x", line_chart,
                                                                                     ([1, 2], "Chart"))])])
    parser = HTMLParser()
    parser.feed(html)
    parser.close()
    assert 'id="models"' not in html and 'id="summary"' not in html  # no models, no model parts
    assert "What it shows." in html and "A caveat." in html and "Per op &amp; more" in html
    assert html.count("data:image/svg+xml;base64,") == 1
    assert "<tfoot>" in html


def test_report_files_of_sections(tmp_path) -> None:
    later = Section("Made later", "Drawn last.", pd.DataFrame({"x": [1]}),
                    figures=[ChartJob("y", line_chart, ([3, 1], "Later chart"))])
    first = section(figures=[ChartJob("x", line_chart, ([1, 2], "First chart")), line_chart([2, 2], "Built")])
    index = build_report([], tmp_path, sections=[first, later], jobs=2)
    for name in ("sections/study-ops.csv", "sections/study-ops-per-op-more.csv", "sections/made-later.csv",
                 "charts/study-ops-0.png", "charts/study-ops-1.svg", "charts/made-later-0.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert (tmp_path / "sections" / "study-ops.csv").read_text().splitlines() == [
        "op,count,saved_bytes_total,ratio", "conv,1234567,0,0.123456", "<add>,89,3145728,2.0"]  # no total row
    html = index.read_text()
    assert html.index("Study: &lt;ops&gt;") < html.index("Made later")
    assert 'href="sections/study-ops-per-op-more.csv"' in html and 'href="charts/made-later-0.png"' in html


@pytest.mark.parametrize("jobs", [1, 2])
def test_chart_jobs_are_drawn_once_under_the_section_name(jobs: int, tmp_path) -> None:
    build_report([], tmp_path, sections=[section(figures=[ChartJob("any", line_chart, ([1], "Only"))])], jobs=jobs)
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == ["study-ops-0.png", "study-ops-0.svg"]


def test_key_columns_come_first_and_must_exist() -> None:
    frame = pd.DataFrame({"model": ["a"], "params": [1], "macs_ratio": [0.5], "max_batch": [8]})
    assert list(key_columns_first(frame, ["max_batch", "macs_ratio"]).columns) == ["model", "max_batch", "macs_ratio",
                                                                                   "params"]
    with pytest.raises(ValueError, match="key columns budget_bytes are not in the table"):
        key_columns_first(frame, ["budget_bytes"])
