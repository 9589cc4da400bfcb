"""Charts: titled, labelled axes, published points overlaid, rendered as PNG (200 dpi) and SVG; and every chart
readable: a caption with units, legends off the data, point labels apart and inside their axes, nothing cut off."""

from __future__ import annotations

import importlib
import inspect
import itertools
import math
import pkgutil
import re
import struct
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

import convcost.studies
from convcost.analyzer import Analysis
from convcost.reports import chart_style, charts
from convcost.reports.columns import Column
from convcost.reports.frames import PUBLISHED_FIELDS, breakdown_frame, category_share, summary_frame
from convcost.studies.conventions import conventions_chart
from convcost.studies.dwsep import dwsep_chart
from convcost.studies.fused import fused_chart
from convcost.studies.latency import latency_chart, roofline_chart, time_share_chart
from convcost.studies.plan import plan_chart
from convcost.studies.scaling import scaling_chart
from convcost.studies.se import se_chart
from convcost.studies.swish import swish_chart
from convcost.studies.train_step import training_chart

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
    assert figure.get_suptitle() and figure.legends
    assert axes.get_xscale() == "log" and "MACs" in axes.get_xlabel() and "top-1" in axes.get_ylabel()
    (line,) = axes.get_lines()
    assert list(line.get_ydata()) == [77.1, 79.0]
    assert [t.get_text() for t in axes.texts] == ["b0", "b0_wide"]  # family prefix "efficientnet_" removed
    by_params = charts.accuracy_frontier(series, PUBLISHED, Column.PARAMS).axes[0]
    assert "parameters" in by_params.get_xlabel()
    (line,) = by_params.get_lines()
    assert sorted(line.get_xdata()) == sorted(series["params"]) and sorted(line.get_ydata()) == [77.1, 79.0]


def test_stage_bars_and_share(b0_analysis: Analysis) -> None:
    figure = charts.stage_bars(breakdown_frame(b0_analysis), "efficientnet_b0")
    _check_labelled(figure)
    macs_axes = figure.axes[0]
    assert sum(patch.get_height() for patch in macs_axes.patches) == b0_analysis.totals.macs
    share = charts.category_share_chart(category_share([b0_analysis]))
    assert share.axes[0].get_xlabel() == "share of conv+linear MACs (%)"
    assert share.legends


def test_render_gives_png_and_svg_with_the_title(b0_analysis: Analysis) -> None:
    chart = charts.render("x", charts.category_share_chart(category_share([b0_analysis])))
    assert chart.png.startswith(b"\x89PNG")
    assert b"<svg" in chart.svg and b"Where the MACs are" in chart.svg  # text stays text
    assert chart.title == "Where the MACs are: share by conv kind"
    assert "%" in chart.caption
    again = charts.render("x", charts.category_share_chart(category_share([b0_analysis])))
    assert again.svg == chart.svg  # stable output for the same data


def test_dollar_signs_are_not_mathtext(b0_analysis: Analysis) -> None:
    chart = charts.render("x", charts.stage_bars(breakdown_frame(b0_analysis), "cost $a$ and $b$"))
    assert b"cost $a$ and $b$" in chart.svg


# --- every chart, with data shaped like the report's ---------------------------------------------

#: Measured latency of the built-in zoo as one report found it (MACs, median ms, interquartile range ms,
#: predicted ms): neighbours such as mbv2_130/mbv2_140 and resnet50/se_resnet50 sit close together.
LATENCY = [
    ("efficientnet_b0", 385814752, 157.5, 100.6, 22.47), ("efficientnet_b1", 686802832, 386, 293.8, 35.76),
    ("efficientnet_b2", 993561872, 1153, 622, 44.1), ("efficientnet_b3", 1827141392, 944.6, 196.3, 70.67),
    ("efficientnet_b4", 4393771024, 1779, 1423, 143.6), ("efficientnet_b5", 10266384752, 2157, 2331, 293.1),
    ("efficientnet_b6", 19067593536, 5314, 2664, 506.1), ("efficientnet_b7", 37745884192, 6425, 2835, 924.6),
    ("efficientnet_v2_s", 8365617152, 1088, 1480, 207.2), ("efficientnet_v2_m", 24582460384, 3086, 2656, 546.8),
    ("efficientnet_v2_l", 56079699008, 3874, 4559, 1178), ("mobilenet_v2_035", 59285808, 191.3, 67.1, 9.451),
    ("mobilenet_v2_050", 97131840, 252.4, 211.6, 10.95), ("mobilenet_v2_075", 209069792, 198.2, 173.5, 15.21),
    ("mobilenet_v2", 300774272, 91.92, 195.9, 17.6), ("mobilenet_v2_130", 509374560, 317.2, 557.7, 23.52),
    ("mobilenet_v2_140", 582195824, 23.61, 1.944, 25.36), ("resnet50", 4089184256, 64.95, 0.2892, 90.42),
    ("se_resnet50", 4091699200, 73.18, 6.465, 95.46), ("senet18", 555509760, 13.64, 0.4095, 16.12),
    ("mobilenet_v2_x", 509374560, 320.0, 10.0, 23.52),  # on top of mobilenet_v2_130: labels must still part
]
ZOO = [row[0] for row in LATENCY[:-1]]
FOUR = ["mobilenet_v2", "efficientnet_b0", "efficientnet_v2_s", "resnet50"]
CLASSES = ["standard", "depthwise", "pointwise", "linear", "elementwise"]


