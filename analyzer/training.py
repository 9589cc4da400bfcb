"""The backward pass, counted: every aten operator autograd runs for a training step's gradients.

The model runs one forward in train mode (batch-norm batch statistics, dropout masks, custom
autograd functions as written) on ``meta`` stand-ins of its parameters, buffers and inputs, then
real autograd runs the backward of the sum of its outputs on them: no real arithmetic or memory,
and the user's model keeps no gradient and no changed statistic (the stand-ins take both).

Each backward operator is charged to the module whose forward created the autograd node running
it: a module's node set is what its forward added to the graph between its inputs and its outputs,
its children's nodes excepted. A product's MACs are grad-weight when its node returns its result as
the gradient of a parameter it took in (directly, or through transposes, views, expands and casts);
otherwise grad-input. ``convolution_backward`` says which it computes. Frozen parameters change the
pass as autograd does: no grad-weight for them, and no grad-input where nothing upstream requires
grad (the first layer never computes the image's gradient).
Conventions: :mod:`convcost.analyzer.formulas.backward`; the output gradient is a tensor of ones
(no loss function is counted).
"""

from __future__ import annotations

import functools
import itertools
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.autograd.variable import Variable
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

from .engines.dispatch import (
    FastMetaMode,
    _op_call,
    _run,
    _schema,
    _tensors,
    call_model,
    collector_paused,
    meta_inputs,
    meta_parameters,
    storage_key,
)
from .formulas.backward import BACKWARD_FORMULAS, BACKWARD_FREE, BackwardCost
from .formulas.table import DEFAULT_OPS, OpTable
from .optimizers import Optimizer, optimizer_rule
from .preserve import preserved_model
from .records import LayerBytes, Phase, TrainingCounts
from .step_memory import StepMemory

__all__ = ["TrainingCounts", "TrainingStepError", "count_training_step"]


class _NodeOwners:
    """Global forward hooks (two handles, not two per module) that name, for each autograd node, the module
    whose own forward created it, and keep the stack of running modules.

    A call owns the nodes created while it ran (autograd numbers nodes in creation order) that its children
    did not take, found by walking back from its outputs; the walk stops at nodes created before the call,
    which its caller's walk continues from, so a tensor reaching a call by keyword, attribute or closure is
    its caller's, as are the caller's own operations between two children.
    """

    def __init__(self, model: nn.Module) -> None:
        self._names: dict[int, str] = {}
        for name, module in model.named_modules():
            self._names.setdefault(id(module), name)
        self._starts: list[int] = []  # per running call: the sequence number of its first node
        self._leaf = torch.empty((), device="meta", requires_grad=True)
        self._inner: list[list[Any]] = []  # per running call: nodes its calls found made before them
        self._running: list[str] = []
        self.failed_in: str | None = None

    @property
    def current(self) -> str:
        """The innermost module running its forward (``""``: the root, or none)."""
        return self._running[-1] if self._running else ""

    def enter(self, module: nn.Module, _args: Any) -> None:
        name = self._names.get(id(module))
        if name is None:
            return
        self._running.append(name)
        self._starts.append(_next_sequence_nr(self._leaf))
        self._inner.append([])

    def leave(self, module: nn.Module, _args: Any, output: Any) -> None:
        name = self._names.get(id(module))
        if name is None:
            return
        self._running.pop()
        start = self._starts.pop()
        inner = self._inner.pop()
        if output is None and sys.exc_info()[1] is not None:  # the forward raised (the hook runs anyway)
            if self.failed_in is None:
                self.failed_in = name  # the innermost module it raised in
            return
        before: list[Any] = []
        stack: list[Any] = [t.grad_fn for t in _tensors(output) if t.grad_fn is not None] + inner
        while stack:
            node = stack.pop()
            if node is None:
                continue
            if node._sequence_nr() < start:  # made before this call: its caller's walk goes on from there
                before.append(node)
                continue
            metadata = node.metadata  # kept on the node itself: a graph the forward drops is freed as in eager
            if OWNER in metadata:
                continue
            metadata[OWNER] = name
            stack.extend(following for following, _ in node.next_functions)
        if self._inner:
            self._inner[-1].extend(before)

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


