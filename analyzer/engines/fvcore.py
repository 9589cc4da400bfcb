"""The fvcore engine: ``FlopCountAnalysis`` on a traced forward pass with real tensors.

Conv and matrix-product MACs (``aten::_convolution``, ``addmm``, ``linear``, ``matmul``, ``mm``,
``bmm``: what a trace contains) come from fvcore's own handles, an independent count; every
operator fvcore leaves out or counts in other units gets a handle from convcost's formula
table, so the total is complete and in convcost's units. fvcore cannot trace on ``meta``
(its conv shape check fails), so a ``meta`` model is materialised into an uninitialised
CPU copy first; the user's model is never modified.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import AnalysisError, InputShapeError
from ..formulas.ops import OP_FORMULAS, OpCall, OpCost, OpFormula, OpKey, TensorArg
from ..formulas.table import DEFAULT_OPS, OpTable
from ..real_run import real_inputs, runnable_copy
from .base import EngineContext, EngineName, register_engine
from .counts import EngineCounts


def _import_fvcore() -> Any:
    # fvcore's import emits torch.jit deprecation warnings; analysis never prints
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import fvcore.nn as fvcore_nn
        from fvcore.nn import jit_handles
    return fvcore_nn, jit_handles


@dataclass(frozen=True)
class FvcoreMacs:
    """An operator fvcore counts with its own handle (which returns MACs).

    Attributes:
        handle: fvcore's ``(inputs, outputs) -> MACs`` function.
        bias_index: position of the bias argument, None when the operator has none.
    """

    handle: Callable[[list[Any], list[Any]], Any]
    bias_index: int | None


def _fvcore_macs_handles(fv: Any) -> dict[str, FvcoreMacs]:
    """Operators counted by fvcore's own handles, by aten name."""
    return {
        "aten::_convolution": FvcoreMacs(lambda i, o: fv.conv_flop_jit(i, o)["conv"], 2),
        "aten::addmm": FvcoreMacs(fv.addmm_flop_jit, 0),
        "aten::linear": FvcoreMacs(fv.linear_flop_jit, 2),
        "aten::matmul": FvcoreMacs(fv.matmul_flop_jit, None),
        "aten::mm": FvcoreMacs(fv.matmul_flop_jit, None),
        "aten::bmm": FvcoreMacs(fv.bmm_flop_jit, None),
    }

#: Prefix of the fvcore counter keys for operators that cost nothing.
FREE_PREFIX = "free|"
#: Prefix of the fvcore counter keys for operators fvcore has a handle for and convcost has no formula for.
UNSUPPORTED_PREFIX = "unsupported|"
#: Prefix of the fvcore counter keys for operators the analysis ignores.
IGNORED_PREFIX = "ignored|"
SIZE_ARITHMETIC = "traced size arithmetic (0-d tensors)"


def _jit_value(value: Any) -> Any:
    """A traced value as a formula argument: tensors as shapes, lists and traced sizes resolved."""
    node = value.node()
    if node.kind() == "aten::size":  # x.shape[d] in Python, traced: read it off x's type
        source, dim = list(node.inputs())
        sizes = source.type().sizes()
        return sizes[dim.toIValue()] if sizes is not None else None
    if node.kind() in ("aten::Int", "prim::NumToTensor"):
        return _jit_value(next(iter(node.inputs())))
    kind = value.type()
    if isinstance(kind, torch._C.TensorType):
        sizes = kind.sizes()
        return TensorArg(tuple(sizes)) if sizes is not None else None
    if node.kind() == "prim::ListConstruct":
        return [_jit_value(v) for v in node.inputs()]
    return value.toIValue()


def _jit_call(inputs: list[Any], outputs: list[Any]) -> OpCall:
    args = tuple(_jit_value(v) for v in inputs)
    shapes = tuple(v.shape for v in (_jit_value(o) for o in outputs) if isinstance(v, TensorArg))
    return OpCall(args, shapes)


def _is_size_arithmetic(call: OpCall) -> bool:
    tensors = [a for a in call.args if isinstance(a, TensorArg)]
    return bool(call.outputs) and all(len(s) == 0 for s in call.outputs) and all(len(t.shape) == 0 for t in tensors)


def _tally(key: str, cost: OpCost, call: OpCall) -> Counter[str]:
    return Counter({f"{key}|calls": 1, f"{key}|macs": cost.macs, f"{key}|flops": cost.flops,
                    f"{key}|in_elements": call.in_numel, f"{key}|out_elements": call.out_numel})


Handle = Callable[[list[Any], list[Any]], Counter[str]]


def _formula_handle(formula: OpFormula) -> Handle:
    def handle(inputs: list[Any], outputs: list[Any]) -> Counter[str]:
        call = _jit_call(inputs, outputs)
        if _is_size_arithmetic(call):
            return Counter({FREE_PREFIX + SIZE_ARITHMETIC: 1})
        return _tally(formula.key, formula.cost(call), call)

    return handle


def _macs_handle(name: str, fvcore_macs: Any, bias_index: int | None, table: OpTable) -> Handle:
    key = formula.key if (formula := table.formula(name)) is not None else OpKey.LINEAR

    fallback = table.formula(name)

    def handle(inputs: list[Any], outputs: list[Any]) -> Counter[str]:
        call = _jit_call(inputs, outputs)
        try:
            macs = int(fvcore_macs(inputs, outputs))
        except Exception:  # fvcore's handle reads fewer forms (a 1-D matmul operand): convcost's formula does
            if fallback is None:
                raise
            macs = fallback.cost(call).macs
        has_bias = bias_index is not None and isinstance(call.arg(bias_index), TensorArg)
        return _tally(key, OpCost(macs, 2 * macs + (call.out_numel if has_bias else 0)), call)

    return handle