def _latency_frame() -> pd.DataFrame:
    return pd.DataFrame(LATENCY, columns=["model", "macs", "latency_ms", "latency_iqr_ms", "predicted_ms"])


def _shares() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for model in FOUR:
        flops, time = rng.dirichlet(np.ones(len(CLASSES))), rng.dirichlet(np.ones(len(CLASSES)))
        rows += [{"model": model, "kernel_class": kind, "flops_share": f, "time_share": t}
                 for kind, f, t in zip(CLASSES, flops, time, strict=True)]
    return pd.DataFrame(rows)


def _roofline_points() -> pd.DataFrame:
    """Layers as the profiles find them: elementwise layers in two columns of intensity, the convs spread by kind."""
    rng = np.random.default_rng(1)
    spread = {"elementwise": (-0.9, -0.6), "depthwise": (-0.3, 0.4), "pointwise": (0.7, 1.7), "standard": (1, 2.3),
              "linear": (-0.3, -0.3)}
    rows = []
    for model, index in itertools.product(FOUR, range(270)):
        kind = ["elementwise", "elementwise", "pointwise", "depthwise", "standard", "linear"][index % 6]
        low, high = spread[kind]
        intensity = 10 ** (rng.choice([low, high]) if kind == "elementwise" else rng.uniform(low, high))
        rows.append({"model": model, "kernel_class": kind, "intensity": intensity,
                     "gflops_per_s": 10 ** rng.uniform(-3, 1) if kind == "elementwise" else 10 ** rng.uniform(0, 2.2)})
    return pd.DataFrame(rows)


def _conventions() -> tuple[pd.DataFrame, list[str], str]:
    tools = ["convcost", "paper", "torchvision", "fvcore", "flopcounter", "thop", "ptflops", "torchinfo"]
    ops = pd.DataFrame([
        ("conv", 770e6, 385e6, 385e6, 385e6, 770e6, 385e6, 385e6, 385e6),
        ("batch_norm", 13e6, 0, 0, 13e6, 0, 27e6, 13e6, 0),
        ("silu", 12e6, 0, 0, 0, 0, 0, 5e6, 0),
        ("linear", 2.6e6, 1.3e6, 1.3e6, 1.3e6, 2.6e6, 1.3e6, 1.3e6, 1.3e6),
        ("mean", 2e6, 0, 0, 2e6, 0, 1e6, 2e6, 0),
        ("mul", 1e6, 0, 0, 0, 0, 0, 0, 0),
        ("add", 1e6, 0, 0, 0, 0, 0, 0, 0),
        ("sigmoid", 0.5e6, 0, 0, 0, 0, 0, 0, 0),
    ], columns=["op", "convcost_flops", *tools[1:]])
    return ops, tools, "efficientnet_b0, input 1x3x224x224: each convention's total, split by operator"


def _plan() -> tuple[pd.DataFrame, str]:
    rows = [{"optimizer": optimizer, "batch": batch, "total_bytes": fixed + batch * 2.1e9, "fixed_bytes": fixed,
             "budget_bytes": 16 * 2**30, "max_batch": 8}
            for optimizer, fixed in (("sgd", 5.2e8), ("adam", 6.9e8)) for batch in (1, 2, 4, 8, 16, 24, 32, 64, 128)]
    return pd.DataFrame(rows), "efficientnet_b6 at 512 px: training memory by batch size"


def _fused() -> tuple[pd.DataFrame, str]:
    rows = []
    for stage, block in enumerate(["fused"] * 3 + ["mbconv"] * 3):
        for built in (True, False):
            rows.append({"stage": stage, "as_built": built, "block": block,
                         "macs": (stage + 1) * (3e8 if built else 7e8),
                         "arithmetic_intensity": 100.0 + 50 * stage * built, "latency_ms": 10.0 + stage * built})
    return pd.DataFrame(rows), "efficientnet_v2_s at 384 px: stages as built and with the block kind swapped"


