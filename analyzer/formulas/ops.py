"""Operator formulas: the one place that says what each aten operator costs.

Units: a **MAC** is one multiply-accumulate and exists only for convolutions and matrix
products. A **FLOP** is one floating-point operation: ``2 × MACs`` for conv/linear plus
one per bias add, and for every other operator a stated cost per element (see each
``register_op`` call). Transcendental functions count as one FLOP.

Every formula is a pure function of an :class:`OpCall` (shapes and scalar arguments),
so the dispatch engine (aten ops on ``meta`` tensors) and the fvcore engine (ops of a
traced graph) share it. Add an operator with :func:`register_op` (its report key is an
:class:`OpKey`; add a member there for a new kind of operator); declare an operator that
does no arithmetic with :func:`register_free`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..naming import StrEnum

Shape = tuple[int, ...]


class OpKey(StrEnum):
    """The operator groups reports and tool conventions count by (several aten names share one)."""

    CONV = "conv"
    LINEAR = "linear"
    BATCH_NORM = "batch_norm"
    NORM = "norm"
    RELU = "relu"
    CLAMP = "clamp"
    ACTIVATION = "activation"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    HARDSIGMOID = "hardsigmoid"
    SILU = "silu"
    HARDSWISH = "hardswish"
    MISH = "mish"
    ADD = "add"
    MUL = "mul"
    DIV = "div"
    ELEMENTWISE = "elementwise"
    SOFTMAX = "softmax"
    DROPOUT = "dropout"
    MEAN = "mean"
    SUM = "sum"
    MAX = "max"
    POOL = "pool"
    COMPARE = "compare"


@dataclass(frozen=True)
class TensorArg:
    """A tensor argument reduced to what formulas may read."""

    shape: Shape

    @property
    def numel(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)


@dataclass(frozen=True)
class OpCall:
    """One operator call: positional arguments (tensors as :class:`TensorArg`) and output shapes."""

    args: tuple[Any, ...]
    outputs: tuple[Shape, ...]

    def tensor(self, index: int) -> TensorArg | None:
        """Argument ``index`` if it is a tensor, else None."""
        value = self.args[index] if index < len(self.args) else None
        return value if isinstance(value, TensorArg) else None

    def required_tensor(self, index: int) -> TensorArg:
        """Argument ``index``, which the operator's schema says is a tensor."""
        value = self.tensor(index)
        if value is None:
            raise ValueError(f"expected a tensor as argument {index}, got {self.arg(index)!r}")
        return value

    def arg(self, index: int, default: Any = None) -> Any:
        """Argument ``index``, or ``default`` when the call has fewer arguments."""
        return self.args[index] if index < len(self.args) else default

    @property
    def out_numel(self) -> int:
        """Elements of the first output."""
        return math.prod(self.outputs[0]) if self.outputs else 0

    @property
    def in_numel(self) -> int:
        """Elements of the first tensor argument."""
        first = next((a for a in self.args if isinstance(a, TensorArg)), None)
        return first.numel if first is not None else 0


@dataclass(frozen=True)
class OpCost:
    """Cost of one call: ``macs`` (convolutions and matrix products only) and ``flops``."""

    macs: int = 0
    flops: int = 0


@dataclass(frozen=True)
class OpFormula:
    """A registered formula.

    Attributes:
        key: the short name reports group by (``conv``, ``linear``, ``batch_norm``, ``silu`` …).
        cost: the formula.
        rule: the counting rule in words, shown in reports.
    """

    key: OpKey
    cost: Callable[[OpCall], OpCost]
    rule: str


OP_FORMULAS: dict[str, OpFormula] = {}
#: Operator keys whose cost is multiply-accumulates: convolutions and matrix products.
MATRIX_KEYS: tuple[OpKey, ...] = (OpKey.CONV, OpKey.LINEAR)
#: Operators that do no arithmetic, with the rule that makes them free.
FREE_OPS: dict[str, str] = {}


OpCostFunction = Callable[[OpCall], OpCost]


def register_op(names: Iterable[str], key: OpKey, rule: str) -> Callable[[OpCostFunction], OpCostFunction]:
    """Decorator registering ``cost`` for every aten name in ``names`` (``aten::op``, no overload).

    Raises:
        ValueError: a name already has a formula or is declared free, or ``key`` is not an :class:`OpKey`.
    """
    if not isinstance(key, OpKey):
        raise ValueError(f"an operator key must be an OpKey member; got {key!r}")

    def decorate(cost: OpCostFunction) -> OpCostFunction:
        for name in names:
            if name in OP_FORMULAS or name in FREE_OPS:
                raise ValueError(f"operator {name} already has a formula")
            OP_FORMULAS[name] = OpFormula(key, cost, rule)
        return cost

    return decorate


