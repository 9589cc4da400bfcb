"""``analyze``: the one entry point that turns a model and an input into an :class:`Analysis`."""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from numbers import Integral
from typing import Any, TypeGuard

import torch
from torch import nn
from torch.nn.parameter import is_lazy
from torch.nn.utils import parametrize
from torch.utils._pytree import tree_leaves

from .analysis import Analysis
from .crosscheck import backward_check, compared_macs, cross_check
from .engines import (
    ALL,
    PRIMARY,
    EngineContext,
    EngineCounts,
    EngineName,
    EngineSelection,
    parse_selection,
    registered_engines,
)
from .engines.analytic import analytic_layer_macs
from .engines.dispatch import DispatchResult, ForwardError, call_model, count_forward, meta_parameters
from .engines.tracker import ModuleCalls, tensor_shapes
from .errors import AnalysisError, InputShapeError, WindowTooLargeError
from .formulas.layers import layer_hyper, layer_params
from .formulas.ops import OpFormula
from .formulas.table import DEFAULT_OPS, OpTable, op_table
from .layout import Layout, declared_layout
from .naming import parse_member
from .optimizers import Optimizer, optimizer_rule
from .preserve import preserved_model
from .real_run import model_copy, real_inputs, runnable_copy
from .records import EngineTotals, Execution, LayerCheck, LayerRecord, OpStats, Totals, TrainingCounts
from .training import TrainingStepError, count_training_step

InputSpec = Sequence[int] | torch.Tensor | Sequence[Any] | Mapping[str, Any]
_EXAMPLE = "(1, 3, 224, 224) for (N, C, H, W)"