def _dwsep() -> tuple[pd.DataFrame, pd.DataFrame]:
    models = {"mobilenet_v2": 17, "efficientnet_b0": 16, "efficientnet_b7": 55}
    pairs = pd.DataFrame([{"model": model, "macs_ratio": 0.05 + 0.1 * (i % 3), "theory_ratio": 0.05 + 0.1 * (i % 3)}
                          for model, count in models.items() for i in range(count)])
    networks = pd.DataFrame({"model": list(models), "macs_ratio": [0.246, 0.128, 0.114]})
    return pairs, networks


def _scaling() -> tuple[pd.DataFrame, float]:
    models = [f"efficientnet_b{i}" for i in range(8)]
    growth = [1.92**i for i in range(8)]
    frame = pd.DataFrame({"model": models, "measured_ratio": growth, "coefficient_prediction": growth,
                          "phi_prediction": [2.0**i for i in range(8)], "compound_prediction": growth,
                          "total_drift": [1 + 0.05 * i for i in range(8)]})
    for i, effect in enumerate(("structure", "channels", "repeats", "sizes")):
        frame[f"{effect}_effect"] = [1 + 0.01 * i * k for k in range(8)]
    return frame, 1.920


def _swish() -> tuple[pd.DataFrame, str]:
    variants = pd.DataFrame({"variant": ["swish", "memory_efficient_swish", "silu"],
                             "activation_saved_bytes": [1_576_426_496, 788_213_248, 788_213_248],
                             "training_bytes": [3_610_590_976, 2_822_377_728, 2_822_377_728]})
    return variants, "Saved for backward: efficientnet_b0 at 224 px, batch 32, float32"


def _se() -> pd.DataFrame:
    rows = [("se_resnet50", f"stages.{i}", extra, share) for i, (extra, share) in
            enumerate(zip([25_392, 133_248, 792_960, 1_579_392], [0.01, 0.053, 0.313, 0.624], strict=True))]
    rows += [("efficientnet_b0", f"stages.{i}", 1000 * 3**i, 0.1 * i) for i in range(7)]
    return pd.DataFrame(rows, columns=["se_model", "module", "extra_params", "share_of_extra_params"])


def _training() -> pd.DataFrame:
    macs = [row[1] for row in LATENCY[:-1]]
    return pd.DataFrame({"model": ZOO, "macs": macs, "grad_input_macs": [m * 0.97 for m in macs],
                         "grad_weight_macs": macs, "flopcounter_ratio": [1.0 + (i % 7) * 2.5 for i in range(20)]})


def _summary() -> pd.DataFrame:
    frame = _latency_frame()[["model", "macs"]].iloc[:-1]
    return frame.assign(resolution=224, params=frame["macs"] / 50, activation_bytes=frame["macs"] / 4,
                        training_bytes=frame["macs"] / 4)


def _published() -> pd.DataFrame:
    families = {"efficientnet_v2": "efficientnet_v2", "efficientnet": "efficientnet", "mobilenet_v2": "mobilenet_v2",
                "resnet": "resnet", "se_resnet": "se_resnet", "senet": "senet"}
    rows = []
    for index, model in enumerate(ZOO):
        family = next(family for prefix, family in families.items() if model.startswith(prefix))
        rows.append((model, family, "paper", 224, None, None, 70 + (index * 7) % 16 + 0.1 * index, ""))
    rows[16] = (*rows[16][:6], rows[15][6] + 0.2, "")  # mobilenet_v2_140 just above mobilenet_v2_130
    return pd.DataFrame(rows, columns=list(PUBLISHED_FIELDS))


