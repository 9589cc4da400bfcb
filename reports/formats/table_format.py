"""``table``: aligned text for a terminal (human units, a depth-limited module tree)."""

from __future__ import annotations

from ..sections import Section
from .base import AnalysisView, ComparisonView, Format, register_renderer

# pandas is imported when a renderer renders, not when the registry lists the formats (see .base)


class TableRenderer:
    """Text tables: the module tree of an analysis, a comparison, a section."""

    format = Format.TABLE
    description = "aligned text tables in human units"
    holds = "a module tree down to --depth"
    shows_convention = True
    suffixes = (".txt",)

    def analysis(self, view: AnalysisView) -> str:
        """Heading, module tree, memory and coverage lines, cross-check, conventions; then another tool's total."""
        from ..table import analysis_text, convention_text

        text = analysis_text(view.analysis, view.depth, own=view.own, legend=view.legend)
        if view.convention is not None:
            text += "\n" + convention_text(view.convention.total, view.analysis)
        return text

    def comparison(self, view: ComparisonView) -> str:
        """Whole-model figures side by side, then MACs and params per declared part."""
        from ..columns import Column
        from ..frames import stage_comparison, summary_frame
        from ..table import footnote, frame_text, summary_text

        parts = [summary_text(summary_frame(view.analyses, view.measured))]
        for column in (Column.MACS, Column.PARAMS):
            parts.append(f"{column.title} per stage\n" + frame_text(stage_comparison(view.analyses, column), column))
        parts.append(footnote(view.analyses[0].dtype))
        return "\n\n".join(parts) + "\n"

    def section(self, section: Section) -> str:
        """Title, intro, tables and notes (charts need ``html``)."""
        from ..table import section_text

        return section_text(section)


register_renderer(TableRenderer())
