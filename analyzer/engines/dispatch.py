"""The dispatch engine: counts every aten operator of a forward pass run on ``meta`` tensors.

The user's parameters and buffers are swapped for ``meta`` stand-ins of the same shape for
the duration of the call (:func:`meta_parameters`) and restored after it, so no weight is
copied or changed and no real arithmetic or memory is spent: EfficientNet-B7 at 600 px
costs shapes only. Besides operator counts it measures, per module, the bytes its own
operators allocate, the peak of live bytes, and the bytes autograd saves for backward.
"""

from __future__ import annotations

import functools
import gc
import itertools
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves, tree_map

from ..errors import WindowTooLargeError
from ..formulas.functions import FUNCTION_FORMULAS, function_cost
from ..formulas.ops import OpCall, TensorArg
from ..formulas.table import DEFAULT_OPS, OpTable
from ..formulas.traced import TRACED_FUNCTIONS, traced_calls
from ..formulas.windows import FUNCTION_CHECKS, WINDOW_CHECKS, function_misfit, window_misfit
from .base import EngineContext, EngineName, register_engine
from .counts import EngineCounts, OpTally
from .tracker import ModuleTracker


def storage_key(tensor: torch.Tensor) -> int:
    """Identity of a tensor's storage (views share it)."""
    return tensor.untyped_storage()._cdata


