"""The cross-check verdict of an analysis, in words and frames, for the terminal and HTML alike."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analyzer import Analysis

from .columns import Column


@dataclass(frozen=True)
class Verdict:
    """How far the numbers of one analysis are checked, and what differs.

    Attributes:
        ok: every conv/linear layer matches its formula and no two engines disagree.
        checked: conv/linear layers that ran, each compared with its formula.
        sentences: the verdict in words.
        differing: conv/linear layers whose formula params or MACs differ from the measured ones.
        engines: totals per engine (empty when only one engine ran).
        disagreements: layers where engines differ, with the reason.
    """

    ok: bool
    checked: int
    sentences: tuple[str, ...]
    differing: pd.DataFrame
    engines: pd.DataFrame
    disagreements: pd.DataFrame

    def tables(self) -> list[tuple[str, pd.DataFrame]]:
        """(caption, frame) of every table that has rows."""
        tables = [("Layers whose formula differs from the measurement", self.differing),
                  ("Totals per engine", self.engines), ("Layers where the engines disagree", self.disagreements)]
        return [(caption, frame) for caption, frame in tables if not frame.empty]


def verdict(analysis: Analysis) -> Verdict:
    """Compare every conv/linear layer with its closed-form formula, and the engines with each other."""
    checked = [layer for layer in analysis.layers if layer.check is not None and layer.calls]
    differing = pd.DataFrame(
        [{Column.NAME.key: layer.name, Column.KIND.key: layer.kind, Column.PARAMS.key: layer.params,
          "Formula params": layer.check.analytic_params, "Measured MACs": layer.check.measured_macs,
          "Formula MACs": layer.check.analytic_macs}
         for layer in checked if layer.check is not None and not layer.check.agrees],
        columns=[Column.NAME.key, Column.KIND.key, Column.PARAMS.key, "Formula params", "Measured MACs",
                 "Formula MACs"])
    measured_by = "dispatch" if analysis.engine == "all" else analysis.engine
    sentences = [f"{len(checked) - len(differing)} of {len(checked)} conv/linear layers agree with their closed-form "
                 f"formula (params from hyper-parameters; MACs measured by the {measured_by} engine)."]
    engines = pd.DataFrame(
        [{"Engine": e.engine, Column.MACS.key: e.macs, Column.FLOPS.key: e.flops,
          Column.UNSUPPORTED_OPS.key: e.unsupported_ops} for e in analysis.engines] if len(analysis.engines) > 1
        else [], columns=["Engine", Column.MACS.key, Column.FLOPS.key, Column.UNSUPPORTED_OPS.key])
    disagreements = pd.DataFrame(
        [{Column.NAME.key: d.layer, "Quantity": d.quantity,
          "Values": ", ".join(f"{engine}={value:,}" for engine, value in d.values.items()), "Reason": d.reason}
         for d in analysis.disagreements], columns=[Column.NAME.key, "Quantity", "Values", "Reason"])
    if len(analysis.engines) > 1:
        names = ", ".join(e.engine for e in analysis.engines)
        sentences.append(f"Engines {names}: " + (f"{len(disagreements)} disagreements on conv/linear layers."
                                                 if len(disagreements) else "agree on every conv/linear layer."))
    else:
        sentences.append("One engine ran; with --engine all, fvcore and the analytic engine count every layer too "
                         "and every layer where they differ is listed.")
    ok = differing.empty and disagreements.empty
    return Verdict(ok, len(checked), tuple(sentences), differing, engines, disagreements)
