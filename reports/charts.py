"""Charts as matplotlib figures built from plain data (frames from :mod:`convcost.reports.frames`).

Figures are made with :class:`matplotlib.figure.Figure` (no pyplot, no global backend) and
rendered to PNG and SVG bytes by :func:`render`. Text is never parsed as mathtext, so a
``$`` in a model name stays a ``$``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from matplotlib.typing import ColorType, RcKeyType

from .columns import Column
from .frames import CATEGORIES
from .units import Unit, human_bytes, human_count, human_ms

_STYLE: dict[RcKeyType, Any] = {
    "text.parse_math": False,
    "svg.fonttype": "none",  # text stays text: small, selectable files
    "svg.hashsalt": "convcost",  # stable element ids, so the same data gives the same SVG
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 9,
    "axes.titley": 1.01,  # a fixed title position skips matplotlib's costly overlap search
}
#: The ten colours of matplotlib's ``tab10`` cycle.
PALETTE: tuple[ColorType, ...] = tuple(matplotlib.color_sequences["tab10"])
CATEGORY_COLORS = dict(zip(CATEGORIES, PALETTE, strict=False))
_TITLES = {Column.PARAMS: "Parameters", Column.MACS: "MACs (conv + linear)",
           Column.ACTIVATION_BYTES: "Activation memory (all forward outputs)",
           Column.TRAINING_BYTES: "Training memory (saved for backward)"}
_SCALING_METRICS = tuple(_TITLES)
DPI = 110
#: Subplot spacing of the studies' side-by-side panels.
PANEL_GRID = dict(left=0.07, right=0.98, bottom=0.14, top=0.86, wspace=0.28)


@dataclass(frozen=True)
class RenderedChart:
    """A chart rendered for files and for embedding: ``name`` is its file stem."""

    name: str
    title: str
    png: bytes
    svg: bytes


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


@contextmanager
def chart_style() -> Iterator[None]:
    """The shared matplotlib settings of every chart (no mathtext, text kept as text in SVG)."""
    with matplotlib.rc_context(_STYLE):
        yield


def render(name: str, figure: Figure) -> RenderedChart:
    """PNG and SVG bytes of ``figure``; its title is the figure's suptitle."""
    with chart_style():
        outputs = {}
        for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
            buffer = io.BytesIO()
            figure.savefig(buffer, format=fmt, dpi=DPI, metadata=metadata)
            outputs[fmt] = buffer.getvalue()
    title = figure.get_suptitle() or name
    return RenderedChart(name, title, outputs["png"], outputs["svg"])


def _unit_formatter(unit: Unit) -> Callable[[float, int], str]:
    if unit is Unit.MS:
        return lambda value, _position: human_ms(value)
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


def axis_units(axes: Axes, axis: Literal["x", "y"], unit: Unit, log: bool) -> None:
    """Human-unit tick labels on ``axis``; a log axis ticks at 1, 2 and 5 per decade (bytes: powers of 2),
    a linear bytes axis at round numbers of a binary unit."""
    target = axes.xaxis if axis == "x" else axes.yaxis
    if log:
        (axes.set_xscale if axis == "x" else axes.set_yscale)("log")
        locator = LogLocator(base=2) if unit is Unit.BYTES else LogLocator(subs=(1.0, 2.0, 5.0))
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
    position = {model: i for i, model in enumerate(models)}
    paper = _paper_points(published, models)
    with chart_style():
        figure = Figure(figsize=(10, 7.5))
        axes_grid = figure.subplots(2, 2, gridspec_kw=dict(left=0.08, right=0.98, bottom=0.08, top=0.9,
                                                            wspace=0.25, hspace=0.35))
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
                axes.set_xticks(range(len(models)), [m.rsplit("_", 1)[-1] for m in models])
                axes.set_xlabel(f"model ({models[0]} … {models[-1]})" if models else "model")
            else:
                axes.set_xscale("log")
                axes.set_xticks(list(xs), [str(r) for r in xs], rotation=45)
                axes.xaxis.set_minor_formatter(NullFormatter())
                axes.set_xlabel("input resolution (pixels per side, log scale)")
            axes.set_ylabel(axis_label(metric, dtype) + ", log scale")
            axes.set_title(_TITLES[metric])
            axes.legend(loc="upper left")
        figure.suptitle(f"Cost against {'model index' if x == 'index' else 'input resolution'}: "
                        f"{', '.join(m.rsplit('_', 1)[-1] for m in models)}")
    return figure


