"""Backward operator formulas: what each aten operator of a backward pass costs.

Units as in :mod:`convcost.analyzer.formulas.ops`. A backward pass runs two kinds of operators:
forward operators (``mul``, ``sum``, ``mm`` …, costed by their forward formulas) and the
backward kernels below. Multiply-accumulates exist only for convolutions and matrix products,
split by what they compute:

- **grad-input**: the gradient with respect to a layer's input (needed whenever something
  upstream requires grad);
- **grad-weight**: the gradient with respect to its weight (needed when the weight is trainable).

For a convolution of any groups, stride, dilation, padding or transposition, and for a linear
layer, each of the two equals the forward MACs: grad-input is the transposed convolution (or
product) of the output gradient with the weight, grad-weight the correlation of the output
gradient with the input, and both visit every (output element, weight element) pair of the
forward once. ``convolution_backward`` says which of them it computes (``output_mask``); a bias
gradient is a sum over the output gradient, one FLOP per element. FLOPs of a product are
``2 × MACs``, as forward.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .ops import OpCall, OpKey, conv_macs

__all__ = ["BACKWARD_FORMULAS", "BACKWARD_FREE", "BackwardCost", "BackwardFormula", "register_backward"]


@dataclass(frozen=True)
class BackwardCost:
    """Cost of one backward call: multiply-accumulates by what they compute, and FLOPs (all of it)."""

    grad_input_macs: int = 0
    grad_weight_macs: int = 0
    flops: int = 0

    @property
    def macs(self) -> int:
        """Every multiply-accumulate of the call."""
        return self.grad_input_macs + self.grad_weight_macs

    def __add__(self, other: BackwardCost) -> BackwardCost:
        return BackwardCost(self.grad_input_macs + other.grad_input_macs,
                            self.grad_weight_macs + other.grad_weight_macs, self.flops + other.flops)


@dataclass(frozen=True)
class BackwardFormula:
    """A registered backward formula: report key, cost and the rule in words."""

    key: OpKey
    cost: Callable[[OpCall], BackwardCost]
    rule: str


BACKWARD_FORMULAS: dict[str, BackwardFormula] = {}
#: Backward kernels that do no arithmetic, with the rule that makes them free.
BACKWARD_FREE: dict[str, str] = {}


def register_backward(names: Iterable[str], key: OpKey, rule: str
                      ) -> Callable[[Callable[[OpCall], BackwardCost]], Callable[[OpCall], BackwardCost]]:
    """Register ``function`` as the backward formula of every aten operator in ``names``."""

    def decorate(function: Callable[[OpCall], BackwardCost]) -> Callable[[OpCall], BackwardCost]:
        for name in names:
            BACKWARD_FORMULAS[name] = BackwardFormula(key, function, rule)
        return function

    return decorate


def per_element(names: Iterable[str], key: OpKey, flops_per_element: int, what: str) -> None:
    """A backward kernel costing ``flops_per_element`` per element of its first argument (the output gradient)."""
    register_backward(names, key, f"{flops_per_element} FLOP per element ({what})")(
        lambda call: BackwardCost(flops=flops_per_element * call.in_numel))


def register_backward_free(names: Iterable[str], rule: str) -> None:
    """Declare backward kernels that do no arithmetic (they place or copy gradients)."""
    for name in names:
        BACKWARD_FREE[name] = rule


register_backward_free(["aten::select_backward", "aten::slice_backward", "aten::as_strided_backward",
                        "aten::diagonal_backward", "aten::unfold_backward", "aten::narrow_copy_backward"],
                       "a zero gradient of the input's shape with the output's gradient copied into its place")


@register_backward(["aten::convolution_backward"], OpKey.CONV,
                   "grad-input MACs = grad-weight MACs = forward MACs, each when output_mask asks for it; "
                   "FLOPs = 2·MACs + 1 per output-gradient element for the bias gradient")
def _convolution_backward(call: OpCall) -> BackwardCost:
    # convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation, transposed,
    #                      output_padding, groups, output_mask)
    grad_output, x, weight = call.required_tensor(0), call.required_tensor(1), call.required_tensor(2)
    macs = conv_macs(x.shape, weight.shape, grad_output.shape, bool(call.arg(7)))
    grad_input, grad_weight, grad_bias = (bool(flag) for flag in call.arg(10, (True, True, True)))
    input_macs, weight_macs = macs if grad_input else 0, macs if grad_weight else 0
    bias_flops = grad_output.numel if grad_bias else 0
    return BackwardCost(input_macs, weight_macs, 2 * (input_macs + weight_macs) + bias_flops)


@register_backward(["aten::native_batch_norm_backward", "aten::cudnn_batch_norm_backward",
                    "aten::miopen_batch_norm_backward"], OpKey.BATCH_NORM,
                   "training: 9 FLOPs per element (normalise 2, the two reductions 2, the input gradient 5); "
                   "eval: 3 (scale the gradient 1, the weight and bias gradients 2)")
def _batch_norm_backward(call: OpCall) -> BackwardCost:
    # native_batch_norm_backward(grad_out, input, weight, running_mean, running_var, save_mean, save_invstd,
    #                            train, eps, output_mask)
    training = bool(call.arg(7, True))
    return BackwardCost(flops=(9 if training else 3) * call.required_tensor(1).numel)


@register_backward(["aten::native_layer_norm_backward", "aten::native_group_norm_backward"], OpKey.NORM,
                   "9 FLOPs per input element, as batch norm in training (normalise 2, the two reductions 2, the "
                   "input gradient 5)")
def _norm_backward(call: OpCall) -> BackwardCost:
    # native_layer_norm_backward(grad_out, input, ...); native_group_norm_backward(grad_out, input, ...)
    return BackwardCost(flops=9 * call.required_tensor(1).numel)


@register_backward(["aten::_weight_norm_interface_backward"], OpKey.ELEMENTWISE,
                   "6 FLOPs per weight element: the gradients of the direction v and the scale g of w = g·v/‖v‖")
def _weight_norm_backward(call: OpCall) -> BackwardCost:
    # _weight_norm_interface_backward(grad_w, saved_v, saved_g, saved_norms, dim)
    return BackwardCost(flops=6 * call.required_tensor(1).numel)


per_element(["aten::embedding_dense_backward"], OpKey.ELEMENTWISE, 1,
            "add each output-gradient row into its embedding row")
per_element(["aten::upsample_nearest2d_backward", "aten::upsample_nearest1d_backward",
             "aten::upsample_nearest3d_backward"], OpKey.ELEMENTWISE, 1, "sum each output gradient into its source")
per_element(["aten::upsample_bilinear2d_backward", "aten::upsample_linear1d_backward",
             "aten::upsample_trilinear3d_backward", "aten::upsample_bicubic2d_backward"], OpKey.ELEMENTWISE, 4,
            "spread each output gradient over its interpolation neighbours by their weights")
per_element(["aten::threshold_backward"], OpKey.RELU, 1, "ReLU: keep the gradient where the input was positive")
per_element(["aten::hardtanh_backward"], OpKey.CLAMP, 1, "clamp: keep the gradient inside the range")
per_element(["aten::sigmoid_backward"], OpKey.SIGMOID, 3, "g·y·(1 − y)")
per_element(["aten::tanh_backward"], OpKey.TANH, 3, "g·(1 − y²)")
per_element(["aten::silu_backward"], OpKey.SILU, 6, "g·σ(x)·(1 + x·(1 − σ(x))): σ, 1 − σ, ·x, +1, ·σ, ·g")
per_element(["aten::hardsigmoid_backward"], OpKey.HARDSIGMOID, 1, "g/6 inside the ramp")
per_element(["aten::hardswish_backward"], OpKey.HARDSWISH, 3, "g·(2x + 3)/6 on the ramp")
per_element(["aten::leaky_relu_backward", "aten::elu_backward", "aten::gelu_backward", "aten::softplus_backward",
             "aten::mish_backward"], OpKey.ACTIVATION, 2, "the derivative (one function evaluation) times g")
per_element(["aten::native_dropout_backward"], OpKey.DROPOUT, 2, "g·mask·scale")
per_element(["aten::_softmax_backward_data"], OpKey.SOFTMAX, 4, "y·(g − Σ g·y): product, sum, subtract, product")
per_element(["aten::_log_softmax_backward_data"], OpKey.SOFTMAX, 3, "g − exp(y)·Σ g")
per_element(["aten::max_pool2d_with_indices_backward", "aten::max_pool3d_with_indices_backward"], OpKey.POOL, 1,
            "route each output gradient to its argmax")


@register_backward(["aten::avg_pool2d_backward", "aten::avg_pool3d_backward"], OpKey.POOL,
                   "1 FLOP per (output-gradient element, window element): each is spread over its window")
def _avg_pool_backward(call: OpCall) -> BackwardCost:
    # avg_pool2d_backward(grad_output, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor)
    grad = call.required_tensor(0)
    kernel = [call.arg(2)] if isinstance(call.arg(2), int) else list(call.arg(2))
    spatial = len(grad.shape) - 2
    window = kernel * spatial if len(kernel) == 1 else kernel  # one size stands for every spatial dimension
    return BackwardCost(flops=grad.numel * math.prod(window))


@register_backward(["aten::_adaptive_avg_pool2d_backward", "aten::_adaptive_avg_pool3d_backward"], OpKey.MEAN,
                   "1 FLOP per input element (the gradient divided over the window)")
def _adaptive_avg_pool_backward(call: OpCall) -> BackwardCost:
    # _adaptive_avg_pool2d_backward(grad_output, self)
    return BackwardCost(flops=call.required_tensor(1).numel)
