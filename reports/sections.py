"""Extra report sections (studies): a title, an intro paragraph, tables, notes and optional charts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from .charts import ChartJob


class Table(NamedTuple):
    """A captioned table of raw values (rendered in display units, written raw to CSV); ``key_columns`` are
    shown first after the row's name on a page, so they are seen without scrolling."""

    caption: str
    frame: pd.DataFrame
    key_columns: Sequence[str] = ()


class CsvFile(NamedTuple):
    """A table as a CSV file: its file stem and its frame."""

    stem: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class Section:
    """One section appended to the HTML report, with each of its tables also written as CSV.

    Attributes:
        title: heading.
        intro: one paragraph of plain text saying what the section shows.
        frame: the section's main table; columns named by :class:`convcost.reports.columns.Column` keys are
            shown in human units under their titles, other columns whose key ends in ``_bytes`` in
            binary units, other integers with thousands separators.
        figures: charts shown below the table (also written as PNG and SVG): built figures, or
            :class:`~convcost.reports.charts.ChartJob` objects, which are drawn only when a page needs them
            and can be drawn in worker processes.
        tables: further tables shown after the charts.
        notes: short remarks (caveats, how a figure was measured) listed under the main table.
        footer: a total row under the main table, keyed like its columns (shown, not written to CSV).
        values: figures of the section as a whole (a measured latency, the machine): JSON writes them at its
            top level.
        summary: per-model figures the section adds to the report's summary table, CSV and JSON (a ``model``
            column and columns named by :class:`~convcost.reports.columns.Column` keys, such as a latency).
        key_columns: the main table's columns that answer the section's question, shown first after the row's
            name on a page (the CSV keeps the frame's order).
    """

    title: str
    intro: str
    frame: pd.DataFrame
    figures: Sequence[Figure | ChartJob] = field(default_factory=tuple)
    tables: Sequence[Table] = field(default_factory=tuple)
    notes: Sequence[str] = field(default_factory=tuple)
    footer: Mapping[str, Any] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    summary: pd.DataFrame | None = None
    key_columns: Sequence[str] = field(default_factory=tuple)

    @property
    def slug(self) -> str:
        """The title as a file and anchor name: lower case, runs of other characters as ``-``."""
        return slug(self.title)

    def chart_name(self, index: int) -> str:
        """File stem of figure ``index``."""
        return f"{self.slug}-{index}"

    def csv_files(self) -> list[CsvFile]:
        """The main table, then each further table, as CSV files."""
        files = [CsvFile(self.slug, self.frame)]
        for table in self.tables:
            stem = f"{self.slug}-{short_slug(table.caption)}"
            while stem in (file.stem for file in files):  # captions that start alike
                stem += "-"
            files.append(CsvFile(stem, table.frame))
        return files


def key_columns_first(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """``frame`` with its first column (the row's name), then the ``keys``, then the others.

    Raises:
        ValueError: a key is not a column of ``frame`` (a renamed column must not drop out of sight).
    """
    if frame.index.name is not None:
        frame = frame.reset_index()
    columns = list(frame.columns)
    missing = [key for key in keys if key not in columns]
    if missing:
        raise ValueError(f"key columns {', '.join(missing)} are not in the table; "
                         f"it has {', '.join(map(str, columns))}")
    first = [*columns[:1], *(key for key in keys if key != columns[0])]
    return frame[[*first, *(c for c in columns if c not in first)]]


#: Words of a table's caption kept in its file name.
CAPTION_WORDS = 5


def short_slug(text: str) -> str:
    """The first :data:`CAPTION_WORDS` words of ``text`` as a file name: ``"Time share against FLOPs share by
    kernel class"`` → ``time-share-against-flops-share``."""
    return "-".join(slug(text).split("-")[:CAPTION_WORDS])


def slug(text: str) -> str:
    """``"EfficientNet B0–B7: scaling"`` → ``efficientnet-b0-b7-scaling``; empty text → ``section``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