def accuracy_frontier(summary: pd.DataFrame, published: pd.DataFrame) -> Figure:
    """Published ImageNet top-1 against measured MACs, one line per family, for models with a published top-1.

    Points are labelled with the model name less its family prefix (``efficientnet_b3`` → ``b3``).
    """
    top1 = published[published["top1"].notna()].drop_duplicates("model")[["model", "family", "top1"]]
    points = summary[[Column.MODEL.key, Column.MACS.key]].merge(top1, on="model").sort_values(Column.MACS.key)
    with chart_style():
        figure = Figure(figsize=(9, 5.5))
        axes = figure.subplots(gridspec_kw=dict(left=0.08, right=0.97, bottom=0.1, top=0.92))
        for family, group in points.groupby("family", sort=False):
            axes.plot(group[Column.MACS.key], group["top1"], marker="o", label=str(family))
            for _, row in group.iterrows():
                label = row["model"].removeprefix(f"{family}_")
                axes.annotate(label, (row[Column.MACS.key], row["top1"]), textcoords="offset points",
                              xytext=(5, -10), fontsize=8)
        axis_units(axes, "x", Unit.COUNT, log=True)
        axes.margins(x=0.08)
        axes.set_xlabel("conv+linear MACs at native resolution (measured, count, log scale)")
        axes.set_ylabel("ImageNet top-1 accuracy (%, published)")
        axes.legend(title="family", loc="lower right")
        figure.suptitle("Accuracy against cost: published top-1 vs measured MACs")
    return figure


def stage_bars(breakdown: pd.DataFrame, model: str) -> Figure:
    """MACs and params per stage, stacked by cost category (a :func:`convcost.reports.frames.breakdown_frame`)."""
    with chart_style():
        figure = Figure(figsize=(10, 4.8))
        axes_pair = figure.subplots(1, 2, gridspec_kw=dict(left=0.08, right=0.98, bottom=0.24, top=0.84,
                                                           wspace=0.25))
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
        handles = {label: handle for axes in axes_pair for handle, label in zip(*axes.get_legend_handles_labels(),
                                                                                strict=True)}
        figure.legend(handles.values(), handles.keys(), title="conv kind", loc="upper right", ncols=len(handles),
                      fontsize=7, frameon=False)
        figure.suptitle(f"{model}: MACs and parameters per stage, by conv kind", x=0.02, ha="left")
    return figure


def category_share_chart(share: pd.DataFrame) -> Figure:
    """Each model's MACs split by conv kind, as 100% stacked bars (a :func:`convcost.reports.frames.category_share`)."""
    with chart_style():
        height = 1.6 + 0.3 * len(share)
        figure = Figure(figsize=(9, height))
        axes = figure.subplots(gridspec_kw=dict(left=0.2, right=0.97, bottom=0.5 / height,
                                                top=1 - 1.1 / height))
        left = pd.Series(0.0, index=share.index)
        rows = range(len(share))
        for category in share.columns:
            axes.barh(rows, share[category] * 100, left=left, label=str(category),
                      color=CATEGORY_COLORS[str(category)])
            left += share[category] * 100
        axes.set_yticks(rows, [str(m) for m in share.index])
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.set_xlabel("share of conv+linear MACs (%)")
        axes.set_ylabel("model")
        axes.legend(title="conv kind", ncols=min(len(share.columns), 6), loc="lower center",
                    bbox_to_anchor=(0.5, 1.0), fontsize=7)
        figure.suptitle("Where the MACs are: share by conv kind")
    return figure


#: Family prefixes a chart label drops or shortens (``efficientnet_b3`` → ``b3``).
_SHORT_PREFIXES = (("efficientnet_", ""), ("mobilenet_v2", "mbv2"))


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
