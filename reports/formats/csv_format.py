"""``csv``: raw integers, one row per layer (an analysis) or per model (a comparison)."""

from __future__ import annotations

from ..sections import Section
from .base import AnalysisView, ComparisonView, Format, register_renderer

# pandas is imported when a renderer renders, not when the registry lists the formats (see .base)


class CsvRenderer:
    """Comma-separated values: every number raw, shapes as ``1x3x224x224``."""

    format = Format.CSV
    description = "comma-separated raw values"
    holds = "one row per layer"
    shows_convention = False
    suffixes = (".csv",)

    def analysis(self, view: AnalysisView) -> str:
        """One row per module: its own costs."""
        from ..export import csv_text
        from ..frames import layer_frame

        return csv_text(layer_frame(view.analysis))

    def comparison(self, view: ComparisonView) -> str:
        """One row of whole-model figures per model."""
        from ..export import csv_text
        from ..frames import summary_frame

        return csv_text(summary_frame(view.analyses, view.measured))

    def section(self, section: Section) -> str:
        """The section's main table."""
        from ..export import csv_text

        return csv_text(section.frame)


register_renderer(CsvRenderer())
