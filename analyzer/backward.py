"""The backward pass, counted: every aten operator autograd runs for a training step's gradients.

The model runs one forward in train mode (batch-norm batch statistics, dropout masks, custom
autograd functions as written) on ``meta`` stand-ins of its parameters, buffers and inputs, then
real autograd runs the backward of the sum of its outputs on them: no real arithmetic or memory,
and the user's model keeps no gradient and no changed statistic (the stand-ins take both).

Each backward operator is charged to the module whose forward created the autograd node running
it: a module's node set is what its forward added to the graph between its inputs and its outputs,
its children's nodes excepted. A product's MACs are a grad-input product, unless its result becomes
a parameter's gradient (then grad-weight); ``convolution_backward`` says which it computes. Frozen
parameters change the pass as autograd does: no grad-weight for them, and no grad-input where
nothing upstream requires grad (the first layer never computes the image's gradient).
Conventions: :mod:`convcost.analyzer.formulas.backward`; the output gradient is a tensor of ones
(no loss function is counted).
"""

from __future__ import annotations

import weakref
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from .engines.dispatch import (
    FastMetaMode,
    _op_call,
    _run,
    _schema,
    _tensors,
    call_model,
    meta_inputs,
    meta_parameters,
    storage_key,
)
from .formulas.backward import BACKWARD_FORMULAS, BackwardCost
from .formulas.ops import MATRIX_KEYS
from .formulas.table import DEFAULT_OPS, OpTable
from .preserve import preserved_model
from .records import BackwardCounts

__all__ = ["BackwardCounts", "count_backward"]


class _NodeOwners:
    """Forward hooks that name, for each autograd node, the module whose own forward created it."""

    def __init__(self) -> None:
        self.owner: dict[Any, str] = {}
        self._boundaries: list[set[Any]] = []

    def enter(self, _module: nn.Module, args: Any, kwargs: Any) -> None:
        self._boundaries.append({t.grad_fn for t in _tensors((args, kwargs)) if t.grad_fn is not None})

    def leave(self, name: str, _module: nn.Module, _args: Any, _kwargs: Any, output: Any) -> None:
        boundary = self._boundaries.pop()
        stack: list[Any] = [t.grad_fn for t in _tensors(output) if t.grad_fn is not None]
        while stack:
            node = stack.pop()
            if node is None or node in boundary or node in self.owner:
                continue
            self.owner[node] = name
            stack.extend(following for following, _ in node.next_functions)


class _BackwardCounter(FastMetaMode):
    """Counts the backward's operators for the module whose node is running."""

    def __init__(self, ops: OpTable) -> None:
        super().__init__()
        self.ops = ops
        self.current = ""
        self.costs: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.unsupported: Counter[str] = Counter()
        self._products: dict[int, tuple[weakref.ref[torch.Tensor], str, int]] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = _run(func, args, kwargs)
        name = _schema(func)[0]
        cost = self.costs[self.current]
        backward = BACKWARD_FORMULAS.get(name)
        formula = self.ops.formula(name) if backward is None else None
        if backward is not None:
            counted = backward.cost(_op_call(func, args, kwargs, out))
            cost[0] += counted.grad_input_macs
            cost[1] += counted.grad_weight_macs
            cost[2] += counted.flops
        elif formula is not None:
            counted_forward = formula.cost(_op_call(func, args, kwargs, out))
            cost[2] += counted_forward.flops
            if formula.key in MATRIX_KEYS and counted_forward.macs:
                cost[0] += counted_forward.macs  # until its result turns out to be a parameter's gradient
                product = _tensors(out)[0]
                self._products[storage_key(product)] = (weakref.ref(product), self.current, counted_forward.macs)
        elif name not in self.ops.free and name not in self.ops.ignored:
            self.unsupported[name] += 1
        return out

    def running(self, node: Any, owner: str) -> None:
        """Node ``node`` of module ``owner`` starts; a parameter's accumulation reclassifies the product that made
        its gradient as grad-weight."""
        self.current = owner

    def accumulating(self, grads: tuple[torch.Tensor | None, ...]) -> None:
        for grad in grads:
            if grad is None:
                continue
            made = self._products.pop(storage_key(grad), None)
            if made is not None and made[0]() is not None:
                _, module, macs = made
                self.costs[module][0] -= macs
                self.costs[module][1] += macs


def count_backward(model: nn.Module, inputs: Any, dtype: torch.dtype, ops: OpTable = DEFAULT_OPS) -> BackwardCounts:
    """The backward pass of ``model`` on ``inputs`` (a tuple of positional or a dict of keyword arguments),
    after one train-mode forward, all on ``meta`` stand-ins (see the module docstring).

    The model is left as it was: flags, attributes and hooks restored, parameters without ``.grad``, batch-norm
    statistics untouched.
    """
    args = meta_inputs(inputs, dtype)
    owners = _NodeOwners()
    counter = _BackwardCounter(ops)
    with preserved_model(model), meta_parameters(model, dtype), _owner_hooks(model, owners):
        model.train()
        with torch.enable_grad(), FastMetaMode():
            output = call_model(model, args)
            roots = [t for t in _tensors(output) if t.requires_grad and t.is_floating_point()]
            seeds = [torch.ones(t.shape, dtype=t.dtype, device=t.device) for t in roots]
        for node, owner in owners.owner.items():
            node.register_prehook(_prehook(counter, node, owner))
        if roots:
            with counter:
                torch.autograd.backward(roots, grad_tensors=seeds)
    names = dict.fromkeys([name for name, _ in model.named_modules()] + list(counter.costs))
    layers = {name: BackwardCost(*counter.costs.get(name, (0, 0, 0))) for name in names}
    return BackwardCounts(layers, dict(counter.unsupported))


def _prehook(counter: _BackwardCounter, node: Any, owner: str) -> Any:
    accumulates = type(node).__name__ == "AccumulateGrad"

    def hook(grads: tuple[torch.Tensor | None, ...]) -> None:
        counter.running(node, owner)
        if accumulates:
            counter.accumulating(grads)

    return hook


@contextmanager
def _owner_hooks(model: nn.Module, owners: _NodeOwners) -> Iterator[None]:
    handles = []
    try:
        for name, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(owners.enter, with_kwargs=True))
            handles.append(module.register_forward_hook(
                lambda module, args, kwargs, output, name=name: owners.leave(name, module, args, kwargs, output),
                with_kwargs=True))
        yield
    finally:
        for handle in handles:
            handle.remove()