#: Every chart function with data shaped like the report's: name → figure.
CHARTS: dict[str, Callable[[Analysis], Figure]] = {
    "scaling_curves_index": lambda b0: charts.scaling_curves(_summary().iloc[:8], _published(), "index"),
    "scaling_curves_resolution": lambda b0: charts.scaling_curves(
        _summary().iloc[:8].assign(resolution=[224, 240, 260, 300, 380, 456, 528, 600]), _published(), "resolution"),
    "accuracy_frontier": lambda b0: charts.accuracy_frontier(_summary(), _published()),
    "accuracy_frontier_params": lambda b0: charts.accuracy_frontier(_summary(), _published(), Column.PARAMS),
    "stage_bars": lambda b0: charts.stage_bars(breakdown_frame(b0), b0.model),
    "category_share_chart": lambda b0: charts.category_share_chart(category_share([b0, b0])),
    "time_share_chart": lambda b0: time_share_chart(_shares()),
    "roofline_chart": lambda b0: roofline_chart(_roofline_points(), 73.0, 14.0),
    "latency_chart": lambda b0: latency_chart(_latency_frame()),
    "conventions_chart": lambda b0: conventions_chart(*_conventions()),
    "plan_chart": lambda b0: plan_chart(*_plan()),
    "fused_chart": lambda b0: fused_chart(*_fused()),
    "dwsep_chart": lambda b0: dwsep_chart(*_dwsep()),
    "scaling_chart": lambda b0: scaling_chart(*_scaling()),
    "swish_chart": lambda b0: swish_chart(*_swish()),
    "se_chart": lambda b0: se_chart(_se()),
    "training_chart": lambda b0: training_chart(_training()),
}
#: Words a caption names its units with.
UNITS = ("count", "%", "bytes", "ms", "GFLOP/s", "FLOPs per byte", "×", "ratio")


def _png_dpi(png: bytes) -> tuple[float, float]:
    """The resolution a PNG declares in its pHYs chunk, dots per inch."""
    position = 8
    while position < len(png):
        (length,), kind = struct.unpack(">I", png[position:position + 4]), png[position + 4:position + 8]
        if kind == b"pHYs":
            x, y, unit = struct.unpack(">IIB", png[position + 8:position + 17])
            assert unit == 1  # per metre
            return x * 0.0254, y * 0.0254
        position += 12 + length
    raise AssertionError("no pHYs chunk")


def _area(a: Bbox, b: Bbox) -> float:
    """Overlap of two boxes in display pixels (0 when they only touch)."""
    width, height = min(a.x1, b.x1) - max(a.x0, b.x0), min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def _inside(inner: Bbox, outer: Bbox, slack: float = 1.0) -> bool:
    return (inner.x0 >= outer.x0 - slack and inner.y0 >= outer.y0 - slack and inner.x1 <= outer.x1 + slack
            and inner.y1 <= outer.y1 + slack)


def assert_readable(figure: Figure) -> None:
    """After the layout: legends clear of every axes and of the title, labels apart and inside their axes,
    nothing cut off at the figure's edge."""
    chart_style.finalize(figure)
    renderer = figure.canvas.get_renderer()
    frame = figure.bbox
    legends = [*figure.legends, *(axes.get_legend() for axes in figure.axes if axes.get_legend() is not None)]
    title = next((text for text in figure.texts if text.get_text() == figure.get_suptitle()), None)
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert _inside(box, frame), "legend outside the figure"
        for axes in figure.axes:
            assert _area(box, axes.get_window_extent(renderer)) == 0, f"legend covers the data of {axes.get_title()!r}"
        assert title is None or _area(box, title.get_window_extent(renderer)) == 0, "legend crowds the title"
    texts: list[tuple[Text, Bbox]] = []
    for axes in figure.axes:
        area = axes.get_window_extent(renderer)
        for text in axes.texts:
            if not text.get_visible() or not text.get_text():
                continue
            box = text.get_window_extent(renderer)
            assert _inside(box, frame), f"label {text.get_text()!r} outside the figure"
            if isinstance(text, Annotation) or text.get_transform() == axes.transAxes:
                assert _inside(box, area), f"label {text.get_text()!r} outside its axes {axes.get_title()!r}"
            texts.append((text, box))
    for (first, a), (second, b) in itertools.combinations(texts, 2):
        assert _area(a, b) == 0, f"labels {first.get_text()!r} and {second.get_text()!r} overlap"
    tight = figure.get_tightbbox(renderer)
    assert tight is not None
    inches = Bbox.from_bounds(0, 0, *figure.get_size_inches())
    assert _inside(tight, inches, slack=0.02), f"something sits over the figure's edge: {tight} in {inches}"


@pytest.mark.parametrize("name", list(CHARTS))
def test_every_chart_is_readable(name: str, b0_analysis: Analysis) -> None:
    figure = CHARTS[name](b0_analysis)
    chart = charts.render(name, figure)
    dpi = _png_dpi(chart.png)
    assert dpi == pytest.approx((chart_style.DPI, chart_style.DPI), abs=0.05)
    width, height = struct.unpack(">II", chart.png[16:24])  # IHDR: the size at that resolution
    assert (width, height) == tuple(round(inches * chart_style.DPI) for inches in figure.get_size_inches())
    assert chart.caption and any(unit in chart.caption for unit in UNITS), chart.caption
    assert chart.caption == chart_style.caption_of(figure) and chart.title == figure.get_suptitle()
    assert b"<svg" in chart.svg
    assert_readable(figure)


