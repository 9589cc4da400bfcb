"""Whether a sliding-window operator's window fits its padded input, from shapes alone.

An input too small for a model shows as a convolution or pooling whose window (dilated
kernel) is larger than its padded input, so its output would have fewer than one position.
The walk asks :func:`window_misfit` before running such an operator, so "input resolution
too small" is decided from shapes, whatever wording the kernel's own error would use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .ops import OpCall


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
    # (input, weight, bias, stride, padding, dilation, transposed, ...)
    x, weight = call.tensor(0), call.tensor(1)
    if x is None or weight is None or call.arg(6, False) or isinstance(call.arg(4), str):
        return None  # transposed convolutions grow their input; "same"/"valid" is checked by PyTorch's own rule
    dims = len(weight.shape) - 2
    return _misfit(x.shape[-dims:], weight.shape[2:], _per_dim(call.arg(4), dims, 0), _per_dim(call.arg(5), dims, 1))


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
    "aten::max_pool1d": _pool(1, 4),
    "aten::max_pool2d": _pool(2, 4),
    "aten::max_pool3d": _pool(3, 4),
    "aten::max_pool2d_with_indices": _pool(2, 4),
    "aten::max_pool3d_with_indices": _pool(3, 4),
    "aten::avg_pool1d": _pool(1, None),
    "aten::avg_pool2d": _pool(2, None),
    "aten::avg_pool3d": _pool(3, None),
}


def window_misfit(name: str, call: OpCall) -> str | None:
    """Why operator ``name``'s window does not fit its padded input, or None when it fits (or is no window op)."""
    check = WINDOW_CHECKS.get(name)
    return check(call) if check is not None else None
