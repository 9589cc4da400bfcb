"""``html``: one self-contained page (charts embedded, no network)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..sections import Section
from .base import AnalysisView, ComparisonView, Format, register_renderer

if TYPE_CHECKING:
    from convcost.analyzer import Analysis

# pandas and matplotlib are imported when a page is rendered, not when the registry lists the formats (see .base)


def render_page(analyses: Sequence[Analysis], **options: Any) -> str:
    """:func:`convcost.reports.build.render_page`, imported when a page is rendered: it draws with matplotlib,
    which the other formats never load."""
    from ..build import render_page as render

    return render(analyses, **options)


def stage_sections(analyses: Sequence[Analysis]) -> list[Section]:
    """MACs and params per declared part of each model, side by side."""
    from ..columns import Column
    from ..frames import stage_comparison

    return [Section(f"{column.title} per stage",
                    f"{column.title} of each part a model declares (stem, stages, head, classifier), summed over "
                    "its modules; empty where a model has no such part.", stage_comparison(analyses, column))
            for column in (Column.MACS, Column.PARAMS)]


class HtmlRenderer:
    """A page with cards, sortable tables, charts and the conventions."""

    format = Format.HTML
    description = "one self-contained HTML page with charts"
    holds = "a page with cards, charts and a sortable layer table"
    shows_convention = True
    suffixes = (".html", ".htm")

    def analysis(self, view: AnalysisView) -> str:
        """The model's page; with another tool's total, its reconciliation as a section."""
        from ..reconciliation import reconciliation_section

        analysis = view.analysis
        sections = ([reconciliation_section(analysis, view.convention.total, view.convention.rows)]
                    if view.convention is not None else [])
        return render_page([analysis], title=f"convcost: {analysis.model}", sections=sections)

    def comparison(self, view: ComparisonView) -> str:
        """Summary, cost curves, per-model tables and the per-part comparison."""
        return render_page(view.analyses, title="convcost comparison", published=view.published,
                           scaling_models=view.scaling_models, sections=stage_sections(view.analyses),
                           measured=view.measured)

    def section(self, section: Section) -> str:
        """The section alone on a page."""
        return render_page([], title=f"convcost: {section.title}", sections=[section])


register_renderer(HtmlRenderer())
