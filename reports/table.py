"""Terminal tables: a depth-limited module tree, comparison tables, and the conventions footnote."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from convcost.analyzer import Analysis, Execution
from convcost.analyzer.conventions import Convention, ConventionTotal, flopcounter_backward_gaps

from .columns import LATENCY_SUMMARY_COLUMNS, SUMMARY_COLUMNS, TABLE_COLUMNS, Column, conventions
from .display import display_frame, display_row
from .frames import ROOT_LABEL, layer_row
from .safe import clipped, printable
from .sections import Section
from .units import ops_text, shape_text
from .verdict import check_view

FOOTNOTE_WIDTH = 100
#: Longest module name or type a table row shows (files keep the whole name).
NAME_WIDTH = 48
#: Title of the tree table's share column.
SHARE_TITLE = "% MACs"
#: Summary columns worth a terminal column (the rest are in the files).
_SCREEN_SUMMARY = tuple(c for c in SUMMARY_COLUMNS if c not in (
    Column.RESOLUTION, Column.TRAINABLE_PARAMS, Column.FROZEN_PARAMS, Column.BUFFERS, Column.PEAK_MODULE,
    Column.CPU_PEAK_BYTES, Column.UNSUPPORTED_OPS))


def align(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool],
          footer: Sequence[Sequence[str]] = ()) -> str:
    """Rows of cells under ``headers`` in aligned columns (``right[i]``: right-align column i).

    ``footer`` rows (totals) follow a second rule.
    """
    widths = [max(len(cell) for cell in cells) for cells in zip(headers, *rows, *footer, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(cells, widths, right, strict=True)]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [line(headers), rule, *(line(row) for row in rows)]
    if footer:
        lines += [rule, *(line(row) for row in footer)]
    return "\n".join(lines)


def tree_prefixes(names: Sequence[str]) -> dict[str, str]:
    """The tree lines (``├─``, ``│``, ``└─``) in front of each of ``names`` (dotted module names, root ``""``
    first, parents before children)."""
    children: dict[str, list[str]] = {}
    for name in names:
        if name:
            children.setdefault(name.rpartition(".")[0], []).append(name)
    prefixes = {"": ""}
    stack = [(kid, "", kid == kids[-1]) for kids in [children.get("", [])] for kid in reversed(kids)]
    while stack:
        name, lead, last = stack.pop()
        prefixes[name] = lead + ("└─ " if last else "├─ ")
        below = children.get(name, [])
        stack += [(kid, lead + ("   " if last else "│  "), kid == below[-1]) for kid in reversed(below)]
    return prefixes


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if part and whole else "--"


@dataclass(frozen=True)
class TreeRows:
    """The module tree as display cells: headers, rows, which columns are numeric, and a total row (or none)."""

    headers: list[str]
    rows: list[list[str]]
    right: list[bool]
    footer: list[list[str]]


def tree_rows(analysis: Analysis, depth: int | None = 3, *, own: bool = False) -> TreeRows:
    """Modules down to ``depth`` (None: all) as tree rows, with each row's share of the model's MACs.

    A row shows its module's subtree, children included (:meth:`Analysis.total`), so a parent row
    answers "what does this part cost?" and the root row is the whole model. With ``own``, a row shows
    only its module's own costs (a row whose children are hidden still shows its subtree) and a total
    row follows, so the rows add up to it.
    """
    shown = [layer for layer in analysis.layers if depth is None or layer.depth <= depth]
    prefixes = tree_prefixes([layer.name for layer in shown])
    rows = []
    for layer in shown:
        name = layer.name.rpartition(".")[2] if layer.name else analysis.model
        label = (f"{prefixes.get(layer.name, '')}{clipped(printable(name), NAME_WIDTH)} "
                 f"({clipped(printable(layer.type), NAME_WIDTH)})")
        values = layer_row(layer, analysis)
        subtree = not own or (depth is not None and layer.depth == depth and not layer.is_leaf)
        if subtree:
            values.update({c.key: analysis.total(layer.name, c.metric) for c in TABLE_COLUMNS if c.metric is not None})
        backward = [] if analysis.training is None else [Column.BACKWARD_MACS.human(
            (analysis.training.subtree(layer.name) if subtree else analysis.training.layers[layer.name]).macs)]
        rows.append([label, *(c.human(values[c.key]) for c in TABLE_COLUMNS), *backward,
                     _share(values[Column.MACS.key], analysis.totals.macs)])
    extra = [] if analysis.training is None else [Column.BACKWARD_MACS]
    headers = [Column.NAME.title, *(c.title for c in (*TABLE_COLUMNS, *extra)), SHARE_TITLE]
    right = [False, *(c.is_numeric for c in (*TABLE_COLUMNS, *extra)), True]
    if not own:
        return TreeRows(headers, rows, right, [])
    totals = {Column.PARAMS: analysis.totals.params, Column.MACS: analysis.totals.macs,
              Column.FLOPS: analysis.totals.flops, Column.OUTPUT_BYTES: analysis.totals.activation_bytes,
              Column.SAVED_BYTES: analysis.totals.training_bytes}
    if analysis.training is not None:
        totals[Column.BACKWARD_MACS] = analysis.training.total.macs
    total_row = ["Total", *(c.human(totals[c]) if c in totals else "" for c in (*TABLE_COLUMNS, *extra)), "100.0%"]
    return TreeRows(headers, rows, right, [total_row])


def tree_table(analysis: Analysis, depth: int | None = 3, *, own: bool = False) -> str:
    """The module tree as an aligned text table (see :func:`tree_rows`)."""
    tree = tree_rows(analysis, depth, own=own)
    return align(tree.headers, tree.rows, tree.right, footer=tree.footer)


def _wrap(text: str, indent: str = "    ") -> str:
    """``text`` wrapped for a terminal, continuation lines indented by ``indent``."""
    return textwrap.fill(text, FOOTNOTE_WIDTH, subsequent_indent=indent, break_on_hyphens=False)


def footnote(dtype: str) -> str:
    """The counting conventions, wrapped for a terminal."""
    items = [_wrap(f"{term}: {meaning}.") for term, meaning in conventions(dtype)]
    return "\n".join(["Conventions:", *items])


def analysis_text(analysis: Analysis, depth: int | None = 3, *, own: bool = False, legend: bool = False) -> str:
    """The terminal report of one analysis: heading, tree table (see :func:`tree_table` for ``own``), memory,
    coverage and cross-check lines, and with ``legend`` the counting conventions."""
    totals = analysis.totals
    shapes = ", ".join(shape_text(s) for s in analysis.input_shapes)
    unsupported = analysis.unsupported_ops()
    coverage = (f"FLOPs exclude unsupported operators (calls): {ops_text(unsupported)}"
                if unsupported else "Unsupported operators: none (every operator has a formula)")
    check = check_view(analysis)
    checks = [_wrap("Cross-check: " + " ".join(check.sentences))]
    checks += [f"\n{table.caption}:\n{frame_text(table.frame)}" for table in check.tables()]
    walked = ([_wrap(f"Walked on real tensors (a copy of the model): {analysis.execution_reason}")]
              if analysis.execution is Execution.REAL else [])
    lines = [
        f"{printable(analysis.model)}: input {shapes} ({analysis.dtype}), engine {analysis.engine}",
        *walked,
        "",
        tree_table(analysis, depth, own=own),
        "",
        _wrap(f"{Column.PEAK_BYTES.title} (live activations): {Column.PEAK_BYTES.human(totals.peak_bytes)}"
              f" in {totals.peak_module or ROOT_LABEL}"
              + (f" ({Column.CPU_PEAK_BYTES.title} {Column.CPU_PEAK_BYTES.human(totals.workspace_peak_bytes)} in "
                 f"{totals.workspace_module or ROOT_LABEL}, with convolution scratch space)"
                 if totals.workspace_peak_bytes > totals.peak_bytes else "")
              + f"; {Column.BUFFERS.title}: {Column.BUFFERS.human(totals.buffers)}"),
        coverage,
        *checks,
        *(["", footnote(analysis.dtype)] if legend else []),
    ]
    return "\n".join(lines) + "\n"


def frame_text(frame: pd.DataFrame, unit_column: Column | None = None,
               footer: Mapping[str, Any] | None = None) -> str:
    """Any frame as an aligned table (see :func:`convcost.reports.display.display_frame` for ``unit_column``);
    counts outside the vocabulary stay exact, as a terminal reader comparing tools needs them.

    Args:
        footer: a total row keyed like the columns, shown under a second rule.
    """
    shown, numeric = display_frame(frame, unit_column, exact_counts=True)
    rows = [display_row(frame, footer, unit_column, exact_counts=True)] if footer else []
    return align(list(shown.columns), shown.values.tolist(), numeric, footer=rows)


def section_text(section: Section) -> str:
    """A report section for a terminal: title, intro, main table with its total row, notes, further tables.

    Charts are not shown (``--format html`` has them).
    """
    heading = f"{section.title}\n{'=' * len(section.title)}"
    parts = [f"{heading}\n{_wrap(section.intro, indent='')}",
             frame_text(section.frame, footer=section.footer)]
    if section.notes:
        parts.append("\n".join(_wrap(f"- {note}", "  ") for note in section.notes))
    parts += [f"{table.caption}\n{frame_text(table.frame)}" for table in section.tables]
    return "\n\n".join(parts) + "\n"


def summary_text(summary: pd.DataFrame) -> str:
    """A comparison table of whole-model figures (a :func:`convcost.reports.frames.summary_frame`)."""
    shown = [*_SCREEN_SUMMARY, *(c for c in LATENCY_SUMMARY_COLUMNS if c.key in summary)]
    return frame_text(summary[[c.key for c in shown]])


def convention_text(total: ConventionTotal, analysis: Analysis) -> str:
    """Two lines: the tool, its rules and its total, then convcost's FLOPs and MACs of the same analysis; with a
    training step under FlopCounterMode, the layers whose backward it miscounts and why."""
    text = (f"Convention {total.tool} ({total.source}): {total.total:,} ({total.unit})\n"
            + _wrap(f"convcost: {analysis.totals.flops:,} all-op FLOPs, {analysis.totals.macs:,} conv+linear MACs; "
                    f"convcost explain {analysis.model} --vs {total.tool} reconciles the two operator by operator")
            + "\n")
    gaps = flopcounter_backward_gaps(analysis) if total.tool == Convention.FLOPCOUNTER else ()
    if gaps:
        true_flops, tool_flops = sum(g.convcost_flops for g in gaps), sum(g.tool_flops for g in gaps)
        worst = gaps[0]
        text += _wrap(f"FlopCounterMode miscounts the backward of {len(gaps)} grouped convolutions: "
                      f"{tool_flops:,} FLOPs where their products take {true_flops:,}; the largest, "
                      f"{worst.layer}: {worst.tool_flops:,} for {worst.convcost_flops:,} ({worst.reason})") + "\n"
    return text
