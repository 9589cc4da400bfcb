"""The one style of every chart: fonts, sizes, palette, resolution, layout, legends, point labels and captions.

Every chart function builds its figure with :func:`new_figure` inside :func:`chart_style`, puts its legend
with :func:`legend_outside`, labels points with :func:`label_points` and says what it plots with
:func:`set_caption`; :func:`convcost.reports.charts.render` calls :func:`finalize` and writes the files
at :data:`DPI`. No chart sets its own rc settings, resolution or legend position.

- Layout is matplotlib's constrained layout: titles, tick labels and legends get room of their own.
- Legends sit outside the data area (below the panels, or to their right), never on the data.
- Point labels are placed once the layout is final, each at the first of a few offsets around its point
  that keeps it inside the axes and off the other labels and markers (a greedy search in display space).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Annotation
from matplotlib.typing import ColorType, RcKeyType

#: Resolution of the PNG files (and of the rasterized parts of an SVG), dots per inch.
DPI = 200
#: Width of every chart, inches: one width, so every chart shows its text at the same size on the page.
WIDTH = 10.0
#: Height of a chart with one row of panels, inches.
HEIGHT = 4.8
#: Font sizes, points: body text (ticks, point labels), axis labels and legends, panel titles, figure title.
SMALL, MEDIUM, LARGE, TITLE = 8.5, 9.0, 10.0, 11.0

STYLE: dict[RcKeyType, Any] = {
    "text.parse_math": False,  # a "$" in a model name stays a "$"
    "svg.fonttype": "none",  # text stays text: small, selectable files
    "svg.hashsalt": "convcost",  # stable element ids, so the same data gives the same SVG
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.constrained_layout.h_pad": 0.06,
    "figure.constrained_layout.w_pad": 0.06,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": MEDIUM,
    "axes.titlesize": LARGE,
    "axes.labelsize": MEDIUM,
    "xtick.labelsize": SMALL,
    "ytick.labelsize": SMALL,
    "legend.fontsize": MEDIUM,
    "legend.title_fontsize": MEDIUM,
    "legend.frameon": False,
    "figure.titlesize": TITLE,
    "axes.titley": 1.01,  # a fixed title position skips matplotlib's costly overlap search
}
#: The ten colours of matplotlib's ``tab10`` cycle.
PALETTE: tuple[ColorType, ...] = tuple(matplotlib.color_sequences["tab10"])

_CAPTION = "_convcost_caption"
_LABELS = "_convcost_labels"


@contextmanager
def chart_style() -> Iterator[None]:
    """The shared matplotlib settings of every chart, for building a figure and for saving it."""
    with matplotlib.rc_context(STYLE):
        yield


def new_figure(height: float = HEIGHT, width: float = WIDTH) -> Figure:
    """An empty figure of the shared width at :data:`DPI`, laid out by constrained layout (call inside
    :func:`chart_style`)."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def panels(figure: Figure, count: int, columns: int, **subplots: Any) -> list[Axes]:
    """``count`` axes in rows of ``columns`` (fewer when ``count`` is smaller), in reading order; the grid's
    unused cells removed."""
    columns = max(1, min(columns, count))
    rows = max(1, -(-count // columns))
    grid = figure.subplots(rows, columns, squeeze=False, **subplots)
    cells = list(grid.flat)
    for spare in cells[count:]:
        figure.delaxes(spare)
    return cells[:count]


# --- captions -------------------------------------------------------------------------------


def set_caption(figure: Figure, text: str) -> None:
    """Say what ``figure`` plots on each axis and in which unit; shown under the chart in the report."""
    setattr(figure, _CAPTION, text)


def caption_of(figure: Figure) -> str:
    """The caption set by :func:`set_caption` ("" when none)."""
    return str(getattr(figure, _CAPTION, ""))


# --- legends --------------------------------------------------------------------------------


def _figure_of(axes: Axes) -> Figure:
    figure = axes.get_figure()
    assert isinstance(figure, Figure), "charts draw on axes of a figure, not of a subfigure"
    return figure


def _handles(figure: Figure) -> tuple[list[Artist], list[str]]:
    """Every axes' legend entries, each label once (first come)."""
    entries: dict[str, Artist] = {}
    for axes in figure.axes:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    return list(entries.values()), list(entries)


def _columns(labels: Sequence[str], width_inches: float, fontsize: float) -> int:
    """Columns for a legend below the panels: as many as fit the figure's width, in balanced rows."""
    column = max((len(label) for label in labels), default=1) * fontsize * 0.55 / 72 + 0.55  # text + handle
    fits = max(1, min(len(labels), int(width_inches * 0.95 // column)))
    rows = -(-len(labels) // fits)
    return -(-len(labels) // rows)


def legend_outside(target: Figure | Axes, handles: Sequence[Artist] | None = None,
                   labels: Sequence[str] | None = None, *, where: Literal["below", "right"] = "below",
                   title: str | None = None, ncols: int | None = None, by_axes: bool = False) -> Legend:
    """One legend for the figure, outside every axes: centred below the panels (default) or to their right.

    Constrained layout reserves room for it, so it never covers data, tick labels or the title.

    Args:
        target: the figure, or one of its axes (the legend still belongs to the figure).
        handles, labels: the entries; by default every axes' entries, each label once.
        by_axes: one column per axes, in the order of the panels (panels whose entries differ).
    """
    figure = target if isinstance(target, Figure) else _figure_of(target)
    if by_axes:
        groups = [axes.get_legend_handles_labels() for axes in figure.axes]
        groups = [group for group in groups if group[1]]
        rows = max((len(group[1]) for group in groups), default=0)
        handles, labels = [], []
        for group_handles, group_labels in groups:
            blank = rows - len(group_labels)
            handles += [*group_handles, *(Line2D([], [], linestyle="none") for _ in range(blank))]
            labels += [*group_labels, *([""] * blank)]
        ncols = len(groups)
    elif handles is None or labels is None:
        handles, labels = _handles(figure)
    if where == "below":
        columns = ncols or _columns(labels, figure.get_figwidth(), MEDIUM)
        return figure.legend(handles, labels, loc="outside lower center", ncols=columns, title=title,
                             fontsize=MEDIUM, title_fontsize=MEDIUM)
    return figure.legend(handles, labels, loc="outside right upper", ncols=ncols or 1, title=title,
                         fontsize=MEDIUM, title_fontsize=MEDIUM)


# --- point labels ---------------------------------------------------------------------------


@dataclass
class _LabelGroup:
    """Labels of points in one axes, placed by :func:`finalize`."""

    axes: Axes
    annotations: list[Annotation]
    points: list[tuple[float, float]]
    obstacles: list[tuple[float, float]] = field(default_factory=list)


def label_points(axes: Axes, xs: Iterable[float], ys: Iterable[float], labels: Iterable[str], *,
                 obstacles: Iterable[tuple[float, float]] = (), fontsize: float = SMALL) -> list[Annotation]:
    """Label each point ``(x, y)`` (data coordinates) with its text, placed when the figure is finalized.

    Each label goes to the first of a few offsets around its point (beside it, above or below it, then nudged
    further up or down) that keeps it inside the axes and clear of the labels placed before it, of every
    marker (the labelled points, the axes' scatter points and ``obstacles``) and of the axes' lines and error
    bars; failing that, where it overlaps least (other labels and the axes' edge weigh most). Labels take no
    part in the layout.
    """
    points = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
    annotations = []
    for (x, y), text in zip(points, labels, strict=True):
        annotation = axes.annotate(text, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=fontsize,
                                   ha="left", va="bottom", annotation_clip=False)
        annotation.set_in_layout(False)
        annotations.append(annotation)
    figure = _figure_of(axes)
    groups: list[_LabelGroup] = getattr(figure, _LABELS, [])
    groups.append(_LabelGroup(axes, annotations, points, [(float(x), float(y)) for x, y in obstacles]))
    setattr(figure, _LABELS, groups)
    return annotations


def _candidates(width: float, height: float, gap: float) -> Iterator[tuple[float, float]]:
    """Lower-left corners of a label relative to its point, in order of preference (display units)."""
    right, left, centre = gap, -width - gap, -width / 2
    above, below = gap, -height - gap
    yield from ((right, above), (right, below), (left, above), (left, below),
                (centre, above + gap), (centre, below - gap), (right, -height / 2), (left, -height / 2))
    for step in range(1, 9):  # nudged further up or down, beside the point
        for sign in (1, -1):
            shift = sign * step * height * 0.75
            yield from ((right, (above if sign > 0 else below) + shift), (left, (above if sign > 0 else below) + shift))


def _boxes(centres: np.ndarray, radius: float) -> np.ndarray:
    """Squares of half-side ``radius`` around display points, as rows ``x0, y0, x1, y1``."""
    centres = centres.reshape(-1, 2)
    centres = centres[np.isfinite(centres).all(axis=1)]
    return np.hstack([centres - radius, centres + radius])


def _along(vertices: np.ndarray, step: float) -> np.ndarray:
    """Points every ``step`` display units along a polyline (its vertices included)."""
    vertices = vertices[np.isfinite(vertices).all(axis=1)]
    parts = [vertices]
    for start, end in itertools.pairwise(vertices):
        count = int(np.hypot(*(end - start)) // step)
        if count > 1:
            parts.append(start + np.outer(np.arange(1, count) / count, end - start))
    return np.vstack(parts) if len(vertices) else np.empty((0, 2))


def _obstacles(group: _LabelGroup, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """Boxes a label should keep off, in display units: markers, and thin boxes along lines and error bars."""
    axes = group.axes
    to_display = axes.transData.transform
    marker = 3.5 * dpi / 72  # half a marker
    line = 1.0 * dpi / 72
    centres = [to_display(np.asarray([*group.points, *group.obstacles], dtype=float).reshape(-1, 2))]
    strokes = []
    for artist in axes.lines:
        assert isinstance(artist, Line2D)
        xy = to_display(np.asarray(artist.get_xydata(), dtype=float).reshape(-1, 2))
        if artist.get_marker() not in (None, "", "None", " "):
            centres.append(xy)
        if artist.get_linestyle() not in ("None", "", " ") and artist.get_linewidth() > 0:
            strokes.append(_along(xy, line * 2))
    for collection in axes.collections:
        if isinstance(collection, LineCollection):
            strokes += [_along(to_display(np.asarray(segment, dtype=float)), line * 2)
                        for segment in collection.get_segments()]
        elif isinstance(collection, PathCollection):
            centres.append(to_display(np.asarray(collection.get_offsets(), dtype=float).reshape(-1, 2)))
    markers = _boxes(np.vstack(centres), marker)
    lines = _boxes(np.vstack(strokes), line) if strokes else np.empty((0, 4))
    return markers, lines


def _overlaps(box: tuple[float, float, float, float], boxes: np.ndarray) -> float:
    """Total area ``box`` shares with ``boxes`` (rows ``x0, y0, x1, y1``)."""
    if not len(boxes):
        return 0.0
    width = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    height = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    return float(np.sum(np.clip(width, 0, None) * np.clip(height, 0, None)))


def _place(group: _LabelGroup, renderer: Any, dpi: float) -> None:
    axes = group.axes
    frame = axes.get_window_extent(renderer).padded(-2.0)
    edge = np.array([[frame.x0, frame.y0, frame.x1, frame.y1]])
    markers, lines = _obstacles(group, dpi)
    placed = np.empty((0, 4))
    to_display = axes.transData.transform
    order = sorted(range(len(group.points)), key=lambda i: tuple(to_display(group.points[i])))
    gap = 4.0 * dpi / 72
    for index in order:
        annotation = group.annotations[index]
        x, y = to_display(group.points[index])
        extent = annotation.get_window_extent(renderer)
        width, height = extent.width, extent.height
        best: tuple[float, float, float] | None = None
        for dx, dy in _candidates(width, height, gap):
            box = (x + dx, y + dy, x + dx + width, y + dy + height)
            cost = (1000 * (width * height - _overlaps(box, edge)) + 100 * _overlaps(box, placed)
                    + 3 * _overlaps(box, markers) + _overlaps(box, lines))
            if best is None or cost < best[0]:
                best = (cost, dx, dy)
            if cost == 0:
                break
        assert best is not None
        _, dx, dy = best
        annotation.xyann = (dx * 72 / dpi, dy * 72 / dpi)
        placed = np.vstack([placed, [x + dx, y + dy, x + dx + width, y + dy + height]])


def finalize(figure: Figure) -> None:
    """Lay ``figure`` out and place its point labels (:func:`label_points`); :func:`render` calls it."""
    canvas = FigureCanvasAgg(figure)
    figure.draw_without_rendering()
    renderer = canvas.get_renderer()
    for group in getattr(figure, _LABELS, []):
        _place(group, renderer, figure.dpi)
