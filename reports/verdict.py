"""The cross-check verdict of an analysis (:attr:`Analysis.verdict`), in words and tables, for every format.

The analyzer decides what agrees and which engine is primary; this module only words it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from convcost.analyzer import ALL, Analysis, Verdict

from .columns import Column
from .prose import count_text
from .sections import Table


@dataclass(frozen=True)
class CheckView:
    """One analysis's verdict ready to show.

    Attributes:
        ok: every conv/linear layer matches its formula and no two engines disagree.
        checked: conv/linear layers that ran, each compared with its formula.
        sentences: the verdict in words.
        differing, engines, disagreements: the verdict's tables (possibly empty).
    """

    ok: bool
    checked: int
    sentences: tuple[str, ...]
    differing: pd.DataFrame
    engines: pd.DataFrame
    disagreements: pd.DataFrame

    def tables(self) -> list[Table]:
        """Every table that has rows."""
        tables = [Table("Layers whose formula differs from the measurement", self.differing),
                  Table("Totals per engine", self.engines),
                  Table("Layers where the engines disagree", self.disagreements)]
        return [table for table in tables if not table.frame.empty]


def _names(names: list[str]) -> str:
    """``["a", "b", "c"]`` → ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def sentences(verdict: Verdict) -> tuple[str, ...]:
    """The verdict in words: formula agreement, then what the engines say (or which ones did not run).

    """
    said = [f"{verdict.agreeing} of {verdict.checked} conv/linear layers agree with their closed-form formula "
            f"(params from hyper-parameters; MACs measured by the {verdict.primary_engine} engine)."]
    if len(verdict.engines_run) > 1:
        names = ", ".join(name.value for name in verdict.engines_run)
        count = len(verdict.disagreements)
        said.append(f"Engines {names}: " + (f"{count} disagreements." if count else "agree on every module."))
    elif verdict.engines_not_run:
        said.append(f"One engine ran; with --engine {ALL}, {_names(list(verdict.engines_not_run))} count every "
                    "module too and every module where they differ is listed.")
    said.append(f"{verdict.compared_share:.1%} of the MACs ({count_text(verdict.compared_macs)} of "
                f"{count_text(verdict.total_macs)}) were counted a second way.")
    return tuple(said)


def check_view(analysis: Analysis) -> CheckView:
    """The verdict of ``analysis`` as sentences and tables."""
    verdict = analysis.verdict
    differing = pd.DataFrame(
        [{Column.NAME.key: layer.name, Column.KIND.key: layer.kind, Column.PARAMS.key: layer.params,
          "Formula params": layer.check.analytic_params, "Measured MACs": layer.check.measured_macs,
          "Formula MACs": layer.check.analytic_macs}
         for layer in verdict.differing if layer.check is not None],
        columns=[Column.NAME.key, Column.KIND.key, Column.PARAMS.key, "Formula params", "Measured MACs",
                 "Formula MACs"])
    engines = pd.DataFrame(
        [{"Engine": e.engine.value, Column.MACS.key: e.macs, Column.FLOPS.key: e.flops,
          Column.UNSUPPORTED_OPS.key: e.unsupported_ops} for e in verdict.engine_totals]
        if len(verdict.engine_totals) > 1 else [],
        columns=["Engine", Column.MACS.key, Column.FLOPS.key, Column.UNSUPPORTED_OPS.key])
    disagreements = pd.DataFrame(
        [{Column.NAME.key: d.layer, "Quantity": d.quantity,
          "Values": ", ".join(f"{engine}={value:,}" for engine, value in d.values.items()), "Reason": d.reason}
         for d in verdict.disagreements], columns=[Column.NAME.key, "Quantity", "Values", "Reason"])
    return CheckView(verdict.ok, verdict.checked, sentences(verdict), differing, engines, disagreements)
