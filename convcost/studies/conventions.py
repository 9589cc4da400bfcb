"""Study ``conventions``: why counting tools disagree about the same network.

Every convention of :mod:`convcost.analyzer.conventions` (convcost, the papers, torchvision,
fvcore, FlopCounterMode, thop, ptflops, torchinfo) recomputed from one analysis: each
tool's total next to convcost's all-op FLOPs and conv + linear MACs, and every tool's
count per operator with the rule behind it (:func:`convcost.analyzer.conventions.explain`). The
totals differ in two ways: which operators a tool counts, and whether a multiply-add is
one unit or two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from convcost.analyzer import Analysis
from convcost.analyzer.conventions import CONVENTIONS, Convention, ReconciliationRow, convention_total, explain
from convcost.reports.chart_style import PALETTE, SMALL, chart_style, legend_outside, new_figure, set_caption
from convcost.reports.charts import ChartJob, axis_units
from convcost.reports.prose import count_text, names, verb
from convcost.reports.reconciliation import reconciliation_frame
from convcost.reports.sections import Section, Table
from convcost.reports.units import Unit, human_count, shape_text

from .base import Invocation, Study, register_study
from .common import AnalysisJob, records_frame

__all__ = ["CONVENTIONS_MODEL", "ConventionsStudy", "ToolTotal", "conventions_section", "conventions_study"]

#: The model whose totals the report's conventions study compares (at its native 224 px).
CONVENTIONS_MODEL = "efficientnet_b0"


@dataclass(frozen=True)
class ToolTotal:
    """One tool's total for the analysed network.

    Attributes:
        tool: convention name; source: the tool and version its rules come from.
        unit: what the tool calls its total.
        total: the tool's number (its own unit).
        flops: convcost's all-op FLOPs; macs: convcost's conv + linear MACs (same analysis).
    """

    tool: Convention
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
        totals: one per tool, in :data:`convcost.analyzer.conventions.CONVENTIONS` order.
        counts: tool → its count of every operator either side counts (rows sum to both totals).
    """

    model: str
    input_shape: tuple[int, ...]
    flops: int
    macs: int
    totals: tuple[ToolTotal, ...]
    counts: dict[Convention, tuple[ReconciliationRow, ...]]

    def total(self, tool: Convention | str) -> ToolTotal:
        """The total of ``tool``.

        Raises:
            KeyError: ``tool`` is not in the study.
        """
        for total in self.totals:
            if total.tool == tool:
                return total
        raise KeyError(f"no convention {tool!r}; have {', '.join(t.tool for t in self.totals)}")

    def reconciliation(self, tool: Convention | str) -> tuple[ReconciliationRow, ...]:
        """``tool``'s count of every operator either side counts; the rows sum to both totals."""
        return self.counts[self.total(tool).tool]

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
        tools = [total.tool for total in self.totals
                 if total.tool in wide.columns and total.tool != Convention.CONVCOST]
        result = pd.DataFrame({"op": order, "convcost_flops": [int(flops[op]) for op in order]})
        for tool in tools:
            result[tool] = [int(wide.loc[op, tool]) for op in order]
        return result

    def reconciliation_dataframe(self, tool: Convention | str) -> pd.DataFrame:
        """``op, convcost_flops, <tool>, difference, rule`` for one tool."""
        return reconciliation_frame(str(tool), self.reconciliation(tool))


def conventions_study(analysis: Analysis, tools: Sequence[Convention | str] = CONVENTIONS) -> ConventionsStudy:
    """Every tool's total and per-operator counts for ``analysis``.

    Raises:
        ValueError: an unknown tool (the message lists the valid ones).
    """
    flops, macs = analysis.totals.flops, analysis.totals.macs
    totals = []
    counts: dict[Convention, tuple[ReconciliationRow, ...]] = {}
    for tool in tools:
        convention = convention_total(analysis, tool)
        totals.append(ToolTotal(convention.tool, convention.source, convention.unit, convention.total, flops, macs))
        counts[convention.tool] = explain(analysis, convention.tool)
    shape = analysis.input_shapes[0] if analysis.input_shapes else ()
    return ConventionsStudy(analysis.model, shape, flops, macs, tuple(totals), counts)


# --- report section ---------------------------------------------------------------------