def register_free(names: Iterable[str], rule: str) -> None:
    """Declare operators that cost no FLOPs, with the reason."""
    for name in names:
        if name in OP_FORMULAS or name in FREE_OPS:
            raise ValueError(f"operator {name} already has a formula")
        FREE_OPS[name] = rule


def per_output_element(names: Sequence[str], key: OpKey, flops_per_element: int, what: str) -> None:
    """Register an elementwise operator costing ``flops_per_element`` per output element."""
    register_op(names, key, f"{flops_per_element} FLOP per output element ({what})")(
        lambda call: OpCost(flops=flops_per_element * call.out_numel)
    )


def per_input_element(names: Sequence[str], key: OpKey, what: str) -> None:
    """Register a reduction costing one FLOP per input element."""
    register_op(names, key, f"1 FLOP per input element ({what})")(
        lambda call: OpCost(flops=call.required_tensor(0).numel)
    )


# --- convolution -------------------------------------------------------------------------


def conv_macs(x: Shape, weight: Shape, out: Shape, transposed: bool) -> int:
    """Multiply-accumulates of an N-d convolution from its tensor shapes.

    Regular: every output element takes ``C_in/groups · prod(kernel)`` MACs, and
    ``weight`` is ``(C_out, C_in/groups, *kernel)``, so MACs = ``numel(out) · prod(weight[1:])``.
    Transposed: every input element is scattered through ``C_out/groups · prod(kernel)``
    weights, and ``weight`` is ``(C_in, C_out/groups, *kernel)``, so MACs = ``numel(x) · prod(weight[1:])``.
    """
    return math.prod(x if transposed else out) * math.prod(weight[1:])


_CONV_RULE = ("MACs = numel(out)·(C_in/groups)·prod(kernel) (transposed: numel(in)·(C_out/groups)·prod(kernel)); "
              "FLOPs = 2·MACs + 1 per output element with bias")


def _conv_cost(call: OpCall, transposed: bool) -> OpCost:
    x, weight = call.required_tensor(0), call.required_tensor(1)
    macs = conv_macs(x.shape, weight.shape, call.outputs[0], transposed)
    bias = call.out_numel if call.tensor(2) is not None else 0
    return OpCost(macs, 2 * macs + bias)


@register_op(["aten::convolution", "aten::_convolution"], OpKey.CONV, _CONV_RULE)
def _convolution(call: OpCall) -> OpCost:
    # (input, weight, bias, stride, padding, dilation, transposed, output_padding, groups, ...)
    return _conv_cost(call, transposed=bool(call.arg(6, False)))


@register_op(["aten::conv1d", "aten::conv2d", "aten::conv3d", "aten::_convolution_mode"], OpKey.CONV, _CONV_RULE)
def _conv_nd(call: OpCall) -> OpCost:
    # (input, weight, bias, stride, padding, dilation, groups): never transposed. _convolution_mode is the
    # same call with padding "same"/"valid" (a trace records it; dispatch sees its aten::convolution)
    return _conv_cost(call, transposed=False)


# --- matrix products ---------------------------------------------------------------------

_MATMUL_RULE = "MACs = rows·inner·cols (per batch); FLOPs = 2·MACs + 1 per output element with bias"


@register_op(["aten::addmm"], OpKey.LINEAR, _MATMUL_RULE)
def _addmm(call: OpCall) -> OpCost:
    mat1, mat2 = call.required_tensor(1), call.required_tensor(2)
    macs = mat1.shape[0] * mat1.shape[1] * mat2.shape[1]
    return OpCost(macs, 2 * macs + call.out_numel)


@register_op(["aten::mm", "aten::bmm", "aten::matmul", "aten::mv", "aten::dot", "aten::vdot"], OpKey.LINEAR,
             _MATMUL_RULE)
def _matmul(call: OpCall) -> OpCost:
    a = call.required_tensor(0)
    macs = call.out_numel * a.shape[-1]
    return OpCost(macs, 2 * macs)


@register_op(["aten::baddbmm", "aten::addmv"], OpKey.LINEAR, _MATMUL_RULE)
def _baddbmm(call: OpCall) -> OpCost:
    a = call.required_tensor(1)
    macs = call.out_numel * a.shape[-1]
    return OpCost(macs, 2 * macs + call.out_numel)


