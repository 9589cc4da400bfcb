"""Frames of raw values turned into frames of display strings, shared by the terminal and HTML tables."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, NamedTuple

import pandas as pd

from .columns import NUMERIC_UNITS, Column, column, derived
from .safe import printable
from .units import Unit, human, shape_text

#: Columns outside the vocabulary whose key ends with this hold bytes and are shown in binary units.
BYTES_SUFFIX = "_bytes"


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _plain_number(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (tuple, list)) and value and all(isinstance(side, int) for side in value):
        return shape_text(value)  # a size, as the vocabulary's shapes are written: 112x112
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _derived_text(unit: Unit, value: Any) -> str:
    """A study column's value in its unit; a boolean as yes/no, and zero counts and bytes as ``0``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if unit is Unit.TEXT:
        return _plain_number(value)
    if unit in (Unit.COUNT, Unit.BYTES) and not value:
        return "0"
    return human(unit, value)


class ColumnFormat(NamedTuple):
    """How one column is shown: its title, the function that turns a value into text, and right-alignment."""

    title: str
    text: Callable[[Any], str]
    numeric: bool


def _formats(frame: pd.DataFrame, unit_column: Column | None, exact_counts: bool = False) -> list[ColumnFormat]:
    """The format of every column of ``frame`` (whose index is already a column); with ``exact_counts``, count
    columns outside the vocabulary keep their exact integers."""
    formats: list[ColumnFormat] = []
    for position, key in enumerate(frame.columns):
        spec = column(str(key))
        values = frame.iloc[:, position]
        is_number = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if spec is not None:
            formats.append(ColumnFormat(spec.title, spec.human, spec.is_numeric))
        elif is_number and unit_column is not None:
            formats.append(ColumnFormat(str(key), unit_column.human, unit_column.is_numeric))
        else:
            title, unit = derived(str(key), is_number)
            if exact_counts and unit is Unit.COUNT:
                unit = Unit.FLOAT
            formats.append(ColumnFormat(title, partial(_derived_text, unit), unit in NUMERIC_UNITS))
    return formats


def _cell(text: Callable[[Any], str], value: Any) -> str:
    return "" if _missing(value) else printable(text(value))


def display_frame(frame: pd.DataFrame, unit_column: Column | None = None,
                  exact_counts: bool = False) -> tuple[pd.DataFrame, list[bool]]:
    """``frame`` as strings for a reader, and which columns are numeric (to right-align).

    Vocabulary columns (:mod:`convcost.reports.columns` keys) take human units and their titles; other
    columns take the title and unit their key's words give (:func:`convcost.reports.columns.derived`): counts
    in K/M/G (with ``exact_counts``, as exact integers), ``bytes`` in binary units, other integers with
    thousands separators. A named index becomes the first column.

    Args:
        unit_column: the column whose unit every other numeric column takes (for frames whose
            columns are model names, as in a per-stage comparison).
    """
    if frame.index.name is not None:
        frame = frame.reset_index()
    formats = _formats(frame, unit_column, exact_counts)
    cells = {position: [_cell(text, value) for value in frame.iloc[:, position].tolist()]
             for position, (_, text, _) in enumerate(formats)}
    shown = pd.DataFrame(cells, columns=range(len(formats)))
    shown.columns = [title for title, _, _ in formats]
    return shown, [numeric for _, _, numeric in formats]


def display_row(frame: pd.DataFrame, row: Mapping[str, Any], unit_column: Column | None = None,
                exact_counts: bool = False) -> list[str]:
    """A row of values keyed like ``frame``'s columns (a total row), formatted as those columns are.

    Columns the row does not name are left empty.
    """
    if frame.index.name is not None:
        frame = frame.reset_index()
    return [_cell(text, row[key]) if key in row else ""
            for key, (_, text, _) in zip(frame.columns, _formats(frame, unit_column, exact_counts), strict=True)]
