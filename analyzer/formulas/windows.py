"""Whether a sliding-window operator's window fits its padded input, from shapes alone.

An input too small for a model shows as a convolution, pooling or unfolding whose window
(dilated kernel) is larger than its padded input, or a transposed convolution whose padding
leaves an output of fewer than one position, or a reflection or circular padding wider than
the input it mirrors. The walk asks :func:`window_misfit` before running such an aten operator,
and :func:`function_misfit` before the few such torch functions that check their sizes before
reaching an aten operator (``max_pool1d``, ``F.pad``), so "input resolution too small" is
decided from shapes, whatever wording the kernel's own error would use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from .ops import OpCall, TensorArg


def _per_dim(value: Any, dims: int, default: int) -> list[int]:
    """An int-or-list argument as one value per spatial dimension (an empty list means ``default``)."""
    if value is None:
        return [default] * dims
    if isinstance(value, int):
        return [value] * dims
    values = [int(v) for v in value]
    if not values:
        return [default] * dims
    return values * dims if len(values) == 1 else values


def _misfit(spatial: Sequence[int], kernel: Sequence[int], padding: Sequence[int],
            dilation: Sequence[int]) -> str | None:
    for axis, (size, k, p, d) in enumerate(zip(spatial, kernel, padding, dilation, strict=True)):
        window = d * (k - 1) + 1
        if size + 2 * p < window:
            return (f"its window of {window} (kernel {k}, dilation {d}) is larger than the padded input "
                    f"{size} + 2·{p} = {size + 2 * p} along spatial axis {axis}")
    return None


def _convolution(call: OpCall) -> str | None:
    # (input, weight, bias, stride, padding, dilation, transposed, output_padding, ...)
    x, weight = call.tensor(0), call.tensor(1)
    if x is None or weight is None or isinstance(call.arg(4), str) or len(weight.shape) < 3:
        return None  # "same"/"valid" is checked by PyTorch's own rule
    dims = len(weight.shape) - 2
    padding, dilation = _per_dim(call.arg(4), dims, 0), _per_dim(call.arg(5), dims, 1)
    if call.arg(6, False):
        return _transposed_misfit(x.shape[-dims:], weight.shape[2:], _per_dim(call.arg(3), dims, 1), padding,
                                  dilation, _per_dim(call.arg(7), dims, 0))
    return _misfit(x.shape[-dims:], weight.shape[2:], padding, dilation)


def _transposed_misfit(spatial: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
                       padding: Sequence[int], dilation: Sequence[int], output_padding: Sequence[int]) -> str | None:
    """A transposed convolution grows its input, less twice its padding: below one position, it is too small."""
    for axis, (size, k, s, p, d, extra) in enumerate(zip(spatial, kernel, stride, padding, dilation, output_padding,
                                                         strict=True)):
        out = (size - 1) * s - 2 * p + d * (k - 1) + extra + 1
        if out < 1:
            return (f"its output would have {out} positions along spatial axis {axis}: input {size}, stride {s}, "
                    f"kernel {k}, dilation {d} and output padding {extra} do not make up for padding 2·{p}")
    return None


def _unfold(call: OpCall) -> str | None:
    # im2col(input, kernel_size, dilation, padding, stride): F.unfold
    x = call.tensor(0)
    if x is None:
        return None
    return _misfit(x.shape[-2:], _per_dim(call.arg(1), 2, 1), _per_dim(call.arg(3), 2, 0), _per_dim(call.arg(2), 2, 1))


def _fold(call: OpCall) -> str | None:
    # col2im(input, output_size, kernel_size, dilation, padding, stride): F.fold's window slides over output_size
    size = call.arg(1)
    if size is None:
        return None
    return _misfit(_per_dim(size, 2, 1), _per_dim(call.arg(2), 2, 1), _per_dim(call.arg(4), 2, 0),
                   _per_dim(call.arg(3), 2, 1))


def _pool(dims: int, dilation_index: int | None) -> Callable[[OpCall], str | None]:
    def check(call: OpCall) -> str | None:
        # (input, kernel_size, stride, padding, [dilation], ...)
        x = call.tensor(0)
        if x is None:
            return None
        kernel = _per_dim(call.arg(1), dims, 1)
        dilation = _per_dim(call.arg(dilation_index), dims, 1) if dilation_index is not None else [1] * dims
        return _misfit(x.shape[-dims:], kernel, _per_dim(call.arg(3), dims, 0), dilation)

    return check


#: Sliding-window operators by aten name → their check.
WINDOW_CHECKS: dict[str, Callable[[OpCall], str | None]] = {
    "aten::convolution": _convolution,
    "aten::_convolution": _convolution,
    "aten::im2col": _unfold,
    "aten::col2im": _fold,
    "aten::max_pool1d": _pool(1, 4),
    "aten::max_pool1d_with_indices": _pool(1, 4),
    "aten::max_pool2d": _pool(2, 4),
    "aten::max_pool3d": _pool(3, 4),
    "aten::max_pool2d_with_indices": _pool(2, 4),
    "aten::max_pool3d_with_indices": _pool(3, 4),
    "aten::avg_pool1d": _pool(1, None),
    "aten::avg_pool2d": _pool(2, None),
    "aten::avg_pool3d": _pool(3, None),
}


def _padding(call: OpCall) -> str | None:
    # F.pad(input, pad, mode, value): reflection needs each pad below its dimension's size, circular at most it
    x, pads, mode = call.tensor(0), call.arg(1), call.arg(2, "constant")
    if x is None or mode not in ("reflect", "circular") or pads is None:
        return None
    pads = [int(p) for p in pads]
    for index in range(len(pads) // 2):
        axis = len(x.shape) - 1 - index
        if axis < 0:
            break
        size, widest = x.shape[axis], max(pads[2 * index], pads[2 * index + 1])
        if widest >= size + (mode == "circular"):
            need = "larger than" if mode == "reflect" else "at least"
            return (f"its {mode} padding of {widest} needs an input {need} {widest} along dimension {axis}, which "
                    f"has {size}")
    return None


def _function_call(names: Sequence[str], args: Sequence[Any], kwargs: dict[str, Any]) -> OpCall:
    values = [args[i] if i < len(args) else kwargs.get(name) for i, name in enumerate(names)]
    return OpCall(tuple(TensorArg(tuple(v.shape)) if isinstance(v, torch.Tensor) else v for v in values), ())


_POOL1D = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
_PAD = ("input", "pad", "mode", "value")
#: Torch functions that refuse an input too small before reaching an aten operator (the walk would not see the
#: operator) → (their argument names, the check, the name to report).
FUNCTION_CHECKS: dict[Callable[..., Any], tuple[Sequence[str], Callable[[OpCall], str | None], str]] = {
    torch.max_pool1d: (_POOL1D, _pool(1, 4), "max_pool1d"),
    torch.max_pool1d_with_indices: (_POOL1D, _pool(1, 4), "max_pool1d"),
    F.max_pool1d: (_POOL1D, _pool(1, 4), "max_pool1d"),
    F.max_pool1d_with_indices: (_POOL1D, _pool(1, 4), "max_pool1d"),
    F.pad: (_PAD, _padding, "pad"),
}


def window_misfit(name: str, call: OpCall) -> str | None:
    """Why operator ``name``'s window does not fit its padded input, or None when it fits (or is no window op)."""
    check = WINDOW_CHECKS.get(name)
    return check(call) if check is not None else None


def function_misfit(func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[str, str] | None:
    """``(function, why)`` when torch function ``func`` is one of :data:`FUNCTION_CHECKS` and the input is too small
    for it, else None."""
    entry = FUNCTION_CHECKS.get(func)
    if entry is None:
        return None
    names, check, label = entry
    why = check(_function_call(names, args, kwargs))
    return None if why is None else (label, why)
