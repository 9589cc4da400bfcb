"""Closed-form MACs of the torch functions that do matrix products, from their arguments' shapes.

These are the analytic engine's formulas: they read a function call as the user's code
makes it (``F.linear``, ``torch.matmul``, ``torch.einsum``, ``F.scaled_dot_product_attention``,
``F.multi_head_attention_forward``, ``F.conv2d`` …), before PyTorch decomposes it into the
aten operators the dispatch engine counts, and derive the multiply-accumulates from
hyper-parameters and shapes alone, each as a tensor contraction (one MAC per combination of
every index). Where the two counts differ, a decomposition does other work than the
function's arithmetic, or a formula is wrong: the cross-check lists it.

Only the outermost such call is counted (a function mode is inactive while its own handler
runs), so ``F.multi_head_attention_forward`` is one call, not its projections again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .ops import OpKey, einsum_macs

Shape = tuple[int, ...]


@dataclass(frozen=True)
class FunctionCost:
    """What one function call costs: its multiply-accumulates, the bias elements it adds, and its report key."""

    key: OpKey
    macs: int
    bias_elements: int = 0

    @property
    def flops(self) -> int:
        """``2·MACs`` plus one per bias element."""
        return 2 * self.macs + self.bias_elements


class Call:
    """A function call's arguments, by position or name, and its output."""

    def __init__(self, args: Sequence[Any], kwargs: dict[str, Any], output: Any = None) -> None:
        self.args = args
        self.kwargs = kwargs
        self.output = output

    def get(self, index: int, name: str, default: Any = None) -> Any:
        """Argument ``name``, passed at ``index`` or by keyword."""
        if index < len(self.args):
            return self.args[index]
        return self.kwargs.get(name, default)

    def shape(self, index: int, name: str) -> Shape:
        """Shape of the tensor argument ``name``."""
        value = self.get(index, name)
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"expected a tensor for {name}; got {type(value).__name__}")
        return tuple(value.shape)


def _broadcast(a: Shape, b: Shape) -> Shape:
    return tuple(torch.broadcast_shapes(a, b))


def _linear(call: Call) -> FunctionCost:
    x, weight = call.shape(0, "input"), call.shape(1, "weight")
    rows = math.prod(x[:-1])
    out = weight[0] if len(weight) == 2 else 1
    bias = call.get(2, "bias")
    return FunctionCost(OpKey.LINEAR, rows * out * weight[-1], rows * out if isinstance(bias, torch.Tensor) else 0)


def _matmul(call: Call) -> FunctionCost:
    a, b = call.shape(0, "input"), call.shape(1, "other")
    rows = a[-2] if len(a) > 1 else 1
    cols = b[-1] if len(b) > 1 else 1
    batch = _broadcast(a[:-2], b[:-2]) if len(a) > 2 or len(b) > 2 else ()
    return FunctionCost(OpKey.LINEAR, math.prod(batch) * rows * a[-1] * cols)


def _mm(first: int) -> Callable[[Call], FunctionCost]:
    """``mm``/``bmm`` (operands at 0, 1) and ``addmm``/``baddbmm`` (a bias at 0, operands at 1, 2)."""

    def cost(call: Call) -> FunctionCost:
        a, b = call.shape(first, "mat1" if first else "input"), call.shape(first + 1, "mat2")
        macs = math.prod(a) * b[-1]
        bias = math.prod(a[:-1]) * b[-1] if first else 0
        return FunctionCost(OpKey.LINEAR, macs, bias)

    return cost


def _einsum(call: Call) -> FunctionCost:
    equation = call.get(0, "equation")
    operands = call.args[1:]
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = operands[0]
    return FunctionCost(OpKey.LINEAR, einsum_macs(str(equation), [tuple(op.shape) for op in operands]))


def _attention(call: Call) -> FunctionCost:
    query, key, value = call.shape(0, "query"), call.shape(1, "key"), call.shape(2, "value")
    macs = math.prod(query[:-2]) * query[-2] * key[-2] * (query[-1] + value[-1])
    return FunctionCost(OpKey.LINEAR, macs)


