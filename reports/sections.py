"""Extra report sections (studies): a title, an intro paragraph, a table and optional charts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from matplotlib.figure import Figure


@dataclass(frozen=True)
class Section:
    """One section appended to the HTML report, with its table also written as CSV.

    Attributes:
        title: heading.
        intro: one paragraph of plain text saying what the section shows.
        frame: the section's table; columns named by :class:`reports.columns.Column` keys are
            shown in human units under their titles, other integers with thousands separators.
        figures: charts shown below the table (also written as PNG and SVG).
    """

    title: str
    intro: str
    frame: pd.DataFrame
    figures: Sequence[Figure] = field(default_factory=tuple)

    @property
    def slug(self) -> str:
        """The title as a file and anchor name: lower case, runs of other characters as ``-``."""
        return slug(self.title)


def slug(text: str) -> str:
    """``"EfficientNet B0–B7: scaling"`` → ``efficientnet-b0-b7-scaling``; empty text → ``section``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