def meta_like(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """An empty ``meta`` tensor shaped like ``tensor``, in ``dtype`` if ``tensor`` is floating point."""
    return torch.empty(tensor.shape, dtype=dtype if tensor.is_floating_point() else tensor.dtype, device="meta")


@contextmanager
def meta_parameters(model: nn.Module, dtype: torch.dtype, *, real_counters: bool = False) -> Iterator[set[int]]:
    """Swap every parameter and buffer for a ``meta`` stand-in for the block; yields their storage keys.

    Each module's own tensor slots are swapped once and restored in ``finally``, so a module
    registered under two names, or a parameter shared by two modules, is handled (one
    stand-in per tensor keeps weights tied). Floating-point parameters keep ``requires_grad``
    so autograd saves what training would. No value is copied. With ``real_counters``, a scalar integer
    buffer (batch norm's ``num_batches_tracked``, which a train-mode forward may read as a number) stands in
    as a zero on the CPU instead.
    """
    slots: list[tuple[dict[str, Any], str, torch.Tensor]] = []
    stand_ins: dict[int, torch.Tensor] = {}
    for module in model.modules():
        for table in (module._parameters, module._buffers):
            for name, tensor in table.items():
                if tensor is None:
                    continue
                slots.append((table, name, tensor))
                if id(tensor) not in stand_ins:
                    counter = real_counters and tensor.dim() == 0 and not tensor.is_floating_point()
                    stand_in = torch.zeros((), dtype=tensor.dtype) if counter else meta_like(tensor, dtype)
                    if tensor.is_floating_point():
                        stand_in.requires_grad_(tensor.requires_grad)
                    stand_ins[id(tensor)] = stand_in
    try:
        for slot_table, name, tensor in slots:
            slot_table[name] = stand_ins[id(tensor)]
        yield {storage_key(t) for t in stand_ins.values()}
    finally:
        for slot_table, name, tensor in slots:
            slot_table[name] = tensor


def meta_inputs(inputs: Any, dtype: torch.dtype) -> Any:
    """Example inputs with every tensor replaced by its :func:`meta_like` stand-in."""
    return tree_map(lambda value: meta_like(value, dtype) if isinstance(value, torch.Tensor) else value, inputs)


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    return [leaf for leaf in tree_leaves(value) if isinstance(leaf, torch.Tensor)]


@functools.cache
def _schema(func: torch._ops.OpOverload) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """``(aten name, ((argument, default), ...))`` of an operator (schema objects are slow to read per call)."""
    arguments = tuple((a.name, a.default_value if a.has_default_value() else None) for a in func._schema.arguments)
    return func._schema.name, arguments


def _op_call(func: torch._ops.OpOverload, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCall:
    """The call with keyword and default arguments placed by the schema, tensors reduced to shapes."""
    values = list(args)
    for name, default in _schema(func)[1][len(args):]:
        values.append(kwargs.get(name, default))
    converted = tuple(TensorArg(tuple(v.shape)) if isinstance(v, torch.Tensor) else v for v in values)
    return OpCall(converted, tuple(tuple(t.shape) for t in _tensors(out)))


def _batch_norm_outputs(x: torch.Tensor, *args: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # native_batch_norm(x, weight, bias, running_mean, running_var, training, ...) saves per-channel
    # batch statistics only in training; in eval the CPU kernel returns empty ones, and so does this
    training = len(args) > 4 and args[4] is True
    stats_dtype = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    stats = (x.shape[1] if training else 0,)
    return (_empty_like(x), torch.empty(stats, dtype=stats_dtype, device=x.device),
            torch.empty(stats, dtype=stats_dtype, device=x.device))


def _empty_like(x: torch.Tensor) -> torch.Tensor:
    # torch.empty_like on meta runs a Python stride computation; a contiguous result is enough here
    return torch.empty(x.shape, dtype=x.dtype, device=x.device)


def _unary_outputs(x: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    return _empty_like(x)


def _broadcast(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The shape ``shapes`` broadcast to (torch.broadcast_shapes imports sympy, ~0.4 s, on first use).

    Raises:
        RuntimeError: two sizes of a dimension differ and neither is 1.
    """
    result: list[int] = []
    for sizes in itertools.zip_longest(*(reversed(tuple(shape)) for shape in shapes), fillvalue=1):
        wide = {size for size in sizes if size != 1}
        if len(wide) > 1:
            raise RuntimeError(f"shapes {[tuple(shape) for shape in shapes]} do not broadcast")
        result.append(wide.pop() if wide else 1)
    return tuple(reversed(result))


def _binary_outputs(a: torch.Tensor, b: Any, *_: Any, **__: Any) -> torch.Tensor:
    if isinstance(b, torch.Tensor) and b.shape == a.shape and b.dtype == a.dtype:
        return _empty_like(a)
    shape = _broadcast(a.shape, b.shape) if isinstance(b, torch.Tensor) else a.shape
    return torch.empty(shape, dtype=torch.result_type(a, b), device=a.device)


def _true_division_outputs(a: torch.Tensor, b: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
    # floating operands divide like the other binary ops; integer ones promote to float (the reference kernel)
    if a.is_floating_point() and (not isinstance(b, torch.Tensor) or b.is_floating_point()) and not args \
            and not kwargs:
        return _binary_outputs(a, b)
    return _aten.div.Tensor(a, b, *args, **kwargs)


def _plain_number(value: Any) -> bool:
    """A Python float, or an int a 64-bit scalar holds (bools and larger ints go to the kernel, which refuses
    what it must)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, float) or (isinstance(value, int) and -2**63 <= value < 2**63)


def _with_number(op: Any) -> Any:
    """An out-of-place elementwise op of a tensor and a number (``div.Scalar``, ``rsub.Scalar`` …): its meta kernel
    is a Python reference whose wrapper imports torch._dynamo (a second) on first use; a floating tensor's result
    has its shape and dtype (others go to ``op``)."""

    def outputs(a: torch.Tensor, b: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
        if a.is_floating_point() and _plain_number(b) and not args and not kwargs:
            return _empty_like(a)
        return op(a, b, *args, **kwargs)

    return outputs


def _in_place_elementwise(op: Any) -> Any:
    """An in-place elementwise op by a number or a tensor of the same shape (dropout's and stochastic depth's
    rescaling, ``mask.div_(keep)``): its meta kernel is a Python reference whose dtype checks import sympy on
    first use; on meta an in-place op only checks, so a floating tensor comes back as it is (others go to
    ``op``)."""

    def outputs(a: torch.Tensor, b: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
        number = _plain_number(b)
        same = isinstance(b, torch.Tensor) and b.is_floating_point() and b.device == a.device and (
            b.dim() == 0 or b.shape == a.shape)
        if a.is_floating_point() and (number or same) and not args and not kwargs:
            return a
        return op(a, b, *args, **kwargs)

    return outputs


def _empty_like_outputs(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    # empty_like's meta kernel imports sympy on first use (half a second); a contiguous tensor's plain copy is this
    plain = kwargs.get("memory_format") in (None, torch.preserve_format, torch.contiguous_format)
    if args or not plain or not x.is_contiguous() or kwargs.get("layout") not in (None, torch.strided) or \
            kwargs.get("device") not in (None, x.device) or kwargs.get("pin_memory"):
        return _aten.empty_like.default(x, *args, **kwargs)
    return torch.empty(x.shape, dtype=kwargs.get("dtype") or x.dtype, device=x.device)


def _mean_outputs(x: torch.Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> torch.Tensor:
    dims = {d % x.dim() for d in ([dim] if isinstance(dim, int) else dim or range(x.dim()))}
    shape = [1 if i in dims else n for i, n in enumerate(x.shape) if keepdim or i not in dims]
    return torch.empty(shape, dtype=dtype or x.dtype, device=x.device)


def _sum_outputs(x: torch.Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> torch.Tensor:
    # sum.dim_IntList (a bias's gradient): its reference checks import sympy on first use; a floating sum keeps
    # the dtype (an integer one promotes: the kernel)
    dims = [dim] if isinstance(dim, int) else list(dim or [])
    if not x.is_floating_point() or x.dim() == 0 or any(not -x.dim() <= d < x.dim() for d in dims) or \
            len({d % x.dim() for d in dims}) != len(dims):
        return _aten.sum.dim_IntList(x, dim, keepdim, dtype=dtype)  # it refuses repeated or missing dimensions
    return _mean_outputs(x, dim, keepdim, dtype)


def _mm_outputs(mat1: torch.Tensor, mat2: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    if mat1.dim() != 2 or mat2.dim() != 2 or mat1.shape[1] != mat2.shape[0] or mat1.dtype != mat2.dtype:
        raise RuntimeError(f"mm: {tuple(mat1.shape)} ({mat1.dtype}) and {tuple(mat2.shape)} ({mat2.dtype}) cannot "
                           "be multiplied")
    return torch.empty((mat1.shape[0], mat2.shape[1]), dtype=mat1.dtype, device=mat1.device)


def _addmm_outputs(bias: torch.Tensor, mat1: torch.Tensor, mat2: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    # addmm's meta kernel is a Python decomposition whose type-promotion wrapper imports torch._dynamo
    # (over a second) on first use
    out = _mm_outputs(mat1, mat2)
    if bias.dtype != out.dtype or bias.dim() > out.dim() or any(
            size not in (1, full) for size, full in zip(reversed(bias.shape), reversed(out.shape), strict=False)):
        raise RuntimeError(f"addmm: bias {tuple(bias.shape)} ({bias.dtype}) does not broadcast to "
                           f"{tuple(out.shape)} ({out.dtype})")
    return out


def _convolution_outputs(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: list[int],
                         padding: list[int], dilation: list[int], transposed: bool, output_padding: list[int],
                         groups: int) -> torch.Tensor:
    # convolution's meta kernel checks with torch._check, whose first call imports sympy (~0.4 s); the
    # checks and the output shape are these (transposed, empty and malformed calls go to the meta kernel)
    if transposed or x.numel() == 0 or weight.numel() == 0 or x.dim() < 3:
        return _aten.convolution.default(x, weight, bias, stride, padding, dilation, transposed, output_padding,
                                         groups)
    spatial = x.dim() - 2
    stride, padding, dilation = (list(values) * spatial if len(values) == 1 else list(values)
                                 for values in (stride, padding, dilation))
    if any(len(values) != spatial for values in (stride, padding, dilation)) or min(stride) < 1 or groups < 1:
        return _aten.convolution.default(x, weight, bias, stride, padding, dilation, transposed, output_padding,
                                         groups)
    if weight.dim() != x.dim() or x.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
        raise RuntimeError(f"convolution: input {tuple(x.shape)} does not fit weight {tuple(weight.shape)} "
                           f"with groups={groups}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"convolution: bias {tuple(bias.shape)} does not fit weight {tuple(weight.shape)}")
    sizes = [(x.shape[2 + i] + 2 * padding[i] - dilation[i] * (weight.shape[2 + i] - 1) - 1) // stride[i] + 1
             for i in range(spatial)]
    if any(size < 1 for size in sizes):
        raise RuntimeError(f"convolution: input {tuple(x.shape)} is smaller than kernel {tuple(weight.shape[2:])} "
                           f"(dilation {list(dilation)}, padding {list(padding)})")
    return torch.empty((x.shape[0], weight.shape[0], *sizes), dtype=x.dtype, device=x.device)


def _convolution_backward_outputs(grad: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, bias_sizes: Any,
                                  *args: Any) -> tuple[torch.Tensor | None, ...]:
    # convolution_backward's meta kernel picks a memory format through a check that imports sympy (half a second)
    # on first use; the gradients have the input's, the weight's and the bias's shapes, as masked
    *_, output_mask = args
    if not (grad.dim() == x.dim() == weight.dim() and grad.dtype == x.dtype == weight.dtype) or len(args) != 7:
        return _aten.convolution_backward.default(grad, x, weight, bias_sizes, *args)
    return (torch.empty(x.shape, dtype=x.dtype, device=x.device) if output_mask[0] else None,
            torch.empty(weight.shape, dtype=weight.dtype, device=weight.device) if output_mask[1] else None,
            torch.empty(list(bias_sizes), dtype=grad.dtype, device=grad.device)
            if output_mask[2] and bias_sizes is not None else None)


def _pooled_size(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _max_pool2d_outputs(x: torch.Tensor, kernel_size: list[int], stride: list[int] | None = None,
                        padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False) -> Any:
    # max_pool2d's meta kernel checks with torch._check, whose first call imports sympy (~0.4 s); unusual
    # calls go to it, the rest get the shape it would give
    def pair(values: Any) -> list[int]:
        values = [values] if isinstance(values, int) else list(values)
        return values * 2 if len(values) == 1 else values

    kernel, strides = pair(kernel_size), pair(stride or kernel_size)
    pads, dilations = pair(padding), pair(dilation)
    if (x.dim() not in (3, 4) or x.numel() == 0 or any(len(v) != 2 for v in (kernel, strides, pads, dilations))
            or min(*kernel, *strides, *dilations) < 1 or any(2 * p > k for p, k in zip(pads, kernel, strict=True))):
        return _aten.max_pool2d_with_indices.default(x, kernel_size, stride or [], padding, dilation, ceil_mode)
    sizes = [_pooled_size(x.shape[-2 + i], kernel[i], strides[i], pads[i], dilations[i], ceil_mode) for i in (0, 1)]
    if min(sizes) < 1:
        raise RuntimeError(f"max_pool2d: input {tuple(x.shape)} is too small for kernel {kernel} "
                           f"(padding {pads}, dilation {dilations})")
    shape = (*x.shape[:-2], *sizes)
    return (torch.empty(shape, dtype=x.dtype, device=x.device),
            torch.empty(shape, dtype=torch.int64, device=x.device))


def _avg_pool2d_outputs(x: torch.Tensor, kernel_size: list[int], stride: list[int] | None = None, padding: Any = 0,
                        ceil_mode: bool = False, *args: Any) -> torch.Tensor:
    # avg_pool2d's meta kernel checks import sympy on first use; plain calls get the shape it would give
    def pair(values: Any) -> list[int]:
        values = [values] if isinstance(values, int) else list(values)
        return values * 2 if len(values) == 1 else values

    kernel, strides, pads = pair(kernel_size), pair(stride or kernel_size), pair(padding)
    divisor = args[1] if len(args) > 1 else None
    if (x.dim() not in (3, 4) or x.numel() == 0 or any(len(v) != 2 for v in (kernel, strides, pads))
            or min(*kernel, *strides) < 1 or min(pads) < 0 or divisor == 0
            or any(2 * p > k for p, k in zip(pads, kernel, strict=True))):
        return _aten.avg_pool2d.default(x, kernel_size, stride or [], padding, ceil_mode, *args)
    sizes = [_pooled_size(x.shape[-2 + i], kernel[i], strides[i], pads[i], 1, ceil_mode) for i in (0, 1)]
    if min(sizes) < 1:
        raise RuntimeError(f"avg_pool2d: input {tuple(x.shape)} is too small for kernel {kernel} (padding {pads})")
    return torch.empty((*x.shape[:-2], *sizes), dtype=x.dtype, device=x.device)


def _like_input_backward(op: Any) -> Any:
    """A pooling backward (``grad, input, ...`` → the input's gradient): its meta kernel's checks import sympy on
    first use; the gradient is shaped like the input (others go to ``op``)."""

    def outputs(grad: torch.Tensor, x: torch.Tensor, *args: Any) -> torch.Tensor:
        if grad.dtype != x.dtype or grad.dim() != x.dim():
            return op(grad, x, *args)
        return _empty_like(x)

    return outputs


def _grad_like(op: Any) -> Any:
    """An elementwise backward kernel (``threshold_backward``, ``silu_backward`` …): the gradient's shape and
    dtype when both tensors match, else ``op`` itself."""

    def outputs(grad: torch.Tensor, other: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
        if not isinstance(other, torch.Tensor) or other.shape != grad.shape or other.dtype != grad.dtype:
            return op(grad, other, *args, **kwargs)
        return _empty_like(grad)

    return outputs


def _batch_norm_backward_outputs(grad: torch.Tensor, x: torch.Tensor, weight: torch.Tensor | None,
                                 *args: Any) -> tuple[torch.Tensor | None, ...]:
    # native_batch_norm_backward(grad_out, input, weight, running_mean, running_var, save_mean, save_invstd,
    #                            train, eps, output_mask): its meta kernel is a Python decomposition (half a B7
    #                            backward); the outputs are the input's gradient and per-channel ones, as masked
    mask = args[-1] if args else (True, True, True)
    channel_dtype = weight.dtype if weight is not None else x.dtype
    channels = (x.shape[1],)
    return (_empty_like(x) if mask[0] else None,
            torch.empty(channels, dtype=channel_dtype, device=x.device) if mask[1] else None,
            torch.empty(channels, dtype=channel_dtype, device=x.device) if mask[2] else None)


_aten = torch.ops.aten
_GRAD_LIKE = (_aten.threshold_backward.default, _aten.silu_backward.default, _aten.sigmoid_backward.default,
              _aten.tanh_backward.default, _aten.hardtanh_backward.default, _aten.hardswish_backward.default,
              _aten.hardsigmoid_backward.default)
#: Shape-only kernels for the most frequent ops, used on ``meta`` tensors instead of the
#: meta kernels, which are Python reference implementations (batch norm alone took ~60% of a
#: B7 walk) whose checks import sympy and torch._dynamo (~1.5 s) on first use. Outputs have the
#: shapes and dtypes the meta kernels give, and the same inputs are refused; out-of-place ops only, but
#: for dropout's in-place rescaling.
_FAST_META: dict[Any, Any] = {
    _aten.native_batch_norm.default: _batch_norm_outputs,
    _aten._native_batch_norm_legit_no_training.default: _batch_norm_outputs,
    **{op: _unary_outputs for op in (_aten.silu.default, _aten.sigmoid.default, _aten.relu.default,
                                     _aten.hardtanh.default, _aten.hardswish.default, _aten.tanh.default)},
    **{op: _binary_outputs for op in (_aten.add.Tensor, _aten.mul.Tensor, _aten.sub.Tensor)},
    _aten.div.Tensor: _true_division_outputs,
    **{op: _with_number(op) for op in (_aten.div.Scalar, _aten.rsub.Scalar, _aten.mul.Scalar, _aten.add.Scalar,
                                       _aten.sub.Scalar)},
    **{op: _in_place_elementwise(op) for op in (_aten.div_.Scalar, _aten.div_.Tensor, _aten.mul_.Scalar,
                                                 _aten.mul_.Tensor)},
    _aten.empty_like.default: _empty_like_outputs,
    _aten.mean.dim: _mean_outputs,
    _aten.sum.dim_IntList: _sum_outputs,
    _aten.mm.default: _mm_outputs,
    _aten.addmm.default: _addmm_outputs,
    _aten.convolution.default: _convolution_outputs,
    _aten.max_pool2d_with_indices.default: _max_pool2d_outputs,
    _aten.native_batch_norm_backward.default: _batch_norm_backward_outputs,
    _aten.convolution_backward.default: _convolution_backward_outputs,
    _aten.avg_pool2d.default: _avg_pool2d_outputs,
    **{op: _like_input_backward(op) for op in (_aten.max_pool2d_with_indices_backward.default,
                                               _aten.avg_pool2d_backward.default)},
    **{op: _grad_like(op) for op in _GRAD_LIKE},
}


def _run(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    fast = _FAST_META.get(func)
    if fast is not None and args[0].device.type == "meta":
        return fast(*args, **kwargs)
    return func(*args, **kwargs)


class LiveBytes:
    """Live activation bytes over a forward pass: storages counted from creation until freed."""

    def __init__(self, excluded: set[int]) -> None:
        self._excluded = excluded
        self._live: dict[int, Allocation] = {}  # storage key → its live allocation
        self._refs: dict[int, weakref.ref] = {}  # keeps the callbacks alive; keyed by id (refs compare referents)
        self._allocations = 0
        self.current = 0
        self.peak = 0
        self.peak_module = ""
        self.peak_phase = ""
        self.workspace_peak = 0
        self.workspace_module = ""

    def allocation(self, tensor: torch.Tensor) -> int | None:
        """Number of the live allocation behind ``tensor`` (unique for the whole pass; storage keys get reused)."""
        entry = self._live.get(storage_key(tensor))
        return entry.number if entry is not None else None

    def track(self, tensor: torch.Tensor, module: str, phase: str = "") -> int:
        """Start tracking ``tensor``, made by ``module`` (in ``phase`` of a training step, when counting one);
        returns the bytes it newly allocated (0 for a view or in-place result)."""
        key = storage_key(tensor)
        if key in self._excluded:
            return 0
        entry = self._live.get(key)
        allocated = 0
        if entry is None:
            allocated = tensor.untyped_storage().nbytes()
            self._allocations += 1
            self._live[key] = entry = Allocation(allocated, self._allocations, module, phase)
            self.current += allocated
            if self.current > self.peak:
                self.peak, self.peak_module, self.peak_phase = self.current, module, phase
            self.allocated(entry)
        entry.references += 1
        ref = weakref.ref(tensor, lambda dead: self._release(dead, key))
        self._refs[id(ref)] = ref
        return allocated

    def transient(self, nbytes: int, module: str) -> None:
        """An operator of ``module`` holds ``nbytes`` of scratch space while it runs, on top of what is live (its
        output included): a candidate for :attr:`workspace_peak`, which never falls below :attr:`peak`."""
        if self.current + nbytes > self.workspace_peak:
            self.workspace_peak, self.workspace_module = self.current + nbytes, module

    def live(self) -> Iterator[Allocation]:
        """The allocations alive now."""
        return iter(self._live.values())

    def allocated(self, entry: Allocation) -> None:
        """Called after ``entry`` is allocated (``current`` includes it); a subclass keeps a timeline."""

    def freed(self, entry: Allocation) -> None:
        """Called after ``entry`` is freed; a subclass keeps a timeline."""

    def _release(self, ref: weakref.ref, key: int) -> None:
        self._refs.pop(id(ref), None)
        entry = self._live[key]
        entry.references -= 1
        if entry.references == 0:
            self.current -= entry.bytes
            del self._live[key]
            self.freed(entry)


@dataclass(eq=False, slots=True)
class Allocation:
    """One live storage: its bytes, its number in allocation order, who made it and when, and the live tensors
    using it."""

    bytes: int
    number: int
    module: str
    phase: str
    references: int = 0


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (as it was, after): a walk on ``meta`` tensors makes
    tens of thousands of short-lived objects that reference counting frees, and the collections they would
    trigger walk torch's whole heap (a third of a training-step analysis). Real tensors are never walked under
    it, so no memory waits for it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class FastMetaMode(TorchDispatchMode):
    """Runs every operator, on ``meta`` tensors through the shape-only kernels of :data:`_FAST_META`."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        """Leave ``__torch_dispatch__`` unwrapped: torch would wrap it to keep ``torch.compile`` out, which
        imports ``torch._dynamo`` (a second or more) on the first counted op; the walk never compiles."""
        return False

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        return _run(func, args, kwargs or {})


class _OpCounter(FastMetaMode):
    def __init__(self, tracker: ModuleTracker, counts: EngineCounts, memory: LiveBytes,
                 allocated: Counter[str], ops: OpTable, result: DispatchResult | None = None) -> None:
        super().__init__()
        self.tracker, self.counts, self.memory, self.allocated, self.ops = tracker, counts, memory, allocated, ops
        self.result = result

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        name = _schema(func)[0]
        if name in WINDOW_CHECKS:
            misfit = window_misfit(name, _op_call(func, args, kwargs, None))
            if misfit is not None:
                raise WindowTooLargeError(name, misfit)
        try:
            out = _run(func, args, kwargs)
        except Exception as error:
            result = self.result
            if result is not None and not result.meta_failure and \
                    any(t.is_meta for t in _tensors((args, kwargs))):
                result.meta_failure = f"{name} on meta tensors raised {type(error).__name__}"
            raise
        module = self.tracker.current
        formula = self.ops.formula(name)
        if formula is not None:
            call = _op_call(func, args, kwargs, out)
            cost = formula.cost(call)
            self.counts.ops[module][formula.key].add(1, cost.macs, cost.flops, call.in_numel, call.out_numel)
        elif name in self.ops.ignored:
            self.counts.ignored[name] += 1
        elif name in self.ops.free:
            self.counts.free[name] += 1
        else:
            self.counts.unsupported[module][name] += 1
        for tensor in _tensors(out):
            self.allocated[module] += self.memory.track(tensor, module)
        if func is _aten.convolution.default:
            self.memory.transient(convolution_workspace(args[0], args[1], out), module)
        return out


def convolution_workspace(x: torch.Tensor, weight: torch.Tensor, out: torch.Tensor) -> int:
    """Scratch bytes a CPU convolution holds while it runs (measured with oneDNN, PyTorch's CPU convolution): a
    copy of the larger of its input and output in oneDNN's blocked layout, and of its weight."""
    return max(_nbytes(x), _nbytes(out)) + _nbytes(weight)


def _nbytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


class _FunctionRecorder(TorchFunctionMode):
    """Costs the matrix-product torch functions the forward calls (the outermost ones) by their own formulas."""

    def __init__(self, tracker: ModuleTracker, result: DispatchResult) -> None:
        super().__init__()
        self.tracker, self.result = tracker, result

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func in FUNCTION_FORMULAS:
            module = self.tracker.current
            try:
                cost = function_cost(func, args, kwargs, out)
            except Exception:  # an argument form the formula does not read: listed, not guessed
                self.result.unread_functions[module][getattr(func, "__name__", str(func))] += 1
            else:
                if cost is not None:
                    self.result.function_costs[module][cost.key].add(1, cost.macs, cost.flops)
        return out


#: Tensor methods that copy a tensor's values to the host as NumPy: they refuse a ``meta`` tensor before reaching
#: an aten operator.
_TO_NUMPY = (torch.Tensor.numpy, torch.Tensor.__array__)


class _TracedCalls(TorchFunctionMode):
    """The torch-function view of the walk: records what a trace would record for the calls the dispatch level
    cannot tell apart (:mod:`convcost.analyzer.formulas.traced`), checks the functions that refuse an input too
    small before reaching an aten operator, and notes a ``meta`` tensor's conversion to NumPy (a failure ``meta``
    tensors cause). Sees the outermost torch functions only, as :class:`_FunctionRecorder` does."""

    def __init__(self, tracker: ModuleTracker, result: DispatchResult) -> None:
        super().__init__()
        self.tracker, self.result = tracker, result

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func in FUNCTION_CHECKS:
            misfit = function_misfit(func, args, kwargs)
            if misfit is not None:
                raise WindowTooLargeError(*misfit)
        elif func in _TO_NUMPY and args and isinstance(args[0], torch.Tensor) and args[0].is_meta \
                and not self.result.meta_failure:
            self.result.meta_failure = "a meta tensor was converted to NumPy"
        out = func(*args, **kwargs)
        if func in TRACED_FUNCTIONS:
            try:
                calls = traced_calls(func, args, kwargs, out)
            except Exception:  # an argument form the record does not read: the call is counted, not recorded
                calls = []
            module = self.tracker.current
            for call in calls:
                self.result.traced[module][call.key].add(1, call.macs, 0, call.in_elements, call.out_elements)
        return out


@dataclass
class DispatchResult:
    """Everything one dispatch walk measured.

    Attributes:
        counts: per-module operator tallies.
        tracker: module call shapes.
        allocated_bytes: module → bytes of new storages its own operators created.
        peak_bytes: peak live activation bytes (input included, parameters and buffers excluded).
        peak_module: module running when the peak was reached.
        workspace_peak_bytes, workspace_module: the peak with every CPU convolution's scratch space
            (:func:`convolution_workspace`) held while it runs, and the module where it is reached.
        saved_bytes: module → bytes of activation storages autograd saved for backward in its
            own operators (each storage once; parameters and buffers excluded).
        function_costs: module → operator key → the matrix-product torch functions it called, costed by
            :mod:`convcost.analyzer.formulas.functions` (only when the walk records functions).
        unread_functions: module → such functions whose arguments a formula could not read → calls.
        traced: module → trace node key → the calls a trace records that the walk's aten operators do not tell
            apart (:mod:`convcost.analyzer.formulas.traced`), with their MACs and elements.
        meta_failure: when the forward failed, what failed because of ``meta`` tensors (an aten operator that
            raised on them, or a conversion of one to NumPy); empty when nothing did (then no walk on real
            tensors can succeed where this one failed).
    """

    counts: EngineCounts
    tracker: ModuleTracker
    allocated_bytes: Counter[str] = field(default_factory=Counter)
    peak_bytes: int = 0
    peak_module: str = ""
    workspace_peak_bytes: int = 0
    workspace_module: str = ""
    saved_bytes: Counter[str] = field(default_factory=Counter)
    function_costs: dict[str, dict[Any, OpTally]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(OpTally)))
    unread_functions: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    traced: dict[str, dict[str, OpTally]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(OpTally)))
    meta_failure: str = ""


def call_model(model: nn.Module, inputs: Any) -> Any:
    """``model`` called with positional (a tuple) or keyword (a dict) inputs."""
    return model(**inputs) if isinstance(inputs, dict) else model(*inputs)


@contextmanager
def real_parameters(model: nn.Module) -> Iterator[set[int]]:
    """The model's own tensors, left in place (for a walk on real tensors); yields their storage keys."""
    tensors = [t for module in model.modules() for table in (module._parameters, module._buffers)
               for t in table.values() if t is not None]
    yield {storage_key(t) for t in tensors}


def count_forward(model: nn.Module, inputs: Any, dtype: torch.dtype, *, real: bool = False,
                  record_functions: bool = False, ops: OpTable = DEFAULT_OPS) -> DispatchResult:
    """Walk ``model`` once: operator counts, allocated, live and saved bytes.

    By default every parameter, buffer and input is a ``meta`` stand-in: no real arithmetic
    or memory. With ``real``, the model and the inputs are used as they are (the caller
    passes a copy of the model and real inputs), for forwards whose shapes depend on values.
    Autograd records the pass (so saved-tensor hooks see what training would keep) but the
    hooks keep only a count, not the tensor: the graph holds no activation, so tensors die
    when the forward drops them, as in inference, and the live bytes are inference's.

    Args:
        inputs: a tuple of positional arguments or a dict of keyword arguments (any tensors).
        dtype: dtype of floating inputs, parameters and buffers of a ``meta`` walk.
        record_functions: also cost every matrix-product torch function by its own formula (for the
            analytic engine).
        ops: the operator formulas to count with (the registry's, or one analysis's overrides).

    Raises:
        ForwardError: the forward failed; it carries the module it failed in and what was counted so far.
    """
    args = inputs if real else meta_inputs(inputs, dtype)
    tracker = ModuleTracker(model)
    counts = EngineCounts(EngineName.DISPATCH)
    result = DispatchResult(counts, tracker)
    with real_parameters(model) if real else meta_parameters(model, dtype) as excluded:
        memory = LiveBytes(excluded)
        for tensor in _tensors(args):
            memory.track(tensor, "")
        seen: set[int | tuple[str, int]] = set()

        def pack(tensor: torch.Tensor) -> None:
            key = storage_key(tensor)
            if key in excluded:
                return None
            allocation = memory.allocation(tensor)
            identity = allocation if allocation is not None else ("untracked", key)
            if identity not in seen:
                seen.add(identity)
                result.saved_bytes[tracker.current] += tensor.untyped_storage().nbytes()
            return None

        try:
            with collector_paused() if not real else nullcontext(), _located(tracker, result), torch.enable_grad(), \
                    torch.autograd.graph.saved_tensors_hooks(pack, _no_backward), tracker, \
                    _OpCounter(tracker, counts, memory, result.allocated_bytes, ops, result), \
                    _TracedCalls(tracker, result), \
                    _FunctionRecorder(tracker, result) if record_functions else nullcontext():
                output = call_model(model, args)
            del output
        finally:  # a failed walk's partial result keeps the peak reached before the failure
            result.peak_bytes, result.peak_module = memory.peak, memory.peak_module
            result.workspace_peak_bytes, result.workspace_module = (
                (memory.workspace_peak, memory.workspace_module) if memory.workspace_peak > memory.peak
                else (memory.peak, memory.peak_module))
    return result


def _no_backward(packed: None) -> torch.Tensor:
    raise RuntimeError("convcost's analysis pass keeps no saved tensors, so it cannot run backward")


class ForwardError(RuntimeError):
    """A forward pass failed; ``module`` is where the exception started (``""``: the root), ``partial`` what the
    walk counted up to the failure."""

    def __init__(self, module: str, error: BaseException, partial: DispatchResult | None = None) -> None:
        super().__init__(str(error))
        self.module = module
        self.error = error
        self.partial = partial


@contextmanager
def _located(tracker: ModuleTracker, result: DispatchResult) -> Iterator[None]:
    try:
        yield
    except Exception as error:
        raise ForwardError(tracker.failed_in(error) or "", error, result) from error


class DispatchEngine:
    """The walk every analysis makes: aten operators on ``meta`` tensors, attributed to the running module."""

    name = EngineName.DISPATCH
    label = "the dispatch engine"
    description = "every aten operator of a forward on meta tensors (no real arithmetic or memory)"
    reads_functions = False
    keyword_inputs = True
    blind_spot = ""
    lone_reason = ""

    def count(self, context: EngineContext) -> EngineCounts:
        """The walk's own counts (:func:`count_forward` made them)."""
        return context.reference


register_engine(DispatchEngine())
