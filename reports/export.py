"""CSV and JSON exports: raw integers, the column keys of :mod:`convcost.reports.columns` as field names.

JSON of one analysis (``convcost analyze M --format json``) is one object with the summary
fields (``model, input_shape, params, macs, flops, activation_bytes, training_bytes,
peak_bytes, unsupported_ops`` and more), the cross-check (``engines``, ``disagreements``,
``compared_macs``), how the walk ran (``execution``: ``meta`` or ``real``, ``execution_reason``,
``complete``) and ``layers``: one object per module with
``name, type, kind, depth, output_shape, params, buffers, macs, flops, output_bytes,
saved_bytes``, the module's own costs, so layers add up to the totals.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd

from convcost.analyzer import Analysis

from .columns import Column, column
from .frames import layer_row, summary_record
from .safe import csv_cell
from .sections import Section


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in record.items()}


def analysis_json(analysis: Analysis) -> dict[str, Any]:
    """One analysis as a JSON-ready dict (see the module docstring)."""
    return {
        **summary_json(analysis),
        "input_shapes": [list(shape) for shape in analysis.input_shapes],
        "dtype": analysis.dtype,
        "engine": analysis.engine,
        "engines": [asdict(totals) for totals in analysis.engines],
        "disagreements": [asdict(d) for d in analysis.disagreements],
        "compared_macs": analysis.compared_macs,
        "execution": analysis.execution.value,
        "execution_reason": analysis.execution_reason,
        "complete": analysis.complete,
        "layers": [_jsonable(layer_row(layer, analysis)) for layer in analysis.layers],
        **({} if analysis.training is None else {
            "training_disagreements": [asdict(d) for d in analysis.training.disagreements]}),
    }


def summary_json(analysis: Analysis) -> dict[str, Any]:
    """Whole-model figures of one analysis as a JSON-ready dict."""
    return _jsonable(summary_record(analysis))


def summaries_json(analyses: Sequence[Analysis], measured: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Whole-model figures of several analyses, with ``measured``'s per-model figures (a latency) where given
    (see :func:`~.frames.summary_frame`; a figure not measured is null)."""
    records = [summary_json(a) for a in analyses]
    if measured is None or measured.empty:
        return records
    extra = measured.drop_duplicates(Column.MODEL.key).set_index(Column.MODEL.key)
    for record in records:
        row = extra.loc[record[Column.MODEL.key]] if record[Column.MODEL.key] in extra.index else None
        record.update({str(key): _json_value(None if row is None else row[key]) for key in extra.columns})
    return records


def _json_value(value: Any) -> Any:
    """A frame cell for JSON: numpy scalars as Python numbers, a missing value as null."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def json_text(data: Any) -> str:
    """``data`` as indented JSON text ending in a newline."""
    return json.dumps(data, indent=2) + "\n"


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as CSV (RFC 4180 lines): raw integers; shapes as ``1x3x224x224``; operator tallies as
    ``op×calls; ...``; texts a spreadsheet would run as formulas neutralised (:func:`~.safe.csv_cell`).

    Lines end in CR LF, so a cell holding a line break of either kind is quoted and every reader sees
    one row per record.
    """
    plain = frame.copy()
    for key in plain.columns:
        col = column(str(key))
        values = [col.plain(value) for value in plain[key]] if col is not None else list(plain[key])
        if any(isinstance(value, str) for value in values):
            plain[key] = pd.Series([csv_cell(value) for value in values], index=plain.index, dtype=object)
        elif col is not None:
            plain[key] = values
    plain.columns = [csv_cell(str(key)) for key in plain.columns]
    return plain.to_csv(index=False, lineterminator="\r\n")


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame`` as JSON-ready row objects: raw numbers, tuples as lists, missing values as None."""
    return json.loads(frame.to_json(orient="records", double_precision=15))


def section_json(section: Section) -> dict[str, Any]:
    """A section as a JSON-ready dict: its ``values`` (figures of the whole section), ``title``, ``intro``,
    ``notes``, ``rows`` of the main table, its ``footer`` (total row, or None) and ``tables``, each with a
    ``caption`` and ``rows``."""
    return {
        **dict(section.values),
        "title": section.title,
        "intro": section.intro,
        "notes": list(section.notes),
        "rows": frame_records(section.frame),
        "footer": json.loads(pd.Series(dict(section.footer), dtype=object).to_json()) if section.footer else None,
        "tables": [{"caption": table.caption, "rows": frame_records(table.frame)} for table in section.tables],
    }
