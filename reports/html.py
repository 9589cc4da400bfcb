"""One self-contained HTML report: cards, charts, comparison and per-layer tables, cross-check, conventions.

The page needs no network: charts are embedded as base64 SVG data URIs, CSS and the small
table-sorting script are inline. Everything from a model is escaped, by Jinja2's autoescape
in the templates (page and tables).
"""

from __future__ import annotations

import base64
import numbers
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from convcost.analyzer import Analysis

from .charts import RenderedChart
from .columns import Column, column, conventions
from .display import display_frame, display_row
from .frames import ROOT_LABEL
from .overview import overview
from .sections import Section, key_columns_first
from .tree_table import layer_tree
from .units import ops_text, shape_text
from .verdict import CheckView, check_view

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("convcost.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_VERSIONED = ("convcost", "torch", "fvcore", "pandas", "matplotlib")
#: Tables with more rows than this scroll inside a box of limited height.
SCROLL_ROWS = 20


@dataclass(frozen=True)
class Card:
    """A headline figure: label, value, and a smaller detail line."""

    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class CaptionedHtml:
    """A rendered table and its caption."""

    caption: str
    html: Markup


@dataclass(frozen=True)
class ModelView:
    """What the template shows for one analysis."""

    analysis: Analysis
    anchor: str
    cards: tuple[Card, ...]
    check: CheckView
    check_tables: tuple[CaptionedHtml, ...]
    tree: Mapping[str, Any]
    unsupported: str
    chart: RenderedChart | None
    files: Mapping[str, str]


@dataclass(frozen=True)
class TableView:
    """A table ready for the template: caption (empty for a section's main table), HTML, CSV link."""

    caption: str
    html: Markup
    csv: str | None
    scroll: bool


@dataclass(frozen=True)
class SectionView:
    """An extra section with its charts rendered: its main table first in ``tables``, then the others."""

    section: Section
    tables: tuple[TableView, ...]
    charts: tuple[RenderedChart, ...]


@dataclass(frozen=True)
class Page:
    """Everything the HTML template needs besides the models."""

    title: str
    charts: Sequence[RenderedChart] = ()
    sections: Sequence[SectionView] = ()
    model_charts: Mapping[str, RenderedChart] = field(default_factory=dict)
    model_files: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    #: per-model measurements (a latency) joined to the summary table (:func:`~.frames.summary_frame`)
    measured: pd.DataFrame | None = None
    #: published figures (:data:`~.frames.PUBLISHED_FIELDS`) and each model's family, for the summary table
    published: pd.DataFrame | None = None
    families: Mapping[str, str] = field(default_factory=dict)
    #: each model's own page (model → path from the index); empty: the models are shown on the page itself
    model_pages: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    """The summary table as HTML and the sources its published values cite by number."""

    html: Markup
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Cell:
    """A table cell: the text shown and the raw value a sort compares (None: sort by the text)."""

    text: str
    raw: float | int | None

    @property
    def exact(self) -> str | None:
        """The exact integer, for a hover, when the text rounds it (``5.29M`` of ``5,288,548``)."""
        if not isinstance(self.raw, int) or abs(self.raw) < 1000:
            return None
        exact = f"{self.raw:,}"
        return None if exact == self.text else exact


def versions() -> dict[str, str]:
    """Versions of Python and the packages that produced a report (``not installed`` when absent)."""
    found = {"python": platform.python_version()}
    for package in _VERSIONED:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def data_uri(chart: RenderedChart) -> str:
    """The chart's SVG as a ``data:`` URI, so the page embeds it without a network or id clashes."""
    return "data:image/svg+xml;base64," + base64.b64encode(chart.svg).decode("ascii")


def table_html(frame: pd.DataFrame, *, compact: bool = False, footer: Mapping[str, Any] | None = None) -> Markup:
    """``frame`` as an escaped, sortable HTML table in display units; numeric columns right-aligned.

    Args:
        compact: as wide as its content, long text wrapped (instead of the page width, one line per row).
        footer: a total row keyed like the columns, shown in ``<tfoot>`` (sorting leaves it last).
    """
    shown, numeric = display_frame(frame)
    raw = frame.reset_index() if frame.index.name is not None else frame
    rows = [[Cell("" if pd.isna(text) else text, _raw(value) if is_number else None)
             for text, value, is_number in zip(texts, values, numeric, strict=True)]
            for texts, values in zip(shown.itertuples(index=False, name=None),
                                     raw.itertuples(index=False, name=None), strict=True)]
    meanings = [spec.meaning if (spec := column(str(key))) is not None else "" for key in raw.columns]
    html = _ENVIRONMENT.get_template("table.html.j2").render(
        headers=list(shown.columns), meanings=meanings, rows=rows,
        kinds=["n" if is_number else "t" for is_number in numeric],
        classes=["data", "sortable", *(["compact"] if compact else [])],
        footer=display_row(frame, footer) if footer else None)
    return Markup(html)


def _raw(value: Any) -> float | int | None:
    """A cell's value as a number a sort compares, None when it has none."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        return None
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _cards(analysis: Analysis) -> tuple[Card, ...]:
    t = analysis.totals
    shapes = ", ".join(shape_text(s) for s in analysis.input_shapes)
    first = analysis.input_shapes[0] if analysis.input_shapes else ()
    size = "×".join(str(side) for side in first[2:]) if len(first) >= 3 else shapes
    return (
        Card("Input", size or "none", f"{shapes} · {analysis.dtype} · engine {analysis.engine}"),
        Card(Column.PARAMS.title, Column.PARAMS.human(t.params),
             f"{t.params:,}: {t.trainable_params:,} trainable, {t.frozen_params:,} frozen; {t.buffers:,} in buffers"),
        Card(Column.MACS.title, Column.MACS.human(t.macs), f"{t.macs:,} in convolutions and matrix products"),
        Card(Column.FLOPS.title, Column.FLOPS.human(t.flops), f"{t.flops:,} all operators"),
        Card("Activation memory", Column.ACTIVATION_BYTES.human(t.activation_bytes), "every forward output"),
        Card("Training memory", Column.TRAINING_BYTES.human(t.training_bytes), "saved for backward"),
        Card("Peak (inference)", Column.PEAK_BYTES.human(t.peak_bytes),
             f"in {t.peak_module or ROOT_LABEL}; on a CPU {Column.CPU_PEAK_BYTES.human(t.workspace_peak_bytes)} with "
             "convolution scratch space"),
        *_training_cards(analysis),
    )


def _training_cards(analysis: Analysis) -> tuple[Card, ...]:
    """The training step's headline figures, when the analysis counted one."""
    step = analysis.training
    if step is None:
        return ()
    backward = step.total
    return (
        Card(Column.BACKWARD_MACS.title, Column.BACKWARD_MACS.human(backward.macs),
             f"grad-input {backward.grad_input_macs:,}, grad-weight {backward.grad_weight_macs:,}"),
        Card(Column.TRAINING_FLOPS.title, Column.TRAINING_FLOPS.human(step.training_flops),
             f"train-mode forward, backward and the {step.optimizer} step ({step.optimizer_flops:,})"),
        Card(Column.TRAINING_PEAK_BYTES.title, Column.TRAINING_PEAK_BYTES.human(step.peak_bytes),
             f"at the {step.peak_moment}; optimizer state {Column.TRAINING_PEAK_BYTES.human(step.state_bytes)}"),
    )


def model_views(analyses: Sequence[Analysis], files: Mapping[str, Mapping[str, str]] | None = None) -> list[ModelView]:
    """The models' parts of the page, charts aside (the bulk of its rendering: every layer table); ``files``
    maps a model to its downloadable files (label → path)."""
    return [_model_view(analysis, f"model-{index}", (files or {}).get(analysis.model, {}))
            for index, analysis in enumerate(analyses)]


def _model_view(analysis: Analysis, anchor: str, files: Mapping[str, str]) -> ModelView:
    check = check_view(analysis)
    return ModelView(
        analysis=analysis,
        anchor=anchor,
        cards=_cards(analysis),
        check=check,
        check_tables=tuple(CaptionedHtml(table.caption, table_html(table.frame, compact=True))
                           for table in check.tables()),
        tree=layer_tree(analysis),
        unsupported=ops_text(analysis.unsupported_ops()),
        chart=None,
        files=files,
    )


def section_view(section: Section, charts: Sequence[RenderedChart], csv_dir: str | None = None) -> SectionView:
    """A section ready for the template.

    Args:
        csv_dir: folder (relative to the page) holding the section's CSV files, None when there are none.
    """
    captions = ["", *(table.caption for table in section.tables)]
    footers: list[Mapping[str, Any] | None] = [section.footer, *(None for _ in section.tables)]
    keys = [section.key_columns, *(table.key_columns for table in section.tables)]
    tables = tuple(
        TableView(caption, table_html(key_columns_first(file.frame, key), footer=footer),
                  None if csv_dir is None else f"{csv_dir}/{file.stem}.csv", len(file.frame) > SCROLL_ROWS)
        for caption, footer, key, file in zip(captions, footers, keys, section.csv_files(), strict=True)
    )
    return SectionView(section, tables, tuple(charts))


def _context() -> dict[str, Any]:
    """What every page shows: the versions and when it was made."""
    return {"data_uri": data_uri, "versions": versions(),
            "generated": generated_at().strftime("%Y-%m-%d %H:%M UTC")}


def comparison(analyses: Sequence[Analysis], page: Page) -> Comparison:
    """The summary table of ``analyses`` (:func:`~.overview.overview`) as HTML, with its sources."""
    table = overview(analyses, page.measured, page.published, page.families)
    return Comparison(table_html(table.shown), table.sources)


def render_html(analyses: Sequence[Analysis], page: Page, views: Sequence[ModelView] | None = None) -> str:
    """The report page for ``analyses`` (in this order); ``views`` are their :func:`model_views` when made
    already (with ``page.model_files``), while the charts were drawn. With ``page.model_pages`` the models are
    links to their own pages (:func:`render_model_page`); without, each is shown on this page."""
    made = model_views(analyses, page.model_files) if views is None else views
    models = [replace(view, chart=page.model_charts.get(view.analysis.model)) for view in made]
    unsupported = {a.model: ops_text(a.unsupported_ops()) for a in analyses if a.unsupported_ops()}
    checked = sum(m.check.checked for m in models)
    differing = sum(1 for m in models if not m.check.ok)
    dtypes = sorted({a.dtype for a in analyses})
    summary_cards = (
        Card("Models", str(len(analyses)), "engine: " + ", ".join(sorted({a.engine for a in analyses}))),
        Card("Cross-check", "all agree" if not differing else f"{differing} of {len(models)} differ",
             f"{checked:,} conv/linear layers, formula against measurement"),
        Card("Unsupported operators", str(sum(sum(a.unsupported_ops().values()) for a in analyses)),
             "calls with no formula (not in FLOPs)"),
    )
    return _ENVIRONMENT.get_template("report.html.j2").render(
        page=page,
        page_title=page.title,
        models=models,
        summary_cards=summary_cards,
        comparison=comparison(analyses, page) if analyses else None,
        unsupported=unsupported,
        conventions=conventions(", ".join(dtypes) or "float32"),
        **_context(),
    )


def render_model_page(view: ModelView, title: str, index_href: str) -> str:
    """One model's own page (its cards, stage chart, cross-check and module tree), linking back to the report
    at ``index_href``; ``view``'s files are paths from the page."""
    return _ENVIRONMENT.get_template("model.html.j2").render(
        model=view, page_title=f"{view.analysis.model}: {title}", index_href=index_href, **_context())


def generated_at() -> datetime:
    """When the report is made: now, or ``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC) when set, so that a
    report built twice from the same inputs is the same bytes (the reproducible-builds convention)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    return datetime.now(timezone.utc)
