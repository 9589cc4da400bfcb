"""Charts: titled, labelled axes, legends, published points overlaid; rendered as PNG and SVG."""

import pandas as pd
import pytest

from convcost.analyzer import Analysis
from convcost.reports import charts
from convcost.reports.frames import PUBLISHED_FIELDS, breakdown_frame, category_share, summary_frame

PUBLISHED = pd.DataFrame([
    ("efficientnet_b0", "efficientnet", "paper Table 2", 224, 5.3e6, 0.39e9, 77.1, ""),
    ("efficientnet_b0", "efficientnet", "torchvision weights metadata", 224, 5288548, 0.386e9, None, ""),
    ("b0_wide", "efficientnet", "paper Table 2", 256, 9e6, 0.9e9, 79.0, ""),
], columns=list(PUBLISHED_FIELDS))


@pytest.fixture(scope="module")
def series(b0_analysis: Analysis) -> pd.DataFrame:
    summary = summary_frame([b0_analysis])
    wide = summary.assign(model="b0_wide", resolution=256, params=summary["params"] * 2, macs=summary["macs"] * 2)
    return pd.concat([summary, wide], ignore_index=True)


def _check_labelled(figure) -> None:
    assert figure.get_suptitle()
    for axes in figure.axes:
        assert axes.get_xlabel() and axes.get_ylabel() and axes.get_title()
    assert any(axes.get_legend() for axes in figure.axes) or figure.legends


@pytest.mark.parametrize("x", ["index", "resolution"])
def test_scaling_curves_overlay_paper_points(series: pd.DataFrame, x: str) -> None:
    figure = charts.scaling_curves(series, PUBLISHED, x)
    _check_labelled(figure)
    params_axes = figure.axes[0]
    assert params_axes.get_yscale() == "log"
    (paper,) = params_axes.collections  # one scatter: the two paper points, not torchvision's
    assert len(paper.get_offsets()) == 2
    assert [len(axes.collections) for axes in figure.axes] == [1, 1, 0, 0]  # no published memory figures


def test_accuracy_frontier_plots_models_with_a_top1(series: pd.DataFrame) -> None:
    figure = charts.accuracy_frontier(series, PUBLISHED)
    axes = figure.axes[0]
    assert figure.get_suptitle() and axes.get_legend() is not None
    assert axes.get_xscale() == "log" and "MACs" in axes.get_xlabel() and "top-1" in axes.get_ylabel()
    (line,) = axes.get_lines()
    assert list(line.get_ydata()) == [77.1, 79.0]
    assert [t.get_text() for t in axes.texts] == ["b0", "b0_wide"]  # family prefix "efficientnet_" removed


def test_stage_bars_and_share(b0_analysis: Analysis) -> None:
    figure = charts.stage_bars(breakdown_frame(b0_analysis), "efficientnet_b0")
    _check_labelled(figure)
    macs_axes = figure.axes[0]
    assert sum(patch.get_height() for patch in macs_axes.patches) == b0_analysis.totals.macs
    share = charts.category_share_chart(category_share([b0_analysis]))
    assert share.axes[0].get_xlabel() == "share of conv+linear MACs (%)"
    assert share.axes[0].get_legend() is not None


def test_render_gives_png_and_svg_with_the_title(b0_analysis: Analysis) -> None:
    chart = charts.render("x", charts.category_share_chart(category_share([b0_analysis])))
    assert chart.png.startswith(b"\x89PNG")
    assert b"<svg" in chart.svg and b"Where the MACs are" in chart.svg  # text stays text
    assert chart.title == "Where the MACs are: share by conv kind"
    again = charts.render("x", charts.category_share_chart(category_share([b0_analysis])))
    assert again.svg == chart.svg  # stable output for the same data


def test_dollar_signs_are_not_mathtext(b0_analysis: Analysis) -> None:
    chart = charts.render("x", charts.stage_bars(breakdown_frame(b0_analysis), "cost $a$ and $b$"))
    assert b"cost $a$ and $b$" in chart.svg
