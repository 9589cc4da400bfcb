"""Cross-check of conv and linear layers across engines: every disagreement, with a reason."""

from __future__ import annotations

from collections.abc import Mapping

from .engines import EngineCounts, EngineName, registered_engines
from .records import Disagreement, LayerRecord

#: A disagreement's entry for the closed-form formula: the analytic engine's per-layer count is the formula.
FORMULA = EngineName.ANALYTIC.value


def _reason(values: dict[str, int]) -> str:
    """Why ``values`` (source → MACs) differ, in the words of the engine that stands out."""
    engines = {engine.name.value: engine for engine in registered_engines()}
    if any(values.values()):
        for source, value in values.items():
            engine = engines.get(source)
            if value == 0 and engine is not None and engine.blind_spot:
                return engine.blind_spot
    distinct = set(values.values())
    if len(distinct) == 2:
        odd = [source for source, value in values.items() if list(values.values()).count(value) == 1]
        if len(odd) == 1:
            engine = engines.get(odd[0])
            if engine is not None and engine.lone_reason:
                return engine.lone_reason
            return f"{odd[0]} differs from the formula and the other engine: a counting bug in {odd[0]}"
    return "all engines differ"


def cross_check(layers: tuple[LayerRecord, ...],
                engines: Mapping[EngineName, EngineCounts]) -> tuple[Disagreement, ...]:
    """Disagreements on params (formula vs module) and MACs (formula vs every engine that ran)."""
    found: list[Disagreement] = []
    for layer in layers:
        check = layer.check
        if check is None or layer.calls == 0:
            continue
        if check.analytic_params != check.module_params:
            found.append(Disagreement(layer.name, "params", {FORMULA: check.analytic_params,
                                                             "module": check.module_params},
                                      "the layer's weight and bias are not shaped as its hyper-parameters say"))
        values = {FORMULA: check.analytic_macs}
        for name, counts in engines.items():
            if name.value != FORMULA:
                values[name.value] = counts.macs(layer.name)
        if len(set(values.values())) > 1:
            found.append(Disagreement(layer.name, "macs", values, _reason(values)))
    return tuple(found)
