"""One tool's total against convcost's FLOPs, operator by operator: the section of ``explain`` and
``analyze --convention`` (HTML)."""

from __future__ import annotations

import pandas as pd

from convcost.analyzer import Analysis
from convcost.analyzer.conventions import ConventionTotal, ReconciliationRow

from .sections import Section
from .units import shape_text


def reconciliation_frame(tool: str, rows: tuple[ReconciliationRow, ...]) -> pd.DataFrame:
    """``op, convcost_flops, <tool>, difference, rule``: one row per operator either side counts."""
    return pd.DataFrame(
        [{"op": row.op.value, "convcost_flops": row.convcost_flops, tool: row.tool_value,
          "difference": row.difference, "rule": row.rule} for row in rows],
        columns=["op", "convcost_flops", tool, "difference", "rule"])


def reconciliation_section(analysis: Analysis, total: ConventionTotal,
                           rows: tuple[ReconciliationRow, ...]) -> Section:
    """convcost's FLOPs against one tool's count, operator by operator, with a total row.

    Args:
        total: the tool's total for ``analysis``; rows: its reconciliation
            (:func:`convcost.analyzer.conventions.explain`).
    """
    tool, flops = total.tool.value, analysis.totals.flops
    shape = analysis.input_shapes[0] if analysis.input_shapes else ()
    intro = (f"{analysis.model}, input {shape_text(shape)}: {total.source} reports {total.total:,} (its "
             f"unit: {total.unit}); convcost counts {flops:,} all-op FLOPs. Below, operator by operator, each "
             f"side's count and the rule {tool} applies; difference is {tool} minus convcost, and the rows add up "
             "to both totals.")
    return Section(
        f"{analysis.model}: convcost against {tool}", intro, reconciliation_frame(tool, rows),
        footer={"op": "total", "convcost_flops": flops, tool: total.total, "difference": total.total - flops},
    )
