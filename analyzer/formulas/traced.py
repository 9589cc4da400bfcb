"""What a trace records for the torch functions whose trace node the dispatch walk cannot tell apart.

A tool that counts from a traced graph (fvcore) sees each torch function call as the aten
operator the tracer records, before PyTorch decomposes it. The dispatch walk sees the
decomposition, where some calls are indistinguishable: a convolution called with padding
``"same"``/``"valid"`` (a trace records ``aten::_convolution_mode``) runs the same
``aten::convolution`` as any other; ``F.adaptive_avg_pool2d`` to one position becomes the
``aten::mean`` that ``x.mean((2, 3))`` also is; a batch norm's affine weights are one argument
of the call, whatever its module's class; scaled-dot-product attention (also inside
``F.multi_head_attention_forward``) becomes matrix products. The walk records these calls at the
torch-function level, by the trace node's name, so that a tool's rules apply to what was called.

Each call is recorded with the number of calls, its multiply-accumulates (matrix products), and
the elements of its first input and of its output, under a key naming the trace node and, for
norms, whether the call had affine weights and whether it normalised by the batch's statistics.
Only the outermost torch function of a call is seen (a function mode is inactive while its own
handler runs): functions PyTorch calls from its own Python functions are derived from the outer
call (attention inside ``F.multi_head_attention_forward``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .functions import Call, einsum_macs
from .trace_nodes import TracedOp, traced_key


@dataclass(frozen=True)
class TracedCall:
    """One recorded call: its key, multiply-accumulates, and first input's and output's elements."""

    key: str
    macs: int = 0
    in_elements: int = 0
    out_elements: int = 0


def _numel(value: Any) -> int:
    return value.numel() if isinstance(value, torch.Tensor) else 0


def _output(call: Call) -> Any:
    out = call.output
    return out[0] if isinstance(out, (tuple, list)) and out else out


def _conv(call: Call) -> list[TracedCall]:
    padding = call.get(4, "padding", 0)
    if not isinstance(padding, str):
        return []  # an ordinary convolution: the trace's aten::_convolution, as dispatch sees it
    x, weight, out = call.get(0, "input"), call.get(1, "weight"), _output(call)
    macs = _numel(out) * math.prod(weight.shape[1:])
    return [TracedCall(TracedOp.CONVOLUTION_MODE.value, macs, _numel(x), _numel(out))]


def _adaptive_avg_pool2d(call: Call) -> list[TracedCall]:
    return [TracedCall(TracedOp.ADAPTIVE_AVG_POOL2D.value, 0, _numel(call.get(0, "input")), _numel(_output(call)))]


def _norm(op: TracedOp, weight_index: int, weight_name: str, training_index: int | None = None,
          training_name: str = "") -> Callable[[Call], list[TracedCall]]:
    def record(call: Call) -> list[TracedCall]:
        affine = isinstance(call.get(weight_index, weight_name), torch.Tensor)
        batch = training_index is not None and bool(call.get(training_index, training_name, False))
        x = call.get(0, "input")
        return [TracedCall(traced_key(op, affine=affine, batch_statistics=batch), 0, _numel(x), _numel(_output(call)))]

    return record


def _attention_macs(query: tuple[int, ...], key: tuple[int, ...], value: tuple[int, ...]) -> int:
    return math.prod(query[:-2]) * query[-2] * key[-2] * (query[-1] + value[-1])


def _scaled_dot_product_attention(call: Call) -> list[TracedCall]:
    query, key, value = call.shape(0, "query"), call.shape(1, "key"), call.shape(2, "value")
    return [TracedCall(TracedOp.SCALED_DOT_PRODUCT_ATTENTION.value, _attention_macs(query, key, value),
                       math.prod(query), _numel(_output(call)))]


def _multi_head_attention(call: Call) -> list[TracedCall]:
    """The attention products ``F.multi_head_attention_forward`` runs through nodes that are not matrix products
    of a trace's usual kinds: scaled-dot-product attention when it returns no weights; with weights, ``bmm`` for
    the scores (``baddbmm`` when a mask is added) and for the weighted values."""
    query, key = call.shape(0, "query"), call.shape(1, "key")
    embed = query[-1]
    batch = query[1] if len(query) == 3 else 1
    length, source = query[0], key[0]
    static_k = call.get(21, "static_k")
    if isinstance(static_k, torch.Tensor):
        source = static_k.shape[1]
    else:
        source += int(call.get(7, "bias_k") is not None)
    source += int(bool(call.get(9, "add_zero_attn", False)))
    scores = batch * length * source * embed  # every head: L·S·(E/heads); the weighted values as many
    if not call.get(15, "need_weights", True):
        return [TracedCall(TracedOp.SCALED_DOT_PRODUCT_ATTENTION.value, 2 * scores, batch * length * embed,
                           batch * length * embed)]
    masked = call.get(14, "key_padding_mask") is not None or call.get(16, "attn_mask") is not None
    return [TracedCall(TracedOp.BADDBMM.value, scores, batch * length * embed)] if masked else []


def _products(op: TracedOp) -> Callable[[Call], list[TracedCall]]:
    """A matrix product of ``op``'s kind: MACs = elements of the output · the contracted size."""

    def record(call: Call) -> list[TracedCall]:
        first = 1 if op in (TracedOp.BADDBMM, TracedOp.ADDMV) else 0
        a = call.get(first, "input" if not first else ("batch1" if op is TracedOp.BADDBMM else "mat"))
        out = _output(call)
        inner = a.shape[-1] if isinstance(a, torch.Tensor) and a.dim() else 1
        return [TracedCall(op.value, max(_numel(out), 1) * inner, _numel(a), _numel(out))]

    return record


