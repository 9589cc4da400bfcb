"""``markdown``: GitHub-flavoured Markdown tables in human units, for READMEs, issues and notebooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..sections import Section
from ..units import shape_text
from .base import AnalysisView, ComparisonView, Format, register_renderer

if TYPE_CHECKING:
    import pandas as pd

    from ..columns import Column

# pandas and tabulate are imported when a renderer renders, not when the registry lists the formats (see .base)


def cell(text: str) -> str:
    """A table cell that cannot end its row or column: pipes escaped, line breaks as spaces."""
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """A Markdown table, numeric columns right-aligned."""
    from tabulate import tabulate

    return str(tabulate([[cell(value) for value in row] for row in rows], headers=[cell(h) for h in headers],
                        tablefmt="github", disable_numparse=True,
                        colalign=["right" if numeric else "left" for numeric in right]))


def frame_table(frame: pd.DataFrame, unit_column: Column | None = None) -> str:
    """Any frame as a Markdown table in display units."""
    from ..display import display_frame

    shown, numeric = display_frame(frame, unit_column)
    return table(list(shown.columns), shown.values.tolist(), numeric)


class MarkdownRenderer:
    """Markdown: a heading, the module tree or comparison as tables, the cross-check in words."""

    format = Format.MARKDOWN
    description = "GitHub-flavoured Markdown tables"
    holds = "a heading and a table of the module tree"
    shows_convention = True
    suffixes = (".md", ".markdown")

    def analysis(self, view: AnalysisView) -> str:
        """Heading, input, the module tree down to ``depth``, the cross-check; another tool's total if asked."""
        from ..table import tree_rows
        from ..verdict import check_view

        analysis = view.analysis
        tree = tree_rows(analysis, view.depth, own=view.own)
        rows = [*tree.rows, *tree.footer]
        shapes = ", ".join(shape_text(shape) for shape in analysis.input_shapes)
        parts = [f"# {cell(analysis.model)}",
                 f"Input {shapes} ({analysis.dtype}), engine {analysis.engine}, {analysis.execution} tensors.",
                 table(tree.headers, rows, tree.right),
                 " ".join(check_view(analysis).sentences)]
        if view.convention is not None:
            total = view.convention.total
            parts.append(f"{total.tool} ({total.source}): {total.total:,} ({total.unit}).")
        return "\n\n".join(parts) + "\n"

    def comparison(self, view: ComparisonView) -> str:
        """Whole-model figures side by side, then MACs and params per declared part."""
        from ..columns import Column
        from ..frames import stage_comparison, summary_frame

        parts = ["# Comparison", frame_table(summary_frame(view.analyses, view.measured))]
        for column in (Column.MACS, Column.PARAMS):
            parts += [f"## {column.title} per stage", frame_table(stage_comparison(view.analyses, column), column)]
        return "\n\n".join(parts) + "\n"

    def section(self, section: Section) -> str:
        """Title, intro, tables and notes (charts need ``html``)."""
        parts = [f"## {cell(section.title)}", section.intro, frame_table(section.frame)]
        if section.notes:
            parts.append("\n".join(f"- {note}" for note in section.notes))
        for extra in section.tables:
            parts += [f"### {cell(extra.caption)}", frame_table(extra.frame)]
        return "\n\n".join(parts) + "\n"


register_renderer(MarkdownRenderer())