def _multi_head_attention(call: Call) -> FunctionCost:
    # query (L, N, E) or unbatched (L, E); key (S, N, kdim), value (S, N, vdim)
    query, key, value = call.shape(0, "query"), call.shape(1, "key"), call.shape(2, "value")
    embed = query[-1]
    batch = query[1] if len(query) == 3 else 1
    length, source = query[0], key[0]
    with_bias = isinstance(call.get(6, "in_proj_bias"), torch.Tensor)
    projections = batch * (length * embed * embed + source * key[-1] * embed + source * value[-1] * embed)
    source += int(call.get(7, "bias_k") is not None) + int(bool(call.get(9, "add_zero_attn", False)))
    attention = 2 * batch * length * source * embed
    output = batch * length * embed * embed
    bias = batch * (length + 2 * key[0]) * embed if with_bias else 0
    bias += batch * length * embed if isinstance(call.get(12, "out_proj_bias"), torch.Tensor) else 0
    return FunctionCost(OpKey.LINEAR, projections + attention + output, bias)


def _sizes(value: Any, dims: int) -> list[int]:
    values = [value] * dims if isinstance(value, int) else list(value)
    return values * dims if len(values) == 1 else values


def _conv(dims: int) -> Callable[[Call], FunctionCost]:
    def cost(call: Call) -> FunctionCost:
        x, weight = call.shape(0, "input"), call.shape(1, "weight")
        stride = _sizes(call.get(3, "stride", 1), dims)
        padding = call.get(4, "padding", 0)
        dilation = _sizes(call.get(5, "dilation", 1), dims)
        spatial = x[-dims:]
        if padding == "same":
            out = list(spatial)
        else:
            pads = [0] * dims if padding == "valid" else _sizes(padding, dims)
            out = [(size + 2 * pad - d * (k - 1) - 1) // s + 1
                   for size, pad, d, k, s in zip(spatial, pads, dilation, weight[2:], stride, strict=True)]
        batch = x[0] if len(x) == dims + 2 else 1
        macs = batch * weight[0] * math.prod(out) * math.prod(weight[1:])
        bias = batch * weight[0] * math.prod(out) if isinstance(call.get(2, "bias"), torch.Tensor) else 0
        return FunctionCost(OpKey.CONV, macs, bias)

    return cost


def _conv_transpose(dims: int) -> Callable[[Call], FunctionCost]:
    def cost(call: Call) -> FunctionCost:
        # (input, weight (C_in, C_out/groups, *k), bias, stride, padding, output_padding, groups, dilation)
        # every input element is scattered through C_out/groups · prod(kernel) weights
        x, weight = call.shape(0, "input"), call.shape(1, "weight")
        batch = x[0] if len(x) == dims + 2 else 1
        macs = batch * math.prod(x[-dims:]) * weight[0] * math.prod(weight[1:])
        with_bias = isinstance(call.get(2, "bias"), torch.Tensor) and isinstance(call.output, torch.Tensor)
        return FunctionCost(OpKey.CONV, macs, math.prod(call.output.shape) if with_bias else 0)

    return cost


#: The functions the analytic engine counts → their formula.
FUNCTION_FORMULAS: dict[Callable[..., Any], Callable[[Call], FunctionCost]] = {
    F.linear: _linear,
    torch.matmul: _matmul, torch.Tensor.matmul: _matmul, torch.Tensor.__matmul__: _matmul,
    torch.mm: _mm(0), torch.Tensor.mm: _mm(0), torch.bmm: _mm(0), torch.Tensor.bmm: _mm(0),
    torch.addmm: _mm(1), torch.Tensor.addmm: _mm(1), torch.baddbmm: _mm(1), torch.Tensor.baddbmm: _mm(1),
    torch.mv: _matmul, torch.Tensor.mv: _matmul, torch.dot: _matmul, torch.Tensor.dot: _matmul,
    torch.vdot: _matmul, torch.Tensor.vdot: _matmul,
    torch.einsum: _einsum,
    F.scaled_dot_product_attention: _attention,
    F.multi_head_attention_forward: _multi_head_attention,
    F.conv1d: _conv(1), F.conv2d: _conv(2), F.conv3d: _conv(3),
    F.conv_transpose1d: _conv_transpose(1), F.conv_transpose2d: _conv_transpose(2),
    F.conv_transpose3d: _conv_transpose(3),
}


def function_cost(func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any] | None,
                  output: Any) -> FunctionCost | None:
    """The cost of one call of ``func``, or None when it is not a matrix product this module knows."""
    formula = FUNCTION_FORMULAS.get(func)
    return None if formula is None else formula(Call(args, kwargs or {}, output))