#: The key under which a node's metadata names the module that created it.
OWNER = "convcost.module"
#: Autograd nodes that only reshape, view or cast their input: a weight seen through them is still the weight.
_VIEW_NODES = frozenset({
    "TBackward0", "TransposeBackward0", "PermuteBackward0", "ExpandBackward0", "ViewBackward0",
    "UnsafeViewBackward0", "ReshapeAliasBackward0", "SqueezeBackward0", "SqueezeBackward1", "SqueezeBackward2",
    "UnsqueezeBackward0", "AliasBackward0", "ToCopyBackward0", "CloneBackward0", "AsStridedBackward0",
})


def weight_slots(node: Any) -> tuple[int, ...]:
    """The inputs of autograd ``node`` that are parameters, or views or casts of one (their gradients are weight
    gradients); a gradient for any other input is an input gradient."""
    found = []
    for slot, (following, _) in enumerate(node.next_functions):
        while following is not None and type(following).__name__ in _VIEW_NODES:
            following = following.next_functions[0][0] if following.next_functions else None
        if following is not None and type(following).__name__ == "AccumulateGrad":
            found.append(slot)
    return tuple(found)


class TrainingStepError(RuntimeError):
    """A training step's forward or backward failed: ``phase``, the module running (``""``: the root), ``error``."""

    def __init__(self, phase: Phase, module: str, error: BaseException) -> None:
        where = f" in '{module}'" if module else ""
        super().__init__(f"the train-mode {phase.value} failed{where}: {error}")
        self.phase, self.module, self.error = phase, module, error


class _SavedBytes:
    """Saved-tensor hooks of the train-mode forward: the bytes autograd saves for backward, by the module whose
    own operator saved them, each storage once (parameters and buffers excluded).

    The graph keeps a detached alias of what it was given: the same storage, as without hooks (an output kept
    with its own node would be a reference cycle outliving a graph the forward drops). A storage the pass tracks
    is aliased through the counting mode, so the alias holds it in the live bytes as the saved tensor would; any
    other (a plain tensor attribute, a constant) is aliased outside it, so it does not become an allocation.
    With hooks autograd no longer checks that a saved tensor was not modified in place before its backward, so
    :meth:`unpack` does, with autograd's words.
    """

    def __init__(self, owners: _NodeOwners, memory: StepMemory, excluded: set[int]) -> None:
        self.owners, self.memory, self.excluded = owners, memory, excluded
        self.bytes: Counter[str] = Counter()
        self._seen: set[int | tuple[str, int]] = set()

    def pack(self, tensor: torch.Tensor) -> tuple[torch.Tensor, int]:
        key = storage_key(tensor)
        allocation = self.memory.allocation(tensor)
        if key not in self.excluded:
            identity = allocation if allocation is not None else ("untracked", key)
            if identity not in self._seen:
                self._seen.add(identity)
                self.bytes[self.owners.current] += tensor.untyped_storage().nbytes()
        with torch._C._DisableTorchDispatch():  # the alias is made outside the counting modes, and cheaply
            alias = tensor.detach()
        if allocation is not None:
            self.memory.track(alias, self.owners.current, Phase.FORWARD.value)  # holds its storage, made already
        return alias, tensor._version

    @staticmethod
    def unpack(packed: tuple[torch.Tensor, int]) -> torch.Tensor:
        tensor, version = packed
        if tensor._version != version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace operation: "
                f"[{tensor.type()} {list(tensor.shape)}] is at version {tensor._version}; expected version {version} "
                "instead")
        return tensor