@register_op(["aten::linear"], OpKey.LINEAR, _MATMUL_RULE)
def _linear(call: OpCall) -> OpCost:
    x = call.required_tensor(0)
    macs = call.out_numel * x.shape[-1]
    bias = call.out_numel if call.tensor(2) is not None else 0
    return OpCost(macs, 2 * macs + bias)


def einsum_index_sizes(equation: str, shapes: Sequence[Shape]) -> tuple[dict[str, int], list[str], str]:
    """Each index letter's size, the operands' index strings and the output's, from an einsum equation.

    ``...`` stands for the broadcast of the operands' leading dimensions; it is given the
    letters ``0``, ``1`` … (right-aligned, so that broadcasting matches), which no equation uses.

    Raises:
        ValueError: the equation names a different number of operands than ``shapes``.
    """
    text = equation.replace(" ", "")
    inputs, arrow, output = text.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum equation {equation!r} names {len(terms)} operands; got {len(shapes)}")
    width = max((len(shape) - len(term.replace("...", "")) for term, shape in zip(terms, shapes, strict=True)),
                default=0)
    ellipsis = "".join(str(i) for i in range(width))
    sizes: dict[str, int] = {}
    expanded = []
    for term, shape in zip(terms, shapes, strict=True):
        extra = len(shape) - len(term.replace("...", ""))
        term = term.replace("...", ellipsis[width - extra:]) if "..." in term else term
        expanded.append(term)
        for letter, size in zip(term, shape, strict=True):
            sizes[letter] = max(sizes.get(letter, 1), size)
    if not arrow:  # implicit output: every letter used once, in alphabetical order, after the ellipsis
        counts = {letter: "".join(expanded).count(letter) for letter in sizes}
        output = ellipsis + "".join(sorted(letter for letter, n in counts.items() if n == 1 and letter.isalpha()))
    else:
        output = output.replace("...", ellipsis)
    return sizes, expanded, output


def einsum_macs(equation: str, shapes: Sequence[Shape]) -> int:
    """Multiply-accumulates of an einsum contracted left to right, as ``torch.einsum`` does by default.

    Two operands: one MAC per combination of every index (each output element sums over the
    contracted ones). More: the first two are contracted into an intermediate holding the
    indices still needed, which is then contracted with the next. One operand does no multiplication.
    """
    sizes, terms, output = einsum_index_sizes(equation, shapes)
    macs = 0
    current = terms[0]
    for position, term in enumerate(terms[1:], start=1):
        letters = set(current) | set(term)
        macs += math.prod(sizes[letter] for letter in letters)
        later = set(output).union(*terms[position + 1:])
        current = "".join(letter for letter in sorted(letters) if letter in later)
    return macs


@register_op(["aten::einsum"], OpKey.LINEAR,
             "two operands: MACs = product of the sizes of every index; more: contracted left to right; "
             "FLOPs = 2·MACs (a trace records aten::einsum; dispatch sees the bmm it becomes)")
def _einsum(call: OpCall) -> OpCost:
    operands = [value for value in call.arg(1, ()) if isinstance(value, TensorArg)]
    macs = einsum_macs(str(call.arg(0)), [operand.shape for operand in operands])
    return OpCost(macs, 2 * macs)


@register_op(["aten::scaled_dot_product_attention"], OpKey.LINEAR,
             "q·kᵀ then weights·v: MACs = batch·L·S·(E + E_v); FLOPs = 2·MACs (a trace records it; dispatch sees "
             "the matrix products it becomes)")
def _scaled_dot_product_attention(call: OpCall) -> OpCost:
    query, key, value = call.required_tensor(0), call.required_tensor(1), call.required_tensor(2)
    batch = math.prod(query.shape[:-2])
    length, source = query.shape[-2], key.shape[-2]
    macs = batch * length * source * (query.shape[-1] + value.shape[-1])
    return OpCost(macs, 2 * macs)


@register_op(["aten::_native_multi_head_attention"], OpKey.LINEAR,
             "nn.MultiheadAttention's fused inference path: q, k, v projections (L·E², S·E², S·E² per batch), "
             "attention (2·L·S·E) and the output projection (L·E²); FLOPs = 2·MACs (biases, softmax not itemised)")
