"""Frames of raw values turned into frames of display strings, shared by the terminal and HTML tables."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .columns import Column, column


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _plain_number(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def display_frame(frame: pd.DataFrame, unit_column: Column | None = None) -> tuple[pd.DataFrame, list[bool]]:
    """``frame`` as strings for a reader, and which columns are numeric (to right-align).

    Vocabulary columns (:mod:`reports.columns` keys) take human units and their titles; other
    integers get thousands separators and floats four significant digits. A named index becomes
    the first column.

    Args:
        unit_column: the column whose unit every other numeric column takes (for frames whose
            columns are model names, as in a per-stage comparison).
    """
    if frame.index.name is not None:
        frame = frame.reset_index()
    titles, cells, numeric = [], {}, []
    for position, key in enumerate(frame.columns):
        spec = column(str(key))
        is_number = pd.api.types.is_numeric_dtype(frame[key]) and not pd.api.types.is_bool_dtype(frame[key])
        unit = spec or (unit_column if is_number else None)
        titles.append(spec.title if spec else str(key))
        values = frame.iloc[:, position].tolist()
        cells[position] = ["" if _missing(v) else unit.human(v) if unit else _plain_number(v) for v in values]
        numeric.append(unit.is_numeric if unit else is_number)
    shown = pd.DataFrame(cells)
    shown.columns = titles
    return shown, numeric
