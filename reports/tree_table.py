"""A model's layers as a module tree for the HTML page: inclusive subtotals on every row, shares of the whole.

The page gets the tree as data (:func:`layer_tree`, embedded as JSON) and draws only the rows that are
open, so a table of a thousand modules costs the browser what its visible rows cost. Each cell carries its
display text and its raw value: sorting and filtering work on raw values, never on parsed display text.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from convcost.analyzer import Analysis, ConvKind
from convcost.analyzer.naming import ancestors

from .columns import Column
from .frames import ROOT_LABEL, layer_frame
from .units import Unit, human

#: Tree columns after the layer's name: inclusive costs (the module and everything inside it), with shares.
TREE_COLUMNS: tuple[Column, ...] = (
    Column.TYPE, Column.OUTPUT_SHAPE, Column.SUBTREE_PARAMS, Column.PARAMS_SHARE, Column.SUBTREE_MACS,
    Column.MACS_SHARE, Column.SUBTREE_FLOPS, Column.FLOPS_SHARE, Column.SUBTREE_OUTPUT_BYTES,
    Column.SUBTREE_SAVED_BYTES,
)
#: Added when the analysis counted a training step.
TREE_BACKWARD_COLUMNS: tuple[Column, ...] = (Column.SUBTREE_BACKWARD_MACS,)
#: Rows opened when the page loads: the root and its children.
OPEN_DEPTH = 1


@dataclass(frozen=True)
class TreeColumn:
    """A column header of the tree: title, unit (in words), whether it sorts as a number, and whether its
    cells round an integer (a count or bytes) that a hover shows exactly."""

    key: str
    title: str
    meaning: str
    numeric: bool
    exact: bool = False


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _type_text(row: Mapping[Hashable, Any]) -> str:
    """The class name, with the conv kind where it says more than the class (``Conv2d (depthwise)``)."""
    kind = row[Column.KIND.key]
    return f"{row[Column.TYPE.key]} ({kind})" if kind and kind != ConvKind.LINEAR else str(row[Column.TYPE.key])


def _parents(names: list[str]) -> list[int]:
    """For each dotted name, the row of the nearest module above it (-1 for the root)."""
    index = {name: i for i, name in enumerate(names)}
    return [next((index[above] for above in ancestors(name)[1:] if above in index), -1) for name in names]


def layer_tree(analysis: Analysis) -> dict[str, Any]:
    """The layer table as a tree for the page's script.

    Returns ``{"columns": [...], "rows": [...], "open_depth": n}``. A row is ``[parent, depth, label, cells,
    values]``: ``parent`` the row of the module above (-1 for the root), ``cells`` the display texts and
    ``values`` the raw values (numbers, or text for text columns) of :data:`TREE_COLUMNS`.
    """
    frame = layer_frame(analysis)
    totals = analysis.totals
    columns = [*TREE_COLUMNS, *(TREE_BACKWARD_COLUMNS if analysis.training is not None else ())]
    records = frame.to_dict("records")
    names = [str(record[Column.NAME.key]) for record in records]
    rows = []
    for name, parent, record in zip(names, _parents(names), records, strict=True):
        values: dict[Column, Any] = {
            **{column: record.get(column.key) for column in columns},
            Column.TYPE: _type_text(record),
            Column.PARAMS_SHARE: _share(record[Column.SUBTREE_PARAMS.key], totals.params),
            Column.FLOPS_SHARE: _share(record[Column.SUBTREE_FLOPS.key], totals.flops),
        }
        raw = [_raw(column, values[column]) for column in columns]
        cells = [human(column.unit, values[column]) if values[column] is not None else "" for column in columns]
        rows.append([parent, int(record[Column.DEPTH.key]), name.rsplit(".", 1)[-1] if name else ROOT_LABEL,
                     cells, raw])
    header = [TreeColumn(Column.NAME.key, "Module", "the module's attribute name; its dotted name on hover", False),
              *(TreeColumn(c.key, c.title, c.meaning, c.is_numeric, c.unit in (Unit.COUNT, Unit.BYTES))
                for c in columns)]
    return {"columns": [vars(column) for column in header], "rows": rows, "names": names,
            "open_depth": OPEN_DEPTH}


def _raw(column: Column, value: Any) -> Any:
    """The value a sort compares: numbers as numbers, shapes as their element count, other text as text."""
    if value is None:
        return None
    if column.unit is Unit.SHAPE:
        count = 1
        for size in value:
            count *= int(size)
        return count
    if column.is_numeric:
        return float(value) if isinstance(value, float) else int(value)
    return str(value)
