"""Study ``conventions``: why counting tools disagree about the same network.

Every convention of :mod:`analyzer.conventions` (convcost, the papers, torchvision,
fvcore, FlopCounterMode, thop, ptflops, torchinfo) recomputed from one analysis: each
tool's total next to convcost's all-op FLOPs and conv + linear MACs, and every tool's
count per operator with the rule behind it (:func:`analyzer.conventions.explain`). The
totals differ in two ways: which operators a tool counts, and whether a multiply-add is
one unit or two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ..analysis import Analysis
from ..conventions import CONVENTIONS, ReconciliationRow, convention_total, explain
from .common import records_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ConventionsStudy", "ToolTotal", "conventions_study"]


@dataclass(frozen=True)
class ToolTotal:
    """One tool's total for the analysed network.

    Attributes:
        tool: convention name; source: the tool and version its rules come from.
        unit: what the tool calls its total.
        total: the tool's number (its own unit).
        flops: convcost's all-op FLOPs; macs: convcost's conv + linear MACs (same analysis).
    """

    tool: str
    source: str
    unit: str
    total: int
    flops: int
    macs: int

    @property
    def of_flops(self) -> float | None:
        """``total`` as a fraction of convcost's all-op FLOPs (None for a model with no FLOPs)."""
        return self.total / self.flops if self.flops else None

    @property
    def of_macs(self) -> float | None:
        """``total`` over convcost's conv + linear MACs (2.0 for a tool counting 2 FLOPs per MAC and nothing
        else; None for a model with no conv or linear layer)."""
        return self.total / self.macs if self.macs else None


@dataclass(frozen=True)
class ConventionsStudy:
    """Result of :func:`conventions_study`.

    Attributes:
        model: analysed model; input_shape: its (first) input shape.
        flops: convcost's all-op FLOPs; macs: conv + linear MACs.
        totals: one per tool, in :data:`analyzer.conventions.CONVENTIONS` order.
        counts: tool → its count of every operator either side counts (rows sum to both totals).
    """

    model: str
    input_shape: tuple[int, ...]
    flops: int
    macs: int
    totals: tuple[ToolTotal, ...]
    counts: dict[str, tuple[ReconciliationRow, ...]]

    def total(self, tool: str) -> ToolTotal:
        """The total of ``tool``.

        Raises:
            KeyError: ``tool`` is not in the study.
        """
        for total in self.totals:
            if total.tool == tool:
                return total
        raise KeyError(f"no convention {tool!r}; have {', '.join(t.tool for t in self.totals)}")

    def reconciliation(self, tool: str) -> tuple[ReconciliationRow, ...]:
        """``tool``'s count of every operator either side counts; the rows sum to both totals."""
        self.total(tool)
        return self.counts[tool]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per tool: source, unit, total, and the total against convcost's FLOPs and MACs."""
        return records_frame(self.totals)

    def ops_dataframe(self) -> pd.DataFrame:
        """One row per operator key: convcost's FLOPs, then one column per other tool (its count of the operator).

        Operators in convcost's order (largest FLOPs first), then those only a tool counts.
        """
        import pandas as pd

        frame = pd.DataFrame([{"tool": tool, **asdict(row)} for tool, rows in self.counts.items() for row in rows])
        wide = frame.pivot_table(index="op", columns="tool", values="tool_value", aggfunc="sum", fill_value=0)
        flops = frame.groupby("op")["convcost_flops"].max()
        order = sorted(wide.index, key=lambda op: -flops[op])
        tools = [total.tool for total in self.totals if total.tool in wide.columns and total.tool != "convcost"]
        result = pd.DataFrame({"op": order, "convcost_flops": [int(flops[op]) for op in order]})
        for tool in tools:
            result[tool] = [int(wide.loc[op, tool]) for op in order]
        return result

    def reconciliation_dataframe(self, tool: str) -> pd.DataFrame:
        """``op, convcost_flops, <tool>, difference, rule`` for one tool."""
        frame = records_frame(self.reconciliation(tool)).rename(columns={"tool_value": tool})
        return frame[["op", "convcost_flops", tool, "difference", "rule"]]


def conventions_study(analysis: Analysis, tools: Sequence[str] = CONVENTIONS) -> ConventionsStudy:
    """Every tool's total and per-operator counts for ``analysis``.

    Raises:
        ValueError: an unknown tool (the message lists the valid ones).
    """
    flops, macs = analysis.totals.flops, analysis.totals.macs
    totals = []
    for tool in tools:
        convention = convention_total(analysis, tool)
        totals.append(ToolTotal(tool, convention.source, convention.unit, convention.total, flops, macs))
    counts = {tool: explain(analysis, tool) for tool in tools}
    shape = analysis.input_shapes[0] if analysis.input_shapes else ()
    return ConventionsStudy(analysis.model, shape, flops, macs, tuple(totals), counts)
