"""The analytic engine: every multiply-accumulate from closed-form formulas of the calls the code makes.

Matrix products are counted where the user's code calls them — ``F.conv2d``, ``F.linear``,
``torch.matmul``, ``torch.einsum``, ``F.scaled_dot_product_attention``,
``F.multi_head_attention_forward`` … — by the formulas of :mod:`convcost.analyzer.formulas.functions`,
from hyper-parameters and shapes, before PyTorch decomposes them into the aten operators the
dispatch engine counts: two independent derivations of the same MACs. Every other operator
(norms, activations, pooling, the SE multiply, residual adds) has no such form, so it keeps
the operator formula applied to the shapes the dispatch walk recorded.

:func:`analytic_layer_macs` is the per-layer formula every conv/linear module is checked against
(:class:`~convcost.analyzer.records.LayerCheck`), from the module's hyper-parameters.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Literal

from ..formulas.layers import LayerHyper, conv_output_spatial, layer_macs
from ..formulas.ops import MATRIX_KEYS
from .base import EngineContext, EngineName, register_engine
from .counts import EngineCounts
from .tracker import ModuleCalls

SizeSource = Literal["formula", "measured"]


@dataclass(frozen=True)
class AnalyticCost:
    """A conv/linear layer's cost from its hyper-parameters, summed over its calls.

    Attributes:
        macs: multiply-accumulates; flops: ``2·macs`` plus one per output element with bias.
        output_elements: elements of the outputs.
        output_size_from: ``formula`` (PyTorch's shape formula) or ``measured`` (the layer pads
            inside its own forward, so the walk's output size is used).
    """

    macs: int
    flops: int
    output_elements: int
    output_size_from: SizeSource


def analytic_layer_macs(h: LayerHyper, calls: ModuleCalls) -> AnalyticCost:
    """The cost of every call of the layer (see :class:`AnalyticCost`)."""
    macs = flops = outputs_total = 0
    source: SizeSource = "formula"
    for inputs, outputs in zip(calls.inputs, calls.outputs, strict=True):
        in_shape, out_shape = inputs[0], outputs[0]
        if h.is_linear:
            spatial: tuple[int, ...] = ()
        else:
            formula_spatial = conv_output_spatial(h, in_shape[-len(h.kernel):])
            if formula_spatial is None:
                source = "measured"
                formula_spatial = out_shape[-len(h.kernel):]
            spatial = formula_spatial
        call_macs = layer_macs(h, in_shape, spatial)
        out_elements = (math.prod(in_shape[:-1]) * h.out_channels if h.is_linear
                        else (in_shape[0] if len(in_shape) == len(h.kernel) + 2 else 1) * h.out_channels
                        * math.prod(spatial))
        macs += call_macs
        flops += 2 * call_macs + (out_elements if h.bias else 0)
        outputs_total += out_elements
    return AnalyticCost(macs, flops, outputs_total, source)


class AnalyticEngine:
    """Conv and linear layers from their hyper-parameters; every other operator as the dispatch walk measured it."""

    name = EngineName.ANALYTIC
    label = "the analytic engine"
    description = "every matrix product from closed-form formulas of the torch functions the code calls"
    reads_functions = True
    keyword_inputs = True
    blind_spot = ""
    lone_reason = ("the aten operators PyTorch ran differ from the formulas of the torch functions this module "
                   "calls: a decomposition does other work, or matrix products are reached without a function "
                   "the analytic engine knows (e.g. an aten operator called directly)")

    def count(self, context: EngineContext) -> EngineCounts:
        """The walk's counts with every matrix product replaced by the formula of the function that made it.

        FLOPs of a matrix product are ``2·MACs`` plus the bias adds the walk saw inside the aten matrix
        operators (a bias may instead reach an ``add``, depending on the decomposition), so FLOP totals
        agree whenever MACs do.
        """
        reference = context.reference
        counts = EngineCounts(self.name, copy.deepcopy(reference.ops), copy.deepcopy(reference.unsupported),
                              copy.copy(reference.free), copy.copy(reference.ignored))
        for module, own in counts.ops.items():
            for key in MATRIX_KEYS:
                measured = own.pop(key, None)
                formula = context.functions.get(module, {}).get(key)
                if formula is not None:
                    bias = measured.flops - 2 * measured.macs if measured is not None else 0
                    own[key].add(formula.calls, formula.macs, 2 * formula.macs + bias)
        for module, tallies in context.functions.items():
            for key, tally in tallies.items():
                if key not in counts.ops.get(module, {}):
                    counts.ops[module][key].add(tally.calls, tally.macs, 2 * tally.macs)
        for module, unread in context.unread_functions.items():
            for function, calls in unread.items():
                counts.unsupported[module][f"{function} (arguments no formula reads)"] += calls
        return counts


register_engine(AnalyticEngine())