def conventions_section(study: ConventionsStudy) -> Section:
    """Every tool's total for one analysis, and each split by operator."""
    frame = study.to_dataframe()[["tool", "source", "unit", "total", "of_flops", "of_macs"]]
    ops = study.ops_dataframe()
    only_macs = [t.tool for t in study.totals if t.total == study.macs]
    double = [t.tool for t in study.totals if t.total == 2 * study.macs]
    totals = "; ".join(f"{t.tool} {count_text(t.total)}" for t in study.totals)
    intro = (
        f"The same network, {study.model} with input {shape_text(study.input_shape)}, counted under the rules of "
        f"{len(study.totals)} conventions, each recomputed exactly from convcost's own per-operator counts: {totals}. "
        "They differ in which operators they count and in whether a multiply-add is one unit or two."
    )
    if only_macs:
        intro += f" {names(only_macs)} {verb(only_macs)} conv + linear multiply-adds only ({count_text(study.macs)})."
    if double:
        intro += f" {names(double)} {verb(double)} 2 per multiply-add and nothing else ({count_text(2 * study.macs)})."
    intro += (" convcost counts 2 per multiply-add plus every other operator "
              f"({count_text(study.flops)} all-op FLOPs); the other tools add some of the remaining operators, each "
              "by its own rule. The second table splits every total by operator; "
              f"convcost explain {study.model} --vs TOOL names the rule behind each number.")
    tools = [t.tool for t in study.totals]
    title = f"{study.model}, input {shape_text(study.input_shape)}: each convention's total, split by operator"
    return Section(
        "Conventions: why the tools disagree", intro, frame,
        figures=[ChartJob("conventions", conventions_chart, (ops, tools, title))],
        tables=[Table("What each tool counts, operator by operator (convcost FLOPs first)", ops)],
    )


def conventions_chart(ops: pd.DataFrame, tools: list[str], title: str) -> Figure:
    """Each tool's total as a horizontal bar split by operator: why the totals differ.

    Args:
        ops: one row per operator with ``op``, ``convcost_flops`` and one column per tool in ``tools``.
        tools: tool columns in display order; ``convcost`` reads ``convcost_flops``.
    """
    columns = {tool: "convcost_flops" if tool == "convcost" else tool for tool in tools}
    with chart_style():
        figure = new_figure(2.4 + 0.42 * len(tools))
        axes = figure.subplots()
        left = pd.Series(0.0, index=tools)
        for index, (_, row) in enumerate(ops.iterrows()):
            values = pd.Series([float(row[columns[tool]]) for tool in tools], index=tools)
            axes.barh(range(len(tools)), values, left=left, label=str(row["op"]),
                      color=PALETTE[index % len(PALETTE)])
            left += values
        for position, total in enumerate(left):
            axes.annotate(human_count(total), (total, position), xytext=(3, 0), textcoords="offset points",
                          va="center", fontsize=SMALL)
        axes.set_yticks(range(len(tools)), tools)
        axes.invert_yaxis()
        axes.set_xlabel("the tool's total (its own unit: FLOPs, MACs or 'flops'), split by operator")
        axes.set_ylabel("convention")
        axis_units(axes, "x", Unit.COUNT, log=False)
        axes.margins(x=0.12)
        legend_outside(figure, title="operator")
        figure.suptitle(title)
        set_caption(figure, (
            "Per convention (y): its total for the network (x, count, in the convention's own unit: FLOPs, MACs "
            "or 'flops'), split by the operators it counts; the number at a bar's end is the total."))
    return figure


# --- the plug-in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConventionsSettings:
    """The registry model counted (at its native resolution)."""

    model: str = CONVENTIONS_MODEL


class Conventions(Study[ConventionsSettings, ConventionsStudy]):
    """Why counting tools disagree, operator by operator (``convcost explain`` takes any model)."""

    name = "conventions"
    title = "why fvcore, thop, ptflops, torchinfo and FlopCounterMode disagree, operator by operator"
    position = 70
    invocation = Invocation.REPORT_ONLY

    def report_settings(self) -> ConventionsSettings:
        """EfficientNet-B0."""
        return ConventionsSettings()

    def jobs(self, settings: ConventionsSettings) -> list[AnalysisJob]:
        """The model's native analysis."""
        return [AnalysisJob.of(settings.model)]

    def assemble(self, settings: ConventionsSettings, results: Mapping[Any, Any]) -> ConventionsStudy:
        """:func:`conventions_study` of every convention."""
        return conventions_study(results[AnalysisJob.of(settings.model)])

    def section(self, result: ConventionsStudy) -> Section:
        """:func:`conventions_section`."""
        return conventions_section(result)


register_study(Conventions())
