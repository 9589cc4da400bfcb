"""Charts as matplotlib figures built from plain data (frames from :mod:`convcost.reports.frames`).

Figures are made with :class:`matplotlib.figure.Figure` (no pyplot, no global backend) and
rendered to PNG and SVG bytes by :func:`render`. Text is never parsed as mathtext, so a
``$`` in a model name stays a ``$``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from .chart_style import (
    DPI,
    PALETTE,
    caption_of,
    chart_style,
    finalize,
    label_points,
    legend_outside,
    new_figure,
    set_caption,
)
from .columns import Column
from .frames import CATEGORIES
from .units import Unit, human_bytes, human_count, human_ms

CATEGORY_COLORS = dict(zip(CATEGORIES, PALETTE, strict=False))
_TITLES = {Column.PARAMS: "Parameters", Column.MACS: "MACs (conv + linear)",
           Column.ACTIVATION_BYTES: "Activation memory (all forward outputs)",
           Column.TRAINING_BYTES: "Training memory (saved for backward)"}
_SCALING_METRICS = tuple(_TITLES)


@dataclass(frozen=True)
class RenderedChart:
    """A chart rendered for files and for embedding: ``name`` is its file stem; ``caption`` says what is
    plotted on each axis and in which unit (shown under the chart)."""

    name: str
    title: str
    png: bytes
    svg: bytes
    caption: str = ""


@dataclass(frozen=True)
class ChartJob:
    """A chart to draw: ``build(*args)`` makes the figure, rendered under ``name``.

    Jobs hold a module-level function and plain data, so they can run in a worker process.
    """

    name: str
    build: Callable[..., Figure]
    args: tuple[Any, ...]

    def run(self) -> RenderedChart:
        """Build and render the figure."""
        return render(self.name, self.build(*self.args))


def render(name: str, figure: Figure) -> RenderedChart:
    """PNG (at :data:`~convcost.reports.chart_style.DPI`) and SVG bytes of ``figure``, its point labels placed;
    its title is the figure's suptitle, its caption the one :func:`~convcost.reports.chart_style.set_caption`
    gave it."""
    with chart_style():
        finalize(figure)
        outputs = {}
        for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
            buffer = io.BytesIO()
            figure.savefig(buffer, format=fmt, dpi=DPI, metadata=metadata)
            outputs[fmt] = buffer.getvalue()
    title = figure.get_suptitle() or name
    return RenderedChart(name, title, outputs["png"], outputs["svg"], caption_of(figure))


def _unit_formatter(unit: Unit) -> Callable[[float, int], str]:
    if unit is Unit.MS:  # ticks are round numbers: no trailing zeros (10, 20, 50, 100), never an exponent
        return lambda value, _position: format(float(human_ms(value)), ",.10g") if value >= 1e-4 else human_ms(value)
    text = human_bytes if unit is Unit.BYTES else human_count
    return lambda value, _position: text(value, compact=True)


class BinaryLocator(MaxNLocator):
    """Linear ticks at round numbers of the binary unit that fits the range (0, 512 MiB, 1 GiB, …)."""

    def tick_values(self, vmin: float, vmax: float) -> Any:
        """Ticks between ``vmin`` and ``vmax`` (bytes)."""
        scale = 1.0
        while max(abs(vmin), abs(vmax)) / scale >= 1024:
            scale *= 1024
        return [tick * scale for tick in super().tick_values(vmin / scale, vmax / scale)]


class DecadeLocator(LogLocator):
    """Log ticks at 1, 2 and 5 per decade over a few decades, at 1 per decade over a wide range (so the labels
    never crowd)."""

    def __init__(self) -> None:
        super().__init__(subs=(1.0, 2.0, 5.0))

    def tick_values(self, vmin: float, vmax: float) -> Any:
        """Ticks between ``vmin`` and ``vmax``."""
        low, high = sorted((vmin, vmax))
        wide = low > 0 and math.log10(high / low) > 4
        self.set_params(subs=(1.0,) if wide else (1.0, 2.0, 5.0))
        return super().tick_values(vmin, vmax)


def axis_units(axes: Axes, axis: Literal["x", "y"], unit: Unit, log: bool) -> None:
    """Human-unit tick labels on ``axis``; a log axis ticks at 1, 2 and 5 per decade (1 per decade over more
    than four; bytes: powers of 2), a linear bytes axis at round numbers of a binary unit."""
    target = axes.xaxis if axis == "x" else axes.yaxis
    if log:
        (axes.set_xscale if axis == "x" else axes.set_yscale)("log")
        locator = LogLocator(base=2) if unit is Unit.BYTES else DecadeLocator()
        target.set_major_locator(locator)
        target.set_minor_formatter(NullFormatter())
    elif unit is Unit.BYTES:
        target.set_major_locator(BinaryLocator(steps=[1, 2, 2.5, 5, 10]))
    target.set_major_formatter(FuncFormatter(_unit_formatter(unit)))


def axis_label(column: Column, dtype: str = "float32") -> str:
    """An axis label naming what ``column`` counts and its unit."""
    if column.unit is Unit.BYTES:
        return f"bytes ({dtype})"
    return {Column.PARAMS: "parameters (count)", Column.MACS: "conv+linear MACs (count)"}.get(column, column.title)


def _paper_points(published: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """Published figures from papers (source starting with "paper") for ``models``."""
    if published.empty:
        return published
    rows = published[published["model"].isin(models) & published["source"].str.lower().str.startswith("paper")]
    return rows.drop_duplicates("model")


def scaling_curves(summary: pd.DataFrame, published: pd.DataFrame, x: Literal["index", "resolution"],
                   dtype: str = "float32") -> Figure:
    """Params, MACs, activation and training memory of a model series (such as B0–B7), log scale.

    Args:
        summary: :func:`convcost.reports.frames.summary_frame` rows of the series, in series order.
        published: published figures (:data:`convcost.reports.frames.PUBLISHED_FIELDS`); paper points are overlaid.
        x: ``index`` (position in the series) or ``resolution`` (input pixels, log scale).
    """
    models = list(summary[Column.MODEL.key])
    labels = [short_model(m) for m in models]
    position = {model: i for i, model in enumerate(models)}
    paper = _paper_points(published, models)
    with chart_style():
        figure = new_figure(7.6)
        axes_grid = figure.subplots(2, 2)
        for axes, metric in zip(axes_grid.flat, _SCALING_METRICS, strict=True):
            xs = range(len(models)) if x == "index" else summary[Column.RESOLUTION.key]
            axes.plot(xs, summary[metric.key], marker="o", label="measured (native resolution)")
            if metric.key in paper and paper[metric.key].notna().any():
                points = paper[paper[metric.key].notna()]
                px = [position[m] for m in points["model"]] if x == "index" else points["resolution"]
                axes.scatter(px, points[metric.key], marker="x", s=50, color="black", zorder=3,
                             label="published (paper)")
            axis_units(axes, "y", metric.unit, log=True)
            if x == "index":
                axes.set_xticks(range(len(models)), labels)
                axes.set_xlabel("model (series order)")
            else:
                axes.set_xscale("log")
                axes.set_xticks(list(xs), [str(r) for r in xs], rotation=45)
                axes.xaxis.set_minor_formatter(NullFormatter())
                axes.set_xlabel("input resolution (pixels per side, log scale)")
            axes.set_ylabel(axis_label(metric, dtype) + ", log scale")
            axes.set_title(_TITLES[metric])
        legend_outside(figure)
        against = "model index" if x == "index" else "input resolution"
        figure.suptitle(f"Cost against {against}: {', '.join(labels)}")
        set_caption(figure, (
            f"Per model of the series ({model_key(models)}), against "
            + ("its place in the series" if x == "index" else "its input resolution (pixels per side, log scale)")
            + f": parameters (count), conv + linear MACs (multiply-accumulates, count), activation memory "
            f"(bytes of all forward outputs, {dtype}) and training memory (bytes saved for backward, {dtype}), "
            "each on a log scale; measured at each model's native resolution, published paper values as crosses."))
    return figure


#: What the accuracy charts put on x: the axis label, how the caption says it, and the title's word for it.
_ACCURACY_X = {
    Column.MACS: ("conv+linear MACs at native resolution (measured, count, log scale)",
                  "conv + linear MACs (multiply-accumulates at each model's native resolution, measured, count, "
                  "log scale)", "measured MACs"),
    Column.PARAMS: ("parameters (counted, log scale)", "parameters (counted, elements, log scale)", "parameters"),
}


def accuracy_frontier(summary: pd.DataFrame, published: pd.DataFrame, column: Column = Column.MACS) -> Figure:
    """Published ImageNet top-1 against ``column`` (measured MACs or counted params), one line per family, for
    every model with a published top-1 (the first such figure of each).

    Points are labelled with the model's short chart label (:func:`short_model`: ``efficientnet_b3`` → ``b3``).
    """
    axis_label, caption_x, x_title = _ACCURACY_X[column]
    top1 = published[published["top1"].notna()].drop_duplicates("model")[["model", "family", "top1"]]
    points = summary[[Column.MODEL.key, column.key]].merge(top1, on="model").sort_values(column.key)
    with chart_style():
        figure = new_figure(5.6)
        axes = figure.subplots()
        families = list(dict.fromkeys(top1["family"]))  # in the published figures' order: one colour per family
        for family, group in points.groupby("family", sort=False):
            axes.plot(group[column.key], group["top1"], marker="o", label=str(family),
                      color=PALETTE[families.index(family) % len(PALETTE)])
        label_points(axes, points[column.key], points["top1"], [short_model(m) for m in points["model"]])
        axis_units(axes, "x", Unit.COUNT, log=True)
        axes.margins(x=0.08, y=0.08)
        axes.set_xlabel(axis_label)
        axes.set_ylabel("ImageNet top-1 accuracy (%, published)")
        legend_outside(figure, title="family")
        figure.suptitle(f"Accuracy against cost: published top-1 vs {x_title}")
        set_caption(figure, (
            f"x: {caption_x}; y: ImageNet top-1 accuracy (%, as published); one line per family, each point "
            f"labelled with its model ({model_key(points['model'])}); every model with a published top-1 "
            f"({len(points)})."))
    return figure


def stage_bars(breakdown: pd.DataFrame, model: str) -> Figure:
    """MACs and params per stage, stacked by cost category (a :func:`convcost.reports.frames.breakdown_frame`)."""
    with chart_style():
        figure = new_figure()
        axes_pair = figure.subplots(1, 2)
        for axes, metric in zip(axes_pair, (Column.MACS, Column.PARAMS), strict=True):
            table = breakdown.pivot_table(index="stage", columns="category", values=metric.key, aggfunc="sum",
                                          observed=True, sort=True).fillna(0)
            table = table.loc[:, table.sum() > 0]
            bottom = pd.Series(0.0, index=table.index)
            for category in table.columns:
                axes.bar(range(len(table)), table[category], bottom=bottom, label=str(category),
                         color=CATEGORY_COLORS[str(category)])
                bottom += table[category]
            axes.set_xticks(range(len(table)), [str(s) for s in table.index], rotation=45, ha="right")
            axes.set_xlabel("part of the network, as the model declares it")
            axes.set_ylabel(axis_label(metric))
            axes.set_title(f"{metric.title} per stage")
            axis_units(axes, "y", metric.unit, log=False)
        handles, labels = _handles_in_order(axes_pair, [str(c) for c in CATEGORIES])
        legend_outside(figure, handles, labels, title="conv kind")
        figure.suptitle(f"{model}: MACs and parameters per stage, by conv kind")
        set_caption(figure, (
            f"Per stage of {model} (x, the parts as the model declares them): conv + linear MACs (left, "
            "multiply-accumulates, count) and parameters (right, count), each bar stacked by conv kind."))
    return figure


def category_share_chart(share: pd.DataFrame) -> Figure:
    """Each model's MACs split by conv kind, as 100% stacked bars (a :func:`convcost.reports.frames.category_share`)."""
    with chart_style():
        figure = new_figure(1.9 + 0.3 * len(share))
        axes = figure.subplots()
        left = pd.Series(0.0, index=share.index)
        rows = range(len(share))
        for category in share.columns:
            axes.barh(rows, share[category] * 100, left=left, label=str(category),
                      color=CATEGORY_COLORS[str(category)])
            left += share[category] * 100
        axes.set_yticks(rows, [short_model(str(m)) for m in share.index])
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.set_xlabel("share of conv+linear MACs (%)")
        axes.set_ylabel("model")
        legend_outside(figure, title="conv kind")
        figure.suptitle("Where the MACs are: share by conv kind")
        set_caption(figure, (
            "Per model (y): the share of its conv + linear MACs (x, %, of the model's total) in each conv kind; a "
            f"model's bar adds up to 100% ({model_key(share.index)})."))
    return figure