def _free_handle(name: str) -> Handle:
    return lambda inputs, outputs: Counter({FREE_PREFIX + name: 1})


def _ignored_handle(name: str) -> Handle:
    return lambda inputs, outputs: Counter({IGNORED_PREFIX + name: 1})


def _unsupported_handle(name: str) -> Handle:
    return lambda inputs, outputs: Counter({UNSUPPORTED_PREFIX + name: 1})


def op_handles(jit_handles: Any, fvcore_defaults: Iterable[str] = (), table: OpTable = DEFAULT_OPS) -> dict[str, Any]:
    """fvcore handles for every operator convcost knows, and for every other one fvcore would count by its own
    rules (``fvcore_defaults``): those are listed as unsupported, as the dispatch engine lists them. An operator
    the analysis ignores counts nothing; one it overrides takes the override."""
    handles: dict[str, Any] = {name: _unsupported_handle(name) for name in fvcore_defaults}
    handles.update({name: _free_handle(name) for name in table.free})
    handles.update({name: _formula_handle(formula) for name, formula in table.formulas.items()})
    handles.update({name: _macs_handle(name, own.handle, own.bias_index, table)
                    for name, own in _fvcore_macs_handles(jit_handles).items() if table.formulas.get(name)
                    is OP_FORMULAS.get(name)})
    handles.update({name: _ignored_handle(name) for name in table.ignored})
    return handles


def _default_handled_ops(analysis: Any) -> list[str]:
    """The operators a fresh ``FlopCountAnalysis`` counts by its own rules (fvcore keeps them in a private dict)."""
    return list(getattr(analysis, "_op_handles", {}))




@contextmanager
def _no_hooks_left(model: nn.Module) -> Iterator[None]:
    """Remove any forward hook added during the block: fvcore leaves its scope hooks when a trace fails."""
    before = [(m, set(m._forward_pre_hooks), set(m._forward_hooks)) for m in model.modules()]
    try:
        yield
    finally:
        for module, pre_hooks, hooks in before:
            for key in set(module._forward_pre_hooks) - pre_hooks:
                del module._forward_pre_hooks[key]
            for key in set(module._forward_hooks) - hooks:
                del module._forward_hooks[key]


def count_fvcore(model: nn.Module, inputs: tuple[Any, ...], table: OpTable = DEFAULT_OPS) -> EngineCounts:
    """Per-module own costs from fvcore (``model`` must already be in the mode to analyse).

    Args:
        inputs: positional arguments; only their shapes and dtypes are used.
    """
    fvcore_nn, jit_handles = _import_fvcore()
    # a copy, so a forward that updates buffers or attributes updates the copy's; values do not change the counts
    runnable = runnable_copy(model, initialise=False)
    analysis = fvcore_nn.FlopCountAnalysis(runnable, real_inputs(inputs, runnable))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    analysis.set_op_handle(**op_handles(jit_handles, _default_handled_ops(analysis), table))
    with warnings.catch_warnings(), torch.no_grad(), _no_hooks_left(runnable):
        warnings.simplefilter("ignore")
        inclusive = analysis.by_module_and_operator()
    counts = EngineCounts(EngineName.FVCORE)
    children = {name: [f"{name}.{c}" if name else c for c, _ in module.named_children()]
                for name, module in runnable.named_modules()}
    for name, counter in inclusive.items():
        own = Counter(counter)
        for child in children.get(name, []):
            own.subtract(inclusive.get(child, Counter()))
        for label, value in own.items():
            if not value:
                continue
            if label.startswith(FREE_PREFIX):
                counts.free[label[len(FREE_PREFIX):]] += int(value)
                continue
            if label.startswith(UNSUPPORTED_PREFIX):
                counts.unsupported[name][label[len(UNSUPPORTED_PREFIX):]] += int(value)
                continue
            if label.startswith(IGNORED_PREFIX):
                counts.ignored[label[len(IGNORED_PREFIX):]] += int(value)
                continue
            key, metric = label.split("|")
            tally = counts.ops[name][OpKey(key)]
            setattr(tally, metric, getattr(tally, metric) + int(value))
    for op, calls in analysis.unsupported_ops("").items():
        counts.unsupported[""][op] += calls
    return counts


class FvcoreEngine:
    """fvcore's ``FlopCountAnalysis`` on a traced real forward (a CPU copy when the model is on ``meta``)."""

    name = EngineName.FVCORE
    label = "fvcore"
    description = "fvcore's FlopCountAnalysis on a traced forward, its own conv/matmul MACs"
    reads_functions = False
    keyword_inputs = False
    blind_spot = ("fvcore attributed no conv/linear operator to this module: its trace scope misses calls made "
                  "outside forward, or the ops were attributed to a parent")
    lone_reason = ""

    def count(self, context: EngineContext) -> EngineCounts:
        """Per-module own costs from fvcore.

        Raises:
            InputShapeError: the inputs are keyword arguments (a trace takes positional ones).
            AnalysisError: fvcore could not trace the model.
        """
        if isinstance(context.inputs, Mapping):
            raise InputShapeError("the fvcore engine traces positional inputs only; pass a tuple of tensors")
        try:
            return count_fvcore(context.model, context.inputs, context.ops)
        except Exception as error:
            raise AnalysisError(f"the fvcore engine could not trace the model: {type(error).__name__}: {error}; "
                                "the dispatch engine (the default) does not need a trace") from error


register_engine(FvcoreEngine())
