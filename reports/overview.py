"""The report's summary table: how the networks compare, in one table a reader can take in at a glance.

Every analysed model gets a row of its key figures (params, MACs, FLOPs, memory, latency when measured),
its MACs as a multiple of its family's smallest member, its MACs against the published figure (Δ), and the
published top-1 accuracy. Published values cite their source by number; :attr:`Overview.sources` lists them.
The summary CSV and JSON keep every column; this table keeps the ones that compare models.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from convcost.analyzer import Analysis

from .columns import LATENCY_SUMMARY_COLUMNS, Column
from .frames import summary_frame

#: Columns of the summary table, in order; those with no value for any model are left out.
OVERVIEW_COLUMNS: tuple[Column, ...] = (
    Column.MODEL, Column.FAMILY, Column.RESOLUTION, Column.PARAMS, Column.MACS, Column.MACS_VS_SMALLEST,
    Column.PUBLISHED_MACS, Column.MACS_CHANGE, Column.FLOPS, Column.PEAK_BYTES, Column.TRAINING_PEAK_BYTES,
    *LATENCY_SUMMARY_COLUMNS[:1], LATENCY_SUMMARY_COLUMNS[2], Column.TOP1, Column.SOURCES,
)
#: Columns of the table on the page, so that it fits 1280 px: the family and the published figure itself are
#: left to the frame (the sources name the figure, the Δ compares with it).
SHOWN_COLUMNS: tuple[Column, ...] = tuple(c for c in OVERVIEW_COLUMNS
                                          if c not in (Column.FAMILY, Column.PUBLISHED_MACS))


@dataclass(frozen=True)
class Overview:
    """The summary table (raw values keyed by column keys) and its numbered sources (``[1]`` is the first)."""

    frame: pd.DataFrame
    sources: tuple[str, ...]

    @property
    def shown(self) -> pd.DataFrame:
        """The columns of :data:`SHOWN_COLUMNS` the frame has."""
        return self.frame[[c.key for c in SHOWN_COLUMNS if c.key in self.frame.columns]]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _significant_digits(value: float) -> int:
    """How precisely a published figure is given: 5288548 → 7, 5.3e6 → 2."""
    digits = f"{float(value):.15g}".replace(".", "").lstrip("0").split("e")[0].rstrip("0")
    return len(digits)


def _published_macs(figures: pd.DataFrame, resolution: int | None) -> pd.Series | None:
    """The published MACs figure to hold a count against: at the analysed resolution, the most precisely given
    (an exact figure tests the count; a rounded one only its magnitude); the first of equals."""
    candidates = figures[figures[Column.MACS.key].notna() & (figures[Column.RESOLUTION.key] == resolution)]
    if candidates.empty:
        return None
    precision = [_significant_digits(v) for v in candidates[Column.MACS.key]]
    return candidates.iloc[max(range(len(precision)), key=lambda i: (precision[i], -i))]


def _top1(figures: pd.DataFrame, resolution: int | None) -> pd.Series | None:
    """The published top-1 figure: one at the analysed resolution when there is one, else the first."""
    candidates = figures[figures[Column.TOP1.key].notna()]
    if candidates.empty:
        return None
    same = candidates[candidates[Column.RESOLUTION.key] == resolution]
    return (same if not same.empty else candidates).iloc[0]


def overview(analyses: Sequence[Analysis], measured: pd.DataFrame | None = None,
             published: pd.DataFrame | None = None, families: Mapping[str, str] | None = None) -> Overview:
    """The summary table of ``analyses``.

    Args:
        measured: per-model measurements (a latency) as :func:`~.frames.summary_frame` joins them.
        published: published figures, one row per figure (:data:`~.frames.PUBLISHED_FIELDS`).
        families: each model's family; models of one family are compared with its smallest (fewest MACs).
    """
    summary = summary_frame(analyses, measured)
    families = dict(families or {})
    if published is not None:
        families.update({m: f for m, f in zip(published["model"], published["family"], strict=True)
                         if m not in families and isinstance(f, str)})
    summary[Column.FAMILY.key] = [families.get(model) for model in summary[Column.MODEL.key]]
    smallest = summary.groupby(Column.FAMILY.key)[Column.MACS.key].min()
    summary[Column.MACS_VS_SMALLEST.key] = [
        macs / smallest[family] if family is not None and smallest.get(family) else None
        for family, macs in zip(summary[Column.FAMILY.key], summary[Column.MACS.key], strict=True)]
    sources: list[str] = []

    def cite(source: str) -> int:
        if source not in sources:
            sources.append(source)
        return sources.index(source) + 1

    published_macs, changes, top1s, refs = [], [], [], []
    for model, resolution, macs in zip(summary[Column.MODEL.key], summary[Column.RESOLUTION.key],
                                       summary[Column.MACS.key], strict=True):
        figures = (published[published["model"] == model] if published is not None
                   else pd.DataFrame(columns=[Column.MACS.key, Column.RESOLUTION.key, Column.TOP1.key]))
        cited: list[int] = []
        figure = _published_macs(figures, resolution)
        if figure is not None:
            published_macs.append(figure[Column.MACS.key])
            changes.append(macs / figure[Column.MACS.key] - 1)
            cited.append(cite(_source_text(figure)))
        else:
            published_macs.append(None)
            changes.append(None)
        accuracy = _top1(figures, resolution)
        top1s.append(None if accuracy is None else accuracy[Column.TOP1.key])
        if accuracy is not None:
            number = cite(_source_text(accuracy))
            if number not in cited:
                cited.append(number)
        refs.append(", ".join(f"[{n}]" for n in cited))
    summary[Column.PUBLISHED_MACS.key] = published_macs
    summary[Column.MACS_CHANGE.key] = changes
    summary[Column.TOP1.key] = top1s
    summary[Column.SOURCES.key] = refs
    keep = [c.key for c in OVERVIEW_COLUMNS if c.key in summary.columns
            and any(not _missing(v) and v != "" for v in summary[c.key])]
    return Overview(summary[keep], tuple(sources))


def _source_text(figure: pd.Series) -> str:
    """The source of a published figure, with its note (how to read it: a different layout, rounding)."""
    note = figure.get(Column.NOTE.key)
    source = str(figure[Column.SOURCE.key])
    return f"{source}: {note}" if isinstance(note, str) and note else source