def _handles_in_order(axes_list: Any, order: Sequence[str]) -> tuple[list[Any], list[str]]:
    """Legend entries of every axes, each label once, in ``order``."""
    entries: dict[str, Any] = {}
    for axes in axes_list:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    labels = sorted(entries, key=lambda label: order.index(label) if label in order else len(order))
    return [entries[label] for label in labels], labels


#: Family prefixes a chart label drops or shortens (``efficientnet_b3`` → ``b3``).
_SHORT_PREFIXES = (("efficientnet_", ""), ("mobilenet_v2", "mbv2"))


def model_key(models: Iterable[str]) -> str:
    """How the chart labels of ``models`` read, for a caption, one example per shortening that applies:
    "models labelled b3 for efficientnet_b3, mbv2_140 for mobilenet_v2_140"; "models labelled by name" when
    no label is shortened."""
    examples: dict[str, str] = {}
    for model in map(str, models):
        for prefix, _ in _SHORT_PREFIXES:
            if model.startswith(prefix) and short_model(model) != model:
                examples.setdefault(prefix, f"{short_model(model)} for {model}")
    return "models labelled " + (", ".join(examples.values()) if examples else "by name")


def short_model(model: str) -> str:
    """A model's chart label, unique within the zoo: ``efficientnet_b3`` → ``b3``, ``efficientnet_v2_s`` →
    ``v2_s``, ``mobilenet_v2_035`` → ``mbv2_035``, ``mobilenet_v2`` → ``mbv2``; other names as they are."""
    for prefix, short in _SHORT_PREFIXES:
        if model.startswith(prefix):
            return short + model[len(prefix):] or model
    return model


def grouped_bars(axes: Axes, labels: list[str], series: dict[str, list[float]]) -> list[BarContainer]:
    """Bars of each series side by side at every label; the bars of each series."""
    width = 0.8 / len(series)
    bars = []
    for index, (name, values) in enumerate(series.items()):
        offset = (index - (len(series) - 1) / 2) * width
        bars.append(axes.bar([i + offset for i in range(len(labels))], values, width, label=name,
                             color=PALETTE[index]))
    axes.set_xticks(range(len(labels)), labels)
    return bars