def _native_multi_head_attention(call: OpCall) -> OpCost:
    # (query, key, value, embed_dim, num_head, qkv_weight, qkv_bias, proj_weight, proj_bias, ...), batch first
    query, key = call.required_tensor(0), call.required_tensor(1)
    embed = int(call.arg(3))
    batch = math.prod(query.shape[:-2]) if len(query.shape) > 2 else 1
    length, source = query.shape[-2], key.shape[-2]
    macs = batch * (length * embed * embed + 2 * source * embed * embed + 2 * length * source * embed
                    + length * embed * embed)
    return OpCost(macs, 2 * macs)


# --- normalisation -----------------------------------------------------------------------

NORM_FLOPS_WITH_STATS = 5
NORM_FLOPS_FOLDED = 2


def _norm_cost(numel: int, training: bool) -> OpCost:
    return OpCost(flops=(NORM_FLOPS_WITH_STATS if training else NORM_FLOPS_FOLDED) * numel)


@register_op(
    ["aten::batch_norm", "aten::native_batch_norm", "aten::_native_batch_norm_legit", "aten::cudnn_batch_norm"],
    OpKey.BATCH_NORM,
    "running stats (eval): 2 FLOPs per element, one multiply-add with a per-channel scale and shift; "
    "batch stats (training): 5 per element (subtract mean, square-accumulate, normalise-and-affine)",
)
def _batch_norm(call: OpCall) -> OpCost:
    x = call.required_tensor(0)
    return _norm_cost(x.numel, bool(call.arg(5, False)))


@register_op(["aten::_native_batch_norm_legit_no_training"], OpKey.BATCH_NORM, "2 FLOPs per element (running stats)")
def _batch_norm_eval(call: OpCall) -> OpCost:
    x = call.required_tensor(0)
    return _norm_cost(x.numel, False)


@register_op(
    ["aten::layer_norm", "aten::native_layer_norm", "aten::group_norm", "aten::native_group_norm",
     "aten::instance_norm"],
    OpKey.NORM,
    "5 FLOPs per element (subtract mean, square-accumulate, normalise-and-affine)",
)
def _norm_with_stats(call: OpCall) -> OpCost:
    x = call.required_tensor(0)
    return _norm_cost(x.numel, True)


# --- activations and elementwise arithmetic ----------------------------------------------

per_output_element(["aten::relu", "aten::relu_"], OpKey.RELU, 1, "max(x, 0)")
per_output_element(["aten::hardtanh", "aten::hardtanh_", "aten::relu6", "aten::clamp", "aten::clamp_",
                    "aten::clamp_min", "aten::clamp_max"], OpKey.CLAMP, 1, "clamp; ReLU6 is hardtanh(0, 6)")
per_output_element(["aten::leaky_relu", "aten::leaky_relu_", "aten::elu", "aten::elu_", "aten::gelu",
                    "aten::softplus"], OpKey.ACTIVATION, 1, "one function evaluation")
per_output_element(["aten::sigmoid", "aten::sigmoid_"], OpKey.SIGMOID, 1, "one function evaluation")
per_output_element(["aten::tanh", "aten::tanh_"], OpKey.TANH, 1, "one function evaluation")
per_output_element(["aten::hardsigmoid", "aten::hardsigmoid_"], OpKey.HARDSIGMOID, 1, "one clamp")
per_output_element(["aten::silu", "aten::silu_", "prim::PythonOp._SwishFunction"], OpKey.SILU, 2,
                   "sigmoid + multiply, as x·sigmoid(x) written out; convcost's MemoryEfficientSwish too")
per_output_element(["aten::hardswish", "aten::hardswish_"], OpKey.HARDSWISH, 2, "hardsigmoid + multiply")
per_output_element(["aten::mish"], OpKey.MISH, 3, "softplus, tanh, multiply")
per_output_element(["aten::add", "aten::add_", "aten::sub", "aten::sub_", "aten::rsub"], OpKey.ADD, 1, "one add")
per_output_element(["aten::mul", "aten::mul_"], OpKey.MUL, 1, "one multiply")
per_output_element(["aten::div", "aten::div_"], OpKey.DIV, 1, "one divide")
per_output_element(["aten::exp", "aten::log", "aten::sqrt", "aten::rsqrt", "aten::neg", "aten::abs",
                    "aten::reciprocal", "aten::pow", "aten::maximum", "aten::minimum", "aten::where",
                    "aten::log2", "aten::log10", "aten::log1p", "aten::expm1", "aten::sin", "aten::cos", "aten::erf",
                    "aten::floor", "aten::ceil", "aten::round", "aten::trunc", "aten::frac", "aten::sign",
                    "aten::remainder", "aten::fmod", "aten::masked_fill", "aten::masked_fill_"],
                   OpKey.ELEMENTWISE, 1, "one operation")
