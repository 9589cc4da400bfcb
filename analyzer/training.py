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

import itertools
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

from .engines.dispatch import (
    FastMetaMode,
    LiveBytes,
    _op_call,
    _run,
    _schema,
    _tensors,
    call_model,
    meta_inputs,
    meta_parameters,
    storage_key,
)
from .formulas.backward import BACKWARD_FORMULAS, BACKWARD_FREE, BackwardCost
from .formulas.ops import MATRIX_KEYS
from .formulas.table import DEFAULT_OPS, OpTable
from .optimizers import Optimizer, optimizer_rule
from .preserve import preserved_model
from .records import Phase, TrainingCounts

__all__ = ["TrainingCounts", "TrainingStepError", "count_training_step"]


class _NodeOwners:
    """Global forward hooks (two handles, not two per module) that name, for each autograd node, the module
    whose own forward created it, and keep the stack of running modules."""

    def __init__(self, model: nn.Module) -> None:
        self.owner: dict[Any, str] = {}
        self._names: dict[int, str] = {}
        for name, module in model.named_modules():
            self._names.setdefault(id(module), name)
        self._boundaries: list[set[Any]] = []
        self._running: list[str] = []
        self.failed_in: str | None = None

    @property
    def current(self) -> str:
        """The innermost module running its forward (``""``: the root, or none)."""
        return self._running[-1] if self._running else ""

    def enter(self, module: nn.Module, args: Any) -> None:
        name = self._names.get(id(module))
        if name is None:
            return
        self._running.append(name)
        self._boundaries.append({t.grad_fn for t in _tensors(args) if t.grad_fn is not None})

    def leave(self, module: nn.Module, _args: Any, output: Any) -> None:
        name = self._names.get(id(module))
        if name is None:
            return
        self._running.pop()
        boundary = self._boundaries.pop()
        if output is None:  # the forward raised (the hook runs anyway): the innermost module is where
            if self.failed_in is None:
                self.failed_in = name
            return
        stack: list[Any] = [t.grad_fn for t in _tensors(output) if t.grad_fn is not None]
        while stack:
            node = stack.pop()
            if node is None or node in boundary or node in self.owner:
                continue
            self.owner[node] = name
            stack.extend(following for following, _ in node.next_functions)

    @contextmanager
    def hooked(self) -> Iterator[None]:
        """The hooks, registered for the block."""
        handles = [register_module_forward_pre_hook(self.enter),
                   register_module_forward_hook(self.leave, always_call=True)]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()


#: Operators autograd sums gradients with (a tensor used twice receives the sum of its gradients).
_SUMS = frozenset({"aten::add", "aten::add_"})


class TrainingStepError(RuntimeError):
    """A training step's forward or backward failed: ``phase``, the module running (``""``: the root), ``error``."""

    def __init__(self, phase: Phase, module: str, error: BaseException) -> None:
        where = f" in '{module}'" if module else ""
        super().__init__(f"the train-mode {phase.value if phase is Phase.FORWARD else 'backward'} failed{where}: "
                         f"{error}")
        self.phase, self.module, self.error = phase, module, error


class _ForwardCounter(FastMetaMode):
    """The train-mode forward: FLOPs of each module's own operators, and every tensor made, into ``memory``."""

    def __init__(self, ops: OpTable, owners: _NodeOwners, memory: LiveBytes) -> None:
        super().__init__()
        self.ops, self.owners, self.memory = ops, owners, memory
        self.flops: Counter[str] = Counter()

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = _run(func, args, kwargs)
        module = self.owners.current
        formula = self.ops.formula(_schema(func)[0])
        if formula is not None:
            self.flops[module] += formula.cost(_op_call(func, args, kwargs, out)).flops
        for tensor in _tensors(out):
            self.memory.track(tensor, module, Phase.FORWARD.value)
        return out