class _ForwardCounter(FastMetaMode):
    """The train-mode forward: FLOPs of each module's own operators, and every tensor made, into ``memory``."""

    def __init__(self, ops: OpTable, owners: _NodeOwners, memory: StepMemory) -> None:
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

    def __init__(self, ops: OpTable) -> None:
        super().__init__()
        self.ops = ops
        self.memory: StepMemory | None = None
        self.current = ""
        self._node: Any = None
        self.costs: defaultdict[str, BackwardCost] = defaultdict(BackwardCost)
        self.unsupported: Counter[str] = Counter()
        # autograd node → the products it ran: (storage of the result, module, MACs) each
        self._products: dict[Any, list[tuple[int, str, int]]] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        node: Any = torch._C._current_autograd_node()
        if node is not self._node:
            self._node = node
            self.current = node.metadata.get(OWNER, "") if node is not None else ""
        out = _run(func, args, kwargs)
        name = _schema(func)[0]
        backward = BACKWARD_FORMULAS.get(name)
        formula = self.ops.formula(name) if backward is None else None
        if name in self.ops.ignored:
            pass  # the analysis was told to count it as nothing
        elif backward is not None:
            self.costs[self.current] += backward.cost(_op_call(func, args, kwargs, out))
        elif formula is not None:
            counted = formula.cost(_op_call(func, args, kwargs, out))
            # only products have MACs: grad-input ones until their node returns them as a weight's gradient
            self.costs[self.current] += BackwardCost(grad_input_macs=counted.macs, flops=counted.flops)
            if counted.macs and node is not None:
                self._products.setdefault(node, []).append((storage_key(_tensors(out)[0]), self.current,
                                                            counted.macs))
        elif name not in self.ops.free and name not in BACKWARD_FREE:
            self.unsupported[name] += 1
        if self.memory is not None:
            for tensor in _tensors(out):
                self.memory.track(tensor, self.current, Phase.BACKWARD.value)
        return out

    def finished(self, node: Any, slots: tuple[int, ...], grads: tuple[torch.Tensor | None, ...]) -> None:
        """Node ``node`` returned ``grads``: the products it ran whose results are the gradients of its weight
        ``slots`` computed grad-weights, not grad-inputs."""
        made = self._products.pop(node, [])
        weights = [grads[slot] for slot in slots if slot < len(grads)]
        keys = {storage_key(grad) for grad in weights if grad is not None}
        for key, module, macs in made:
            if key in keys:
                self.costs[module] += BackwardCost(grad_input_macs=-macs, grad_weight_macs=macs)


def count_training_step(model: nn.Module, inputs: Any, dtype: torch.dtype, ops: OpTable = DEFAULT_OPS,
                        optimizer: Optimizer | str = Optimizer.SGD) -> TrainingCounts:
    """One training step of ``model`` on ``inputs`` (a tuple of positional or a dict of keyword arguments): a
    train-mode forward and its backward on ``meta`` stand-ins, then ``optimizer``'s step from its rule (see the
    module docstring).

    The model is left as it was: flags, attributes and hooks restored, parameters without ``.grad``, batch-norm
    statistics untouched.

    Raises:
        ValueError: an unknown optimizer.
        TrainingStepError: the train-mode forward or the backward failed, or the output holds nothing to
            differentiate while some parameter trains.
    """
    rule = optimizer_rule(optimizer)
    args = meta_inputs(inputs, dtype)
    owners = _NodeOwners(model)
    with collector_paused(), preserved_model(model, stand_ins=True), \
            meta_parameters(model, dtype, real_counters=True) as excluded, owners.hooked():
        backward = _BackwardCounter(ops)
        memory = backward.memory = StepMemory(excluded, lambda: backward.current)
        for tensor in _tensors(args):
            memory.track(tensor, "", Phase.FORWARD.value)
        forward = _ForwardCounter(ops, owners, memory)
        saved = _SavedBytes(owners, memory, excluded)
        model.train()
        try:
            with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(saved.pack, saved.unpack), forward:
                output = call_model(model, args)
                roots = [t for t in _tensors(output) if t.requires_grad and t.is_floating_point()]
        except Exception as error:
            raise TrainingStepError(Phase.FORWARD, owners.failed_in or "", error) from error
        memory.start_backward()
        seeds = [torch.ones(t.shape, dtype=t.dtype, device=t.device) for t in roots]  # the output's gradient
        for seed in seeds:
            memory.track(seed, "", Phase.BACKWARD.value)
        if not roots and any(t.requires_grad for t in model.parameters()):
            raise TrainingStepError(Phase.FORWARD, "", ValueError(
                "the output holds no floating-point tensor that requires grad (outputs are read from tensors and "
                "from lists, tuples and dicts of them), so there is nothing to differentiate"))
        del output
        for node in _product_nodes(roots):
            slots = weight_slots(node)
            if slots:
                node.register_hook(functools.partial(_weight_gradients, backward, node, slots))
        if roots:
            try:
                with backward:
                    _run_backward(roots, seeds)
            except Exception as error:
                raise TrainingStepError(Phase.BACKWARD, backward.current, error) from error
        memory.end_backward()
        del roots, seeds
        # the step updates what received a gradient (torch.optim skips parameters whose .grad is None)
        updated = _own_elements(model, lambda t: t.grad is not None, buffers=False)
    size = torch.finfo(dtype).bits // 8
    trainable = sum(updated.values())
    stored = _own_elements(model, lambda t: True, buffers=True, element_bytes=size)
    state_slots = rule.state_slots
    layer_bytes = {name: LayerBytes(stored.get(name, 0), updated.get(name, 0) * size,
                                    state_slots * updated.get(name, 0) * size, updated.get(name, 0))
                   for name in set(stored) | set(updated)}
    names = dict.fromkeys([name for name, _ in model.named_modules()] + list(backward.costs))
    return TrainingCounts(
        layers={name: backward.costs.get(name, BackwardCost()) for name in names},
        forward_flops={name: forward.flops.get(name, 0) for name in names},
        unsupported=dict(backward.unsupported), optimizer=rule.optimizer, trainable_params=trainable,
        parameter_bytes=sum(stored.values()), gradient_bytes=trainable * size,
        state_bytes=state_slots * trainable * size,
        live_peak_bytes=memory.peak, live_peak_phase=Phase(memory.peak_phase or Phase.FORWARD.value),
        live_peak_module=memory.peak_module, held=memory.held, timeline=memory.timeline, saved=dict(saved.bytes),
        layer_bytes=layer_bytes)