per_output_element(["aten::eq", "aten::ne", "aten::gt", "aten::ge", "aten::lt", "aten::le", "aten::logical_and",
                    "aten::logical_or", "aten::logical_not", "aten::logical_xor", "aten::bitwise_and",
                    "aten::bitwise_or", "aten::bitwise_not", "aten::bitwise_xor"],
                   OpKey.COMPARE, 1, "one comparison or logical operation")
per_output_element(["aten::_softmax", "aten::softmax", "aten::_log_softmax", "aten::log_softmax",
                    "aten::_safe_softmax"], OpKey.SOFTMAX, 3,
                   "exp, sum, divide")


@register_op(["aten::native_dropout", "aten::dropout", "aten::feature_dropout"], OpKey.DROPOUT,
             "1 FLOP per element in training (mask multiply); free in eval, where it is the identity")
def _dropout(call: OpCall) -> OpCost:
    return OpCost(flops=call.out_numel if call.arg(2, True) else 0)


# --- pooling and reductions --------------------------------------------------------------

per_input_element(["aten::mean", "aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d",
                   "aten::adaptive_avg_pool3d", "aten::_adaptive_avg_pool2d", "aten::_adaptive_avg_pool3d"],
                  OpKey.MEAN, "n-1 adds and a divide per output; adaptive pools whose bins overlap are approximated")
per_input_element(["aten::sum"], OpKey.SUM, "n-1 adds per output, rounded up to n")
per_input_element(["aten::amax", "aten::amin", "aten::max", "aten::min", "aten::adaptive_max_pool2d"], OpKey.MAX,
                  "one compare")


@register_op(
    ["aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d", "aten::max_pool1d", "aten::max_pool2d",
     "aten::max_pool3d", "aten::max_pool2d_with_indices", "aten::max_pool3d_with_indices"],
    OpKey.POOL,
    "prod(kernel) FLOPs per output element (adds or compares)",
)
def _pool(call: OpCall) -> OpCost:
    kernel = call.arg(1)
    x = call.required_tensor(0)
    spatial = len(x.shape) - 2
    size = [kernel] * spatial if isinstance(kernel, int) else list(kernel)
    if len(size) == 1:
        size = size * spatial
    return OpCost(flops=call.out_numel * math.prod(size))


# --- free operators ----------------------------------------------------------------------

register_free(
    ["aten::view", "aten::_unsafe_view", "aten::reshape", "aten::flatten", "aten::squeeze", "aten::unsqueeze",
     "aten::permute", "aten::transpose", "aten::t", "aten::expand", "aten::expand_as", "aten::alias",
     "aten::detach", "aten::slice", "aten::select", "aten::split", "aten::split_with_sizes", "aten::chunk",
     "aten::unbind", "aten::unsafe_split", "aten::unsafe_chunk", "aten::as_strided", "aten::narrow",
     "aten::unflatten", "aten::view_as", "aten::lift_fresh",
     "aten::size", "aten::numel", "aten::Int", "aten::ScalarImplicit", "aten::_shape_as_tensor"],
    "view or metadata: no data is read or written",
)
register_free(
    ["aten::clone", "aten::contiguous", "aten::copy_", "aten::_to_copy", "aten::to", "aten::cat", "aten::stack",
     "aten::constant_pad_nd", "aten::pad", "aten::empty", "aten::empty_like", "aten::new_empty",
     "aten::empty_strided", "aten::new_empty_strided", "aten::zeros", "aten::zeros_like", "aten::new_zeros",
     "aten::ones", "aten::ones_like", "aten::full", "aten::full_like", "aten::new_full", "aten::fill_",
     "aten::zero_", "aten::type_as", "aten::arange", "aten::scalar_tensor", "aten::repeat", "aten::roll",
     "aten::flip", "aten::index", "aten::index_select", "aten::gather", "aten::index_put", "aten::index_put_",
     "aten::nonzero", "aten::embedding", "aten::as_strided_", "aten::lift_fresh_copy"],
    "data movement or initialisation: memory traffic, no arithmetic",
)
register_free(["aten::_local_scalar_dense"], "reading one value out of a tensor (.item()): no arithmetic")
register_free(
    ["aten::bernoulli", "aten::bernoulli_", "aten::rand", "aten::rand_like", "aten::randn", "aten::randn_like",
     "aten::uniform_", "aten::normal_"],
    "random number generation is not floating-point arithmetic on activations",
)