def _einsum(call: Call) -> list[TracedCall]:
    equation = call.get(0, "equation")
    operands = list(call.args[1:])
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = list(operands[0])
    shapes = [tuple(op.shape) for op in operands if isinstance(op, torch.Tensor)]
    return [TracedCall(TracedOp.EINSUM.value, einsum_macs(str(equation), shapes),
                       math.prod(shapes[0]) if shapes else 0, _numel(_output(call)))]


def _interpolate(call: Call) -> list[TracedCall]:
    x, out = call.get(0, "input"), _output(call)
    mode = call.get(3, "mode", "nearest")
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or call.get(6, "antialias", False):
        return []
    op = {"nearest": TracedOp.UPSAMPLE_NEAREST2D, "bilinear": TracedOp.UPSAMPLE_BILINEAR2D}.get(mode)
    return [] if op is None else [TracedCall(op.value, 0, _numel(x), _numel(out))]


def _grid_sample(call: Call) -> list[TracedCall]:
    return [TracedCall(TracedOp.GRID_SAMPLER.value, 0, _numel(call.get(0, "input")), _numel(_output(call)))]


#: Torch functions whose trace node the walk records → how (see the module docstring).
TRACED_FUNCTIONS: dict[Callable[..., Any], Callable[[Call], list[TracedCall]]] = {
    F.conv1d: _conv, F.conv2d: _conv, F.conv3d: _conv,
    F.adaptive_avg_pool2d: _adaptive_avg_pool2d, torch._C._nn.adaptive_avg_pool2d: _adaptive_avg_pool2d,
    F.batch_norm: _norm(TracedOp.BATCH_NORM, 3, "weight", 5, "training"),
    torch.batch_norm: _norm(TracedOp.BATCH_NORM, 1, "weight", 5, "training"),
    F.instance_norm: _norm(TracedOp.INSTANCE_NORM, 3, "weight"),
    torch.instance_norm: _norm(TracedOp.INSTANCE_NORM, 1, "weight"),
    F.layer_norm: _norm(TracedOp.LAYER_NORM, 2, "weight"), torch.layer_norm: _norm(TracedOp.LAYER_NORM, 2, "weight"),
    F.group_norm: _norm(TracedOp.GROUP_NORM, 2, "weight"), torch.group_norm: _norm(TracedOp.GROUP_NORM, 2, "weight"),
    F.scaled_dot_product_attention: _scaled_dot_product_attention,
    F.multi_head_attention_forward: _multi_head_attention,
    torch.baddbmm: _products(TracedOp.BADDBMM), torch.Tensor.baddbmm: _products(TracedOp.BADDBMM),
    torch.addmv: _products(TracedOp.ADDMV), torch.Tensor.addmv: _products(TracedOp.ADDMV),
    torch.mv: _products(TracedOp.MV), torch.Tensor.mv: _products(TracedOp.MV),
    torch.dot: _products(TracedOp.DOT), torch.Tensor.dot: _products(TracedOp.DOT),
    torch.vdot: _products(TracedOp.VDOT), torch.Tensor.vdot: _products(TracedOp.VDOT),
    torch.einsum: _einsum,
    F.interpolate: _interpolate,
    F.grid_sample: _grid_sample,
}


def traced_calls(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                 output: Any) -> list[TracedCall]:
    """What a trace records for one call of ``func`` that the walk cannot tell apart (often nothing)."""
    record = TRACED_FUNCTIONS.get(func)
    return [] if record is None else record(Call(args, kwargs, output))
