"""Cross-check of conv and linear layers across engines: every disagreement, with a reason."""

from __future__ import annotations

from .engines.counts import EngineCounts
from .records import Disagreement, LayerRecord


def _reason(values: dict[str, int]) -> str:
    if values.get("fvcore", 1) == 0 and any(values.values()):
        return ("fvcore attributed no conv/linear operator to this module: its trace scope misses calls made "
                "outside forward, or the ops were attributed to a parent")
    distinct = set(values.values())
    if len(distinct) == 2:
        odd = [engine for engine, value in values.items() if list(values.values()).count(value) == 1]
        if odd == ["analytic"]:
            return ("the measured operators differ from the layer's hyper-parameters: its forward does more "
                    "or other work than a plain conv/linear (e.g. a subclass calling extra ops)")
        if len(odd) == 1:
            return f"{odd[0]} differs from the formula and the other engine: a counting bug in {odd[0]}"
    return "all engines differ"


def cross_check(layers: tuple[LayerRecord, ...], engines: dict[str, EngineCounts]) -> tuple[Disagreement, ...]:
    """Disagreements on params (formula vs module) and MACs (formula vs every engine that ran)."""
    found: list[Disagreement] = []
    for layer in layers:
        check = layer.check
        if check is None or layer.calls == 0:
            continue
        if check.analytic_params != check.module_params:
            found.append(Disagreement(layer.name, "params", {"analytic": check.analytic_params,
                                                             "module": check.module_params},
                                      "the layer's weight and bias are not shaped as its hyper-parameters say"))
        values = {"analytic": check.analytic_macs}
        for name, counts in engines.items():
            if name != "analytic":
                values[name] = counts.macs(layer.name)
        if len(set(values.values())) > 1:
            found.append(Disagreement(layer.name, "macs", values, _reason(values)))
    return tuple(found)
