"""Cross-check across engines: every module whose MACs two engines count differently, with a reason.

Every module with multiply-accumulates is compared, not only conv and linear layers: matrix
products in ``F.linear``, ``matmul``, ``einsum`` and attention count as much. A conv or linear
layer's parameters are also checked against its hyper-parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from .engines import Engine, EngineCounts, EngineName, registered_engines
from .records import Disagreement, LayerRecord, TrainingCounts

#: A disagreement's entry for the parameters the layer's hyper-parameters call for.
FORMULA = "formula"


def _ops(names: Mapping[str, int] | None) -> str:
    return ", ".join(sorted(names or {}))


def _reason(module: str, values: dict[str, int], engines: Mapping[EngineName, EngineCounts]) -> str:
    """Why ``values`` (engine → MACs of ``module``) differ, in the words of the engine that stands out."""
    known: dict[str, Engine] = {engine.name.value: engine for engine in registered_engines()}
    lowest = min(values.values())
    low = [name for name, value in values.items() if value == lowest]
    if len(low) == 1:
        engine = known.get(low[0])
        counts = engines.get(engine.name) if engine is not None else None
        unsupported = counts.unsupported.get(module) if counts is not None else None
        if unsupported:
            label = engine.label if engine is not None else low[0]
            return f"{label} counts fewer here: it has no formula or handle for {_ops(unsupported)}"
        if lowest == 0 and engine is not None and engine.blind_spot:
            return engine.blind_spot
    distinct = set(values.values())
    if len(values) == 2 and EngineName.DISPATCH.value in values:  # the walk sees every aten op: the other differs
        odd = [name for name in values if name != EngineName.DISPATCH.value]
    else:
        odd = [name for name, value in values.items() if list(values.values()).count(value) == 1]
    if len(distinct) == 2 and len(odd) == 1:
        engine = known.get(odd[0])
        if engine is not None and engine.lone_reason:
            return engine.lone_reason
        return f"{odd[0]} differs from the other engines: a counting bug in {odd[0]}"
    return "the engines all differ"


def cross_check(layers: tuple[LayerRecord, ...],
                engines: Mapping[EngineName, EngineCounts]) -> tuple[Disagreement, ...]:
    """Disagreements on params (a layer's formula against its tensors) and on every module's own MACs (engine
    against engine)."""
    found: list[Disagreement] = []
    for layer in layers:
        check = layer.check
        if check is not None and layer.calls and check.analytic_params != check.module_params:
            found.append(Disagreement(layer.name, "params", {FORMULA: check.analytic_params,
                                                             "module": check.module_params},
                                      "the layer's weight and bias are not shaped as its hyper-parameters say"))
        values = {name.value: counts.macs(layer.name) for name, counts in engines.items()}
        if len(set(values.values())) > 1:
            reason = _moved(layer.name, layers, engines) or _reason(layer.name, values, engines)
            found.append(Disagreement(layer.name, "macs", values, reason))
    return tuple(found)


def _parent(name: str) -> str | None:
    return None if not name else name.rpartition(".")[0]


def _moved(module: str, layers: tuple[LayerRecord, ...], engines: Mapping[EngineName, EngineCounts]) -> str | None:
    """When one engine counts, in ``module`` or in its parent, exactly what the dispatch engine counts in the other
    (the same multiply-adds attributed one level apart), why; else None."""
    reference = engines.get(EngineName.DISPATCH)
    if reference is None:
        return None
    parent = _parent(module)
    pairs = [(parent, module)] if parent is not None else []
    pairs += [(module, layer.name) for layer in layers if layer.name and _parent(layer.name) == module]
    known = {engine.name: engine for engine in registered_engines()}
    for name, counts in engines.items():
        if name == EngineName.DISPATCH:
            continue
        for outer, inner in pairs:
            assert outer is not None
            shift = counts.macs(outer) - reference.macs(outer)
            if shift and reference.macs(inner) - counts.macs(inner) == shift:
                label = known[name].label if name in known else name.value
                where = f"'{outer}'" if outer else "the root module"
                return (f"{label} counts {shift:,} multiply-adds in {where} that the dispatch engine counts in its "
                        f"child '{inner}': its module scopes open after a module's own forward pre-hooks (old-style "
                        "spectral_norm and weight_norm compute the weight in one), so what those run counts in the "
                        "parent; the two modules together agree")
    return None


def compared_macs(layers: tuple[LayerRecord, ...], engines: Mapping[EngineName, EngineCounts],
                  primary: EngineName) -> int:
    """MACs of the primary engine counted a second way: in a conv/linear layer checked against its formula, or
    in a module another engine also saw multiply-accumulates in."""
    others = [counts for name, counts in engines.items() if name != primary]
    return sum(layer.macs for layer in layers
               if layer.macs and ((layer.check is not None and layer.calls)
                                  or any(counts.macs(layer.name) for counts in others)))


def backward_check(layers: tuple[LayerRecord, ...], training: TrainingCounts) -> tuple[Disagreement, ...]:
    """Conv/linear layers whose backward products do not fit the closed form: each call's grad-input and
    grad-weight MACs equal the layer's forward MACs from its hyper-parameters, or 0 where autograd needs no such
    gradient (a frozen weight; an input nothing upstream trains; an output the loss does not use). A layer
    called once must show 0 or the forward MACs; one called several times, no more than the forward's total."""
    found: list[Disagreement] = []
    for layer in layers:
        check, cost = layer.check, training.layers.get(layer.name)
        if check is None or cost is None or not layer.calls:
            continue
        expected = check.analytic_macs
        frozen = layer.params and not layer.trainable_params
        measured: tuple[tuple[Literal["grad_weight_macs", "grad_input_macs"], int], ...] = (
            ("grad_weight_macs", cost.grad_weight_macs), ("grad_input_macs", cost.grad_input_macs))
        for quantity, value in measured:
            fits = value in (0, expected) if layer.calls == 1 else 0 <= value <= expected
            if quantity == "grad_weight_macs" and frozen:
                fits = value == 0
            if not fits:
                found.append(Disagreement(layer.name, quantity, {FORMULA: expected, EngineName.DISPATCH.value: value},
                                          "each call's gradient should cost the forward's MACs, or nothing where "
                                          "autograd needs none (a frozen weight gets none)"))
    return tuple(found)
