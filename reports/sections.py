"""Extra report sections (studies): a title, an intro paragraph, tables, notes and optional charts."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from .charts import ChartJob


@dataclass(frozen=True)
class Section:
    """One section appended to the HTML report, with each of its tables also written as CSV.

    Attributes:
        title: heading.
        intro: one paragraph of plain text saying what the section shows.
        frame: the section's main table; columns named by :class:`reports.columns.Column` keys are
            shown in human units under their titles, other columns whose key ends in ``_bytes`` in
            binary units, other integers with thousands separators.
        figures: charts shown below the table (also written as PNG and SVG): built figures, or
            :class:`~reports.charts.ChartJob` objects, which are drawn only when a page needs them
            and can be drawn in worker processes.
        tables: further ``(caption, frame)`` tables shown after the charts.
        notes: short remarks (caveats, how a figure was measured) listed under the main table.
        footer: a total row under the main table, keyed like its columns (shown, not written to CSV).
    """

    title: str
    intro: str
    frame: pd.DataFrame
    figures: Sequence[Figure | ChartJob] = field(default_factory=tuple)
    tables: Sequence[tuple[str, pd.DataFrame]] = field(default_factory=tuple)
    notes: Sequence[str] = field(default_factory=tuple)
    footer: Mapping[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """The title as a file and anchor name: lower case, runs of other characters as ``-``."""
        return slug(self.title)

    def chart_name(self, index: int) -> str:
        """File stem of figure ``index``."""
        return f"{self.slug}-{index}"

    def csv_files(self) -> list[tuple[str, pd.DataFrame]]:
        """``(file stem, frame)`` of the main table, then of each further table."""
        return [(self.slug, self.frame), *((f"{self.slug}-{slug(caption)}", frame) for caption, frame in self.tables)]


#: A section, or a function that makes one later: :func:`reports.build.build_report` calls it in its
#: own process after every worker has finished, for sections that do real tensor work (latency).
SectionSource = Section | Callable[[], Section]


def slug(text: str) -> str:
    """``"EfficientNet B0–B7: scaling"`` → ``efficientnet-b0-b7-scaling``; empty text → ``section``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
