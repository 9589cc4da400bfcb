"""``csv``: raw integers, one row per layer (an analysis) or per model (a comparison)."""

from __future__ import annotations

from ..export import csv_text
from ..frames import layer_frame, summary_frame
from ..sections import Section
from .base import AnalysisView, ComparisonView, Format, register_renderer


class CsvRenderer:
    """Comma-separated values: every number raw, shapes as ``1x3x224x224``."""

    format = Format.CSV
    description = "comma-separated raw values"
    holds = "one row per layer"
    shows_convention = False

    def analysis(self, view: AnalysisView) -> str:
        """One row per module: its own costs."""
        return csv_text(layer_frame(view.analysis))

    def comparison(self, view: ComparisonView) -> str:
        """One row of whole-model figures per model."""
        return csv_text(summary_frame(view.analyses, view.measured))

    def section(self, section: Section) -> str:
        """The section's main table."""
        return csv_text(section.frame)


register_renderer(CsvRenderer())