def _own_elements(model: nn.Module, counted: Callable[[torch.Tensor], bool], *, buffers: bool,
                  element_bytes: int | None = None) -> dict[str, int]:
    """Module name → elements (or, with ``element_bytes``, bytes: floating tensors at that size, others at their
    own) of the parameters (and ``buffers``) it owns that ``counted`` accepts; a tensor shared by several modules
    is its first owner's, as ``model.parameters()`` counts it once."""
    found: dict[str, int] = {}
    seen: set[int] = set()
    for name, module in model.named_modules():
        tensors = itertools.chain(module._parameters.values(), module._buffers.values() if buffers else ())
        for tensor in tensors:
            if tensor is None or id(tensor) in seen or not counted(tensor):
                continue
            seen.add(id(tensor))
            unit = 1 if element_bytes is None else (
                element_bytes if tensor.is_floating_point() else tensor.element_size())
            found[name] = found.get(name, 0) + tensor.numel() * unit
    return found


#: Autograd nodes whose backward runs matrix products (a convolution's node says what it computes itself).
_PRODUCT_NODES = frozenset({"AddmmBackward0", "MmBackward0", "BmmBackward0", "BaddbmmBackward0", "MvBackward0",
                            "AddmvBackward0", "DotBackward0", "LinearBackward0"})


def _weight_gradients(counter: _BackwardCounter, node: Any, slots: tuple[int, ...],
                      grads: tuple[torch.Tensor | None, ...], _outputs: Any) -> None:
    counter.finished(node, slots, grads)


def _product_nodes(roots: list[torch.Tensor]) -> Iterator[Any]:
    """The autograd nodes behind ``roots`` whose backward runs matrix products (:data:`_PRODUCT_NODES`)."""
    seen: set[Any] = set()
    stack: list[Any] = [root.grad_fn for root in roots]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if type(node).__name__ in _PRODUCT_NODES:
            yield node
        stack.extend(following for following, _ in node.next_functions)


def _run_backward(roots: list[torch.Tensor], seeds: list[torch.Tensor]) -> None:
    """``torch.autograd.backward(roots, seeds)`` without its argument checks, whose first call imports sympy
    (half a second): the seeds are ones of the roots' own shapes and dtypes."""
    engine = getattr(Variable, "_execution_engine", None)
    if engine is None:  # a torch whose private engine handle moved: the public call
        torch.autograd.backward(roots, grad_tensors=seeds)
        return
    engine.run_backward(tuple(roots), tuple(seeds), False, False, (), allow_unreachable=True, accumulate_grad=True)


def _next_sequence_nr(leaf: torch.Tensor) -> int:
    """The sequence number autograd gives the next node it creates in this thread: a throwaway view of
    ``leaf`` (a ``meta`` scalar that requires grad) is numbered, with Python dispatch off so that no counting
    mode sees it."""
    with torch._C._DisableTorchDispatch():
        probe: Any = leaf.view(())
    return int(probe.grad_fn._sequence_nr()) + 1