class _BackwardCounter(FastMetaMode):
    """Counts the backward's operators for the module whose node is running."""

    def __init__(self, ops: OpTable, memory: LiveBytes, owners: Mapping[Any, str]) -> None:
        super().__init__()
        self.ops, self.memory, self._owners = ops, memory, owners
        self.current = ""
        self._node: Any = None
        self.costs: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.unsupported: Counter[str] = Counter()
        # storage of a gradient → (that tensor, the products it sums: (module, MACs) each)
        self._products: dict[int, tuple[weakref.ref[torch.Tensor], list[tuple[str, int]]]] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        node = torch._C._current_autograd_node()
        if node is not self._node:
            self._node = node
            self.current = self._owners.get(node, "") if node is not None else ""
            if type(node).__name__ == "AccumulateGrad":
                self.accumulating(tuple(_tensors(args)))
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
                self._made(_tensors(out)[0], [(self.current, counted_forward.macs)])
            elif name in _SUMS:  # gradients of a tensor used twice (tied weights) are summed before they arrive
                summed = [made for tensor in _tensors(args) for made in self._summands(tensor)]
                if summed:
                    self._made(_tensors(out)[0], summed)
        elif name not in self.ops.free and name not in self.ops.ignored and name not in BACKWARD_FREE:
            self.unsupported[name] += 1
        for tensor in _tensors(out):
            self.memory.track(tensor, self.current, Phase.BACKWARD.value)
        return out

    def _made(self, gradient: torch.Tensor, products: list[tuple[str, int]]) -> None:
        self._products[storage_key(gradient)] = (weakref.ref(gradient), products)

    def _summands(self, tensor: torch.Tensor) -> list[tuple[str, int]]:
        """The products whose results ``tensor`` holds (or shares storage with), if it is still that tensor's."""
        made = self._products.get(storage_key(tensor))
        return made[1] if made is not None and made[0]() is not None else []

    def accumulating(self, grads: tuple[torch.Tensor | None, ...]) -> None:
        """A parameter's gradient arrives: the products that made it computed grad-weights, not grad-inputs."""
        for grad in grads:
            if grad is None:
                continue
            for module, macs in self._summands(grad):
                self.costs[module][0] -= macs
                self.costs[module][1] += macs
            self._products.pop(storage_key(grad), None)


def count_training_step(model: nn.Module, inputs: Any, dtype: torch.dtype, ops: OpTable = DEFAULT_OPS,
                        optimizer: Optimizer | str = Optimizer.SGD) -> TrainingCounts:
    """One training step of ``model`` on ``inputs`` (a tuple of positional or a dict of keyword arguments): a
    train-mode forward and its backward on ``meta`` stand-ins, then ``optimizer``'s step from its rule (see the
    module docstring).

    The model is left as it was: flags, attributes and hooks restored, parameters without ``.grad``, batch-norm
    statistics untouched.

    Raises:
        ValueError: an unknown optimizer.
    """
    rule = optimizer_rule(optimizer)
    args = meta_inputs(inputs, dtype)
    owners = _NodeOwners(model)
    with preserved_model(model), meta_parameters(model, dtype) as excluded, owners.hooked():
        memory = LiveBytes(excluded)
        for tensor in _tensors(args):
            memory.track(tensor, "", Phase.FORWARD.value)
        forward = _ForwardCounter(ops, owners, memory)
        backward = _BackwardCounter(ops, memory, owners.owner)
        model.train()
        try:
            with torch.enable_grad(), forward:
                output = call_model(model, args)
                roots = [t for t in _tensors(output) if t.requires_grad and t.is_floating_point()]
                seeds = [torch.ones(t.shape, dtype=t.dtype, device=t.device) for t in roots]
        except Exception as error:
            raise TrainingStepError(Phase.FORWARD, owners.failed_in or "", error) from error
        del output
        if roots:
            try:
                with backward:
                    torch.autograd.backward(roots, grad_tensors=seeds)
            except Exception as error:
                raise TrainingStepError(Phase.BACKWARD, backward.current, error) from error
        del roots, seeds
    size = torch.finfo(dtype).bits // 8
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    stored = sum(t.numel() * (size if t.is_floating_point() else t.element_size())
                 for t in itertools.chain(model.parameters(), model.buffers()))
    names = dict.fromkeys([name for name, _ in model.named_modules()] + list(backward.costs))
    return TrainingCounts(
        layers={name: BackwardCost(*backward.costs.get(name, (0, 0, 0))) for name in names},
        forward_flops={name: forward.flops.get(name, 0) for name in names},
        unsupported=dict(backward.unsupported), optimizer=rule.optimizer, trainable_params=trainable,
        parameter_bytes=stored, gradient_bytes=trainable * size, state_bytes=rule.state_slots * trainable * size,
        live_peak_bytes=memory.peak, live_peak_phase=Phase(memory.peak_phase or Phase.FORWARD.value),
        live_peak_module=memory.peak_module)