def analyze(
    model: nn.Module,
    input_shape: InputSpec = (1, 3, 224, 224),
    *,
    engine: EngineSelection | str = EngineName.DISPATCH,
    dtype: torch.dtype | None = None,
    name: str | None = None,
    execution: Execution | str | None = None,
    ops: Mapping[Any, OpFormula] | None = None,
    ignore: Iterable[Any] = (),
    training: bool = False,
    optimizer: Optimizer | str = Optimizer.SGD,
) -> Analysis:
    """Measure every module of ``model`` on one input, in eval mode (and with ``training``, the backward pass of
    a training step).

    Args:
        model: any ``nn.Module``; it is never modified (parameters, buffers, attributes, hooks and
            training flags are as they were, see :mod:`convcost.analyzer.preserve`), even when the
            analysis fails or is interrupted.
        input_shape: a shape such as ``(1, 3, 224, 224)``, or example inputs: a tensor, a
            tuple of positional arguments (tensors may sit in lists and dicts), or a dict of keyword
            arguments. Only their shapes are used (and their dtypes for non-floating tensors;
            floating ones take ``dtype``), except by a walk on real tensors, which uses real ones as given.
        engine: source of the per-layer counts, a registered engine
            (:func:`~convcost.analyzer.engines.registered_engines`): ``dispatch`` (every aten op of the
            walk), ``analytic`` (conv/linear from hyper-parameters), ``fvcore`` (a traced forward of a
            copy); or ``all``: every engine, the dispatch counts in the records. The walk always
            runs, so the dispatch engine's totals are always reported, and whenever a second engine
            ran, every module's MACs (convolutions and every matrix product, attention included) are
            cross-checked across them.
        dtype: floating-point dtype of inputs, parameters and activations for the byte counts; default the
            model's own (a ``.half()`` model is measured in float16), float32 for a model with none.
        name: name to report (default: the model's class name).
        execution: ``meta`` (shapes only), ``real`` (real tensors on a copy of the model), or None:
            ``meta``, and ``real`` when the forward cannot run on ``meta`` tensors (its shapes depend on
            values). :attr:`Analysis.execution` says which ran and why.
        ops: formulas for this analysis only, by operator (``"aten::silu"`` or ``torch.ops.aten.silu``),
            overriding or adding to the registry's (:mod:`convcost.analyzer.formulas.ops` is not changed).
        ignore: operators to count as nothing in this analysis; they are listed in
            :attr:`Analysis.ignored_ops` with their calls.
        training: also count the backward pass after a train-mode forward, per layer split into grad-input
            and grad-weight MACs (:attr:`Analysis.training`, :mod:`convcost.analyzer.training`); on ``meta``
            tensors only, the model left without gradients and with its statistics untouched.
        optimizer: with ``training``, the optimizer whose step is counted: ``sgd``, ``sgd-momentum``, ``adam`` or
            ``adamw`` (:mod:`convcost.analyzer.optimizers`).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: ``engine`` or ``execution`` is not one of the valid choices; the model's
            ``module_roles()`` declaration is malformed.
        InputShapeError: the input shape is empty, malformed, or does not fit the model.
        AnalysisError: the forward pass failed; the message names the module that was running, and
            :attr:`AnalysisError.partial` holds what could be counted.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"analyze needs a torch.nn.Module; got {type(model).__name__}")
    rule = optimizer_rule(optimizer)
    selection = parse_selection(engine)
    wanted = None if execution is None else parse_member(Execution, execution, "execution")
    chosen = [e for e in registered_engines() if selection == ALL or e.name == selection]
    primary = PRIMARY if selection == ALL else selection
    inputs = _normalise_inputs(input_shape)
    if isinstance(inputs, Mapping):
        positional_only = [e.name.value for e in chosen if not e.keyword_inputs]
        if positional_only:
            raise InputShapeError(f"the {', '.join(positional_only)} engine traces positional inputs only; "
                                  "pass a tuple of tensors")
    dtype = _analysis_dtype(model, dtype)
    _check_input_bytes(inputs, dtype)
    label = name or type(model).__name__
    if any(is_lazy(p) for p in itertools.chain(model.parameters(), model.buffers())):
        model = _initialised_copy(model, inputs, dtype)
    layout = declared_layout(model)
    setup = _Setup(model, inputs, dtype, label, selection, primary, layout, any(e.reads_functions for e in chosen),
                   op_table(ops, ignore))

    with preserved_model(model):
        run = _walk_with_fallback(setup, wanted)
        weights = _weight_elements(model, dtype)
        context = EngineContext(model, inputs, dtype, run.walk.tracker.calls, run.walk.counts,
                                run.walk.function_costs, run.walk.unread_functions, setup.ops)
        # the dispatch walk always runs (it measures shapes and memory), so its counts are always reported
        engines: dict[EngineName, EngineCounts] = {EngineName.DISPATCH: run.walk.counts}
        engines.update({e.name: e.count(context) for e in chosen if e.name not in engines})
    # the training step snapshots and restores the model itself
    step = _training_step(setup, run, rule.optimizer) if training else None
    analysis = _assemble(setup, run, engines, weights)
    if step is None:
        return analysis
    return replace(analysis, training=replace(step, disagreements=backward_check(analysis.layers, step)))


def _training_step(setup: _Setup, run: _Run, optimizer: Optimizer) -> TrainingCounts:
    """The training step (see :func:`analyze`).

    Raises:
        AnalysisError: the forward ran on real tensors only, or the train-mode forward or the backward failed
            (the message names the module).
    """
    if run.execution is Execution.REAL:
        raise AnalysisError(f"{setup.name}: its forward runs on real tensors only ({run.reason}), and the backward "
                            "is counted on meta tensors; analyse it without training=True")
    try:
        return count_training_step(setup.model, setup.inputs, setup.dtype, setup.ops, optimizer)
    except TrainingStepError as error:
        raise AnalysisError(f"{setup.name}: {error}") from error


def _analysis_dtype(model: nn.Module, dtype: torch.dtype | None) -> torch.dtype:
    """``dtype`` checked, or the model's own floating dtype (float32 when it has none).

    Raises:
        ValueError: ``dtype`` is not a floating-point torch dtype.
    """
    if dtype is None:
        tensors = itertools.chain(model.parameters(), model.buffers())
        return next((t.dtype for t in tensors if not is_lazy(t) and t.is_floating_point()), torch.float32)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating-point torch dtype such as torch.float32, torch.float16 or "
                         f"torch.bfloat16; got {dtype!r}")
    return dtype


def _initialised_copy(model: nn.Module, inputs: tuple[Any, ...] | Mapping[str, Any],
                      dtype: torch.dtype) -> nn.Module:
    """A copy of a model with lazy modules, their shapes inferred by one forward on real inputs (no grad).

    Raises:
        AnalysisError: that forward failed (the message says to run the model once before analysing it).
    """
    runnable = model_copy(model)
    try:
        with torch.no_grad():
            call_model(runnable, real_inputs(inputs, runnable, dtype))
    except Exception as error:
        raise AnalysisError(f"the model has lazy modules (uninitialised parameters) and a forward to initialise a "
                            f"copy of them failed: {type(error).__name__}: {error}; run the model once on a real "
                            "input before analysing it") from error
    return runnable


@dataclass(frozen=True)
class _Setup:
    """What every step of one analysis needs to know."""

    model: nn.Module
    inputs: tuple[Any, ...] | Mapping[str, Any]
    dtype: torch.dtype
    name: str
    selection: EngineSelection
    primary: EngineName
    layout: Layout
    record_functions: bool = False
    ops: OpTable = DEFAULT_OPS


@dataclass(frozen=True)
class _Run:
    """The walk that counted, on what it ran and why."""

    walk: DispatchResult
    execution: Execution
    reason: str = ""
    complete: bool = True


def _walk_with_fallback(setup: _Setup, wanted: Execution | None) -> _Run:
    """The ``meta`` walk; when its forward failed because of ``meta`` tensors (an aten operator raised on them, or
    one was converted to NumPy: values the forward reads are not there) and the input does fit, a walk on real
    tensors. A failure ``meta`` tensors did not cause (the forward's own exception, raised in Python) is reported
    as it is, without a walk on real tensors that would fail the same way; and when the walk on real tensors fails
    the same way as the ``meta`` walk (same exception type, same module), the error says it failed on both and
    shows the ``meta`` walk's error."""
    first: _CannotRun | None = None
    if wanted is not Execution.REAL:
        try:
            return _Run(_walk(setup, real=False), Execution.META)
        except _CannotRun as meta_failure:
            if wanted is Execution.META or not meta_failure.meta_caused:
                raise meta_failure.error from meta_failure.error.__cause__
            reason = f"the forward cannot run on meta tensors: {meta_failure.cause}"
            first = meta_failure
    else:
        reason = "asked for"
    try:
        return _Run(_walk(setup, real=True), Execution.REAL, reason)
    except _CannotRun as real_failure:
        if first is None:
            raise real_failure.error from real_failure.error.__cause__
        if real_failure.same_as(first):
            error = first.restated("meta tensors, and the same way on real tensors (a copy of the model)")
        else:
            error = real_failure.restated(f"real tensors (a copy of the model), after the forward could not run on "
                                          f"meta tensors: {first.cause} in {first.label}")
        raise error from error.__cause__


class _CannotRun(Exception):
    """A walk's forward failed for a reason other than the input's shape; ``error`` is what to raise.

    Attributes:
        label: the module it failed in, in words; ``failure``: the forward's exception.
        meta_caused: what failed did so because of ``meta`` tensors (:attr:`DispatchResult.meta_failure`).
    """

    def __init__(self, error: AnalysisError, cause: str, *, label: str, where: str, failure: BaseException,
                 head: str, meta_caused: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.cause = cause
        self.label = label
        self.where = where
        self.failure = failure
        self.head = head
        self.meta_caused = meta_caused

    def same_as(self, other: _CannotRun) -> bool:
        """Both walks failed with the same exception type in the same module."""
        return type(self.failure) is type(other.failure) and self.where == other.where

    def restated(self, on: str) -> AnalysisError:
        """This failure's error, saying it ran on ``on``."""
        error = AnalysisError(f"{self.head} ({on}): {self.failure}", self.error.partial)
        error.__cause__ = self.failure
        return error


def _walk(setup: _Setup, *, real: bool) -> DispatchResult:
    model, inputs = setup.model, setup.inputs
    runnable = runnable_copy(model) if real else model
    args = real_inputs(inputs, runnable, setup.dtype if _is_floating(setup.dtype) else None) if real else inputs
    try:
        # the meta walk runs the user's own module: its plain tensor attributes are clones for the walk, and what
        # the forward assigned or changed on the way is undone before anything else runs
        with preserved_model(model, stand_ins=not real):
            return count_forward(runnable, args, setup.dtype, real=real, record_functions=setup.record_functions,
                                 ops=setup.ops)
    except ForwardError as failure:
        where = failure.module
        module = model.get_submodule(where) if where else model
        label = f"'{where}' ({type(module).__name__})" if where else f"the root module ({type(module).__name__})"
        on = "real tensors (a copy of the model)" if real else "meta tensors"
        head = f"forward failed in {label} on input {_shapes(inputs)}"
        message = f"{head} ({on}): {failure.error}"
        if isinstance(failure.error, WindowTooLargeError):
            raise InputShapeError(f"input resolution too small for this model: {message}") from failure.error
        mismatch = _input_mismatch(model, inputs)
        if mismatch is not None:
            raise InputShapeError(f"{mismatch} ({message})") from failure.error
        partial = None
        if failure.partial is not None:
            run = _Run(failure.partial, Execution.REAL if real else Execution.META, complete=False)
            partial = _assemble(setup, run, {EngineName.DISPATCH: failure.partial.counts},
                                _weight_elements(model, setup.dtype))
        error = AnalysisError(message, partial)
        error.__cause__ = failure.error
        meta_caused = not real and failure.partial is not None and bool(failure.partial.meta_failure)
        raise _CannotRun(error, f"{type(failure.error).__name__}: {failure.error}", label=label, where=where,
                         failure=failure.error, head=head, meta_caused=meta_caused) from failure.error


def _is_floating(dtype: torch.dtype) -> bool:
    return dtype.is_floating_point


def _assemble(setup: _Setup, run: _Run, engines: Mapping[EngineName, EngineCounts],
              weights: Mapping[str, int]) -> Analysis:
    """The analysis from a walk and the engines' counts."""
    primary = setup.primary if setup.primary in engines else EngineName.DISPATCH
    walk = run.walk
    layers = _records(setup.model, walk, engines[primary], setup.layout, weights)
    engine_totals = {engine_name: _engine_totals(counts) for engine_name, counts in engines.items()}
    totals = Totals(
        params=sum(layer.params for layer in layers),
        trainable_params=sum(layer.trainable_params for layer in layers),
        buffers=sum(layer.buffers for layer in layers),
        macs=sum(layer.macs for layer in layers),
        flops=sum(layer.flops for layer in layers),
        activation_bytes=sum(layer.output_bytes for layer in layers),
        training_bytes=sum(layer.saved_bytes for layer in layers),
        peak_bytes=walk.peak_bytes,
        peak_module=walk.peak_module,
        workspace_peak_bytes=walk.workspace_peak_bytes,
        workspace_module=walk.workspace_module,
    )
    return Analysis(
        model=setup.name,
        input_shapes=_shapes(setup.inputs),
        dtype=str(setup.dtype).removeprefix("torch."),
        engine=setup.selection,
        primary_engine=primary,
        layers=layers,
        totals=totals,
        unsupported=engine_totals[primary].unsupported_ops,
        free_ops=dict(engines[primary].free),
        ignored_ops=dict(engines[primary].ignored),
        disagreements=cross_check(layers, engines) if len(engines) > 1 else (),
        engines=tuple(engine_totals.values()),
        stages=setup.layout.stages,
        execution=run.execution,
        execution_reason=run.reason,
        complete=run.complete,
        compared_macs=compared_macs(layers, engines, primary),
    )


def _normalise_inputs(spec: InputSpec) -> tuple[Any, ...] | Mapping[str, Any]:
    if isinstance(spec, torch.Tensor):
        return (spec,)
    if isinstance(spec, Mapping):
        if not spec:
            raise InputShapeError(f"input is an empty dict; pass a shape such as {_EXAMPLE} or keyword tensors")
        return spec
    if not isinstance(spec, Sequence) or isinstance(spec, str):
        raise InputShapeError(f"input_shape must be a shape such as {_EXAMPLE}, a tensor, a tuple of tensors "
                              f"or a dict of keyword tensors; got {type(spec).__name__}")
    if len(spec) == 0:
        raise InputShapeError(f"input_shape is empty; expected a shape such as {_EXAMPLE}")
    if all(_is_integer(d) for d in spec):
        return (_meta_tensor(list(spec)),)
    if all(isinstance(d, (Integral, float)) for d in spec):  # a shape with a non-integer size
        raise InputShapeError(f"input_shape must hold positive integers, e.g. {_EXAMPLE}; got {tuple(spec)}")
    return tuple(_meta_tensor(item) if _is_shape(item) else item for item in spec)


#: Most elements a tensor may hold (PyTorch counts them in a signed 64-bit integer).
MAX_ELEMENTS = 2**63 - 1


def _is_integer(value: Any) -> bool:
    """An int or a numpy integer, not a bool."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_shape(value: Any) -> TypeGuard[Sequence[Any]]:
    """A tuple, list or ``torch.Size`` of integers: one input given by its shape."""
    return isinstance(value, (tuple, list)) and len(value) > 0 and all(_is_integer(d) for d in value)


def _meta_tensor(shape: Sequence[Any]) -> torch.Tensor:
    """A ``meta`` tensor of ``shape``.

    Raises:
        InputShapeError: a size below 1, or more elements or bytes (as float32) than a tensor can hold.
    """
    sizes = tuple(int(d) for d in shape)
    if any(d < 1 for d in sizes):
        raise InputShapeError(f"input_shape {sizes} has a dimension below 1; expected e.g. {_EXAMPLE}")
    if math.prod(sizes) > MAX_ELEMENTS:
        raise InputShapeError(f"input_shape {sizes} has {math.prod(sizes):.3g} elements, more than a tensor can hold "
                              f"(2^63 - 1 = {MAX_ELEMENTS:.3g}); expected e.g. {_EXAMPLE}")
    _check_bytes(sizes, torch.float32)
    return torch.empty(sizes, device="meta")


def _check_bytes(sizes: tuple[int, ...], dtype: torch.dtype) -> None:
    """Raises InputShapeError when a tensor of ``sizes`` in ``dtype`` takes more bytes than PyTorch can address."""
    nbytes = math.prod(sizes) * dtype.itemsize
    if nbytes > MAX_ELEMENTS:
        raise InputShapeError(f"input_shape {sizes} takes {nbytes:.3g} bytes in {str(dtype).removeprefix('torch.')}, "
                              f"more than PyTorch can address (2^63 - 1 = {MAX_ELEMENTS:.3g}); expected e.g. "
                              f"{_EXAMPLE}")


def _check_input_bytes(inputs: tuple[Any, ...] | Mapping[str, Any], dtype: torch.dtype) -> None:
    """Every input tensor fits in memory PyTorch can address once floating ones take ``dtype``."""
    values = list(inputs.values()) if isinstance(inputs, Mapping) else list(inputs)
    for tensor in tree_leaves(values):
        if isinstance(tensor, torch.Tensor):
            _check_bytes(tuple(tensor.shape), dtype if tensor.is_floating_point() else tensor.dtype)


def _shapes(inputs: tuple[Any, ...] | Mapping[str, Any]) -> tuple[tuple[int, ...], ...]:
    """Shapes of every tensor in the inputs, those inside lists, tuples and dicts included, in order."""
    values = list(inputs.values()) if isinstance(inputs, Mapping) else list(inputs)
    return tensor_shapes(values)


def _first_conv(model: nn.Module) -> tuple[str, nn.modules.conv._ConvNd] | None:
    for name, module in model.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            return (name, module) if isinstance(module, nn.modules.conv._ConvNd) else None
    return None


def _input_mismatch(model: nn.Module, inputs: tuple[Any, ...] | Mapping[str, Any]) -> str | None:
    """Why a single image-like input does not fit the model's first registered conv, if it does not.

    Only consulted after the forward failed, to name the likely cause: registration order is
    not always execution order.
    """
    first = _first_conv(model)
    if first is None or isinstance(inputs, Mapping) or len(inputs) != 1 or not isinstance(inputs[0], torch.Tensor):
        return None
    name, conv = first
    shape = tuple(inputs[0].shape)
    spatial = len(conv.kernel_size)
    expected = f"(N, {conv.in_channels}, {', '.join('HWD'[i] for i in range(spatial))})"
    where = f"the first layer '{name}' ({type(conv).__name__})"
    if len(shape) != spatial + 2:
        return f"input shape {shape} has {len(shape)} dimensions; {where} expects {spatial + 2}: {expected}"
    if shape[1] != conv.in_channels:
        return f"input shape {shape} has {shape[1]} channels; {where} expects {conv.in_channels}: {expected}"
    return None


def _records(model: nn.Module, walk: DispatchResult, counts: EngineCounts, layout: Layout,
             weights: Mapping[str, int]) -> tuple[LayerRecord, ...]:
    records = []
    seen_params: set[int] = set()
    for name, module in model.named_modules():
        # the slots themselves: parameters(recurse=False) costs a generator walk per module
        own_params = [p for p in module._parameters.values() if p is not None and id(p) not in seen_params]
        seen_params.update(id(p) for p in own_params)
        calls = walk.tracker.calls.get(name)
        ops = counts.ops.get(name, {})
        macs = sum(t.macs for t in ops.values())
        check = _layer_check(module, calls, macs, weights.get(name, 0))
        record = LayerRecord(
            name=name,
            depth=name.count(".") + 1 if name else 0,
            type=type(module).__name__,
            calls=calls.count if calls else 0,
            is_leaf=not module._modules,
            input_shapes=calls.inputs[0] if calls else (),
            output_shapes=calls.outputs[0] if calls and calls.outputs else (),
            params=sum(p.numel() for p in own_params),
            trainable_params=sum(p.numel() for p in own_params if p.requires_grad),
            buffers=sum(b.numel() for b in module._buffers.values() if b is not None),
            macs=macs,
            flops=sum(t.flops for t in ops.values()),
            ops={key: OpStats(t.calls, t.macs, t.flops, t.in_elements, t.out_elements) for key, t in ops.items()},
            output_bytes=walk.allocated_bytes.get(name, 0),
            saved_bytes=walk.saved_bytes.get(name, 0),
            check=check,
            part=layout.part_of(name),
            category=layout.category(name, check.kind if check else None),
            traced={key: OpStats(t.calls, t.macs, t.flops, t.in_elements, t.out_elements)
                    for key, t in walk.traced.get(name, {}).items()},
        )
        records.append(record)
    return tuple(records)


def _layer_check(module: nn.Module, calls: ModuleCalls | None, measured_macs: int,
                 module_params: int) -> LayerCheck | None:
    h = layer_hyper(module)
    if h is None:
        return None
    params = layer_params(h)
    cost = analytic_layer_macs(h, calls) if calls else None
    macs = cost.macs if cost else 0
    padding = h.padding if isinstance(h.padding, str) else "x".join(map(str, h.padding))
    return LayerCheck(
        kind=h.kind, in_channels=h.in_channels, out_channels=h.out_channels, kernel=h.kernel, stride=h.stride,
        padding=padding, dilation=h.dilation, groups=h.groups, bias=h.bias, analytic_params=params,
        module_params=module_params, analytic_macs=macs, measured_macs=measured_macs,
        agrees=params == module_params and macs == measured_macs,
        output_size_from=cost.output_size_from if cost else "formula",
    )


def _weight_elements(model: nn.Module, dtype: torch.dtype) -> dict[str, int]:
    """Per conv/linear module, elements of the weight and bias it computes with: frozen, shared or
    reparametrised alike.

    Read on ``meta`` stand-ins, in eval mode and without grad, so that a parametrization (spectral
    norm's power iteration) computes nothing real and updates no real buffer.
    """
    found = {}
    with contextlib.ExitStack() as stack:
        for module in model.modules():  # a parametrization's forward runs: its modules' attributes are stand-ins
            parametrizations = getattr(module, "parametrizations", None)
            if parametrize.is_parametrized(module) and isinstance(parametrizations, nn.Module):
                stack.enter_context(preserved_model(parametrizations, stand_ins=True))
        stack.enter_context(meta_parameters(model, dtype))
        stack.enter_context(torch.no_grad())
        for name, module in model.named_modules():
            if layer_hyper(module) is not None:
                found[name] = sum(t.numel() for t in (getattr(module, "weight", None), getattr(module, "bias", None))
                                  if isinstance(t, torch.Tensor))
    return found


def _engine_totals(counts: EngineCounts) -> EngineTotals:
    macs = flops = 0
    unsupported: dict[str, int] = {}
    for ops in counts.ops.values():
        for tally in ops.values():
            macs += tally.macs
            flops += tally.flops
    for missing in counts.unsupported.values():
        for op, calls in missing.items():
            unsupported[op] = unsupported.get(op, 0) + calls
    return EngineTotals(counts.engine, macs, flops, unsupported)


__all__ = ["InputSpec", "analyze"]