def test_the_readability_check_fails_a_legend_on_the_data() -> None:
    with chart_style.chart_style():
        figure = chart_style.new_figure()
        axes = figure.subplots()
        axes.plot([1, 2, 3], [1, 2, 3], label="data")
        axes.legend(loc="upper left")
    with pytest.raises(AssertionError, match="legend covers the data"):
        assert_readable(figure)


def test_the_readability_check_fails_labels_on_each_other() -> None:
    with chart_style.chart_style():
        figure = chart_style.new_figure()
        axes = figure.subplots()
        axes.plot([1, 2], [1, 2], "o")
        for _ in range(2):
            axes.annotate("mobilenet_v2_130", (1.5, 1.5), xytext=(4, 4), textcoords="offset points")
    with pytest.raises(AssertionError, match="overlap"):
        assert_readable(figure)


def test_labels_on_the_same_point_are_nudged_apart() -> None:
    with chart_style.chart_style():
        figure = chart_style.new_figure()
        axes = figure.subplots()
        xs, ys = [1.0, 1.0, 1.0, 2.0, 3.0], [5.0, 5.0, 5.01, 1.0, 9.0]  # three on one spot, two in corners
        axes.plot(xs, ys, "o")
        chart_style.label_points(axes, xs, ys, ["first label", "second label", "third", "corner", "top right corner"])
    assert_readable(figure)


def test_model_labels_are_the_short_ones_everywhere(b0_analysis: Analysis) -> None:
    accuracy = CHARTS["accuracy_frontier"](b0_analysis).axes[0]
    latency = CHARTS["latency_chart"](b0_analysis).axes[0]
    labels = {text.get_text() for axes in (accuracy, latency) for text in axes.texts}
    assert {"mbv2", "mbv2_140", "b0", "v2_s", "resnet50"} <= labels
    assert not labels & {"mobilenet_v2", "140", "efficientnet_b0"}  # no full names beside short ones
    share = CHARTS["category_share_chart"](b0_analysis).axes[0]
    assert [label.get_text() for label in share.get_yticklabels()] == ["b0"]


def test_the_roofline_rasterizes_its_points_and_keeps_text() -> None:
    points = _roofline_points()
    figure = roofline_chart(points, 73.0, 14.0)
    collections = [collection for axes in figure.axes for collection in axes.collections]
    assert collections and all(collection.get_rasterized() for collection in collections)
    svg = charts.render("roofline", figure).svg
    assert svg.count(b"<image") == len(FOUR)  # one raster of points per panel
    assert b"achieved GFLOP/s" in svg and b"<use" in svg  # axes and text stay vector
    assert svg.count(b"<use") < len(points) / 4  # the points are not vector marks (ticks are)
    assert len(svg) < 160_000
    for collection in collections:
        collection.set_rasterized(False)
    vector = charts.render("roofline", figure).svg
    assert b"<image" not in vector and vector.count(b"<use") > len(points)


def _chart_functions() -> list[Callable[..., Figure]]:
    """Every function of the report's chart module and of the studies that returns a figure."""
    modules = [charts] + [importlib.import_module(f"convcost.studies.{info.name}")
                          for info in pkgutil.iter_modules(convcost.studies.__path__)]
    return [function for module in modules for function in vars(module).values()
            if inspect.isfunction(function) and function.__module__ == module.__name__
            and function.__annotations__.get("return") in ("Figure", Figure)]


def test_every_chart_is_tested_and_uses_the_shared_style() -> None:
    functions = _chart_functions()
    names = {re.sub(r"_(index|resolution|params)$", "", name) for name in CHARTS}  # variants of one function
    assert {function.__name__ for function in functions} == names
    for function in functions:
        source = inspect.getsource(function)
        assert "new_figure(" in source and "set_caption(" in source, function.__name__
        assert "legend_outside(" in source, function.__name__
        for own in ("Figure(", "rc_context", "dpi", ".legend(", "gridspec_kw", "fontsize=7", "fontsize=8"):
            assert own not in source, f"{function.__name__} sets its own {own}"
        assert not re.search(r"\.annotate\(.*\bmodel", source), f"{function.__name__} labels models by itself"


def test_captions_name_the_short_labels() -> None:
    assert charts.model_key(["efficientnet_b3", "mobilenet_v2_140", "resnet50"]) == (
        "models labelled b3 for efficientnet_b3, mbv2_140 for mobilenet_v2_140")
    assert charts.model_key(["resnet50"]) == "models labelled by name"
    assert math.isclose(chart_style.DPI, 200)
