"""The analytic engine: conv and linear layers from their hyper-parameters alone.

Conv/linear MACs and FLOPs come from ``formulas.layers`` applied to each layer's
configuration and the input shape it was called with; every other operator (norms,
activations, pooling, the SE multiply, residual adds) has no hyper-parameter form, so it
keeps the operator formula applied to the shapes the dispatch walk recorded.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Literal

from ..formulas.layers import LayerHyper, conv_output_spatial, layer_hyper, layer_macs
from ..formulas.ops import MATRIX_KEYS, OpKey
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
    description = "conv/linear MACs from each layer's hyper-parameters and input shape"
    keyword_inputs = True
    blind_spot = ""
    lone_reason = ("the measured operators differ from the layer's hyper-parameters: its forward does more "
                   "or other work than a plain conv/linear (e.g. a subclass calling extra ops)")

    def count(self, context: EngineContext) -> EngineCounts:
        """The walk's counts with every conv/linear layer's own matrix ops replaced by the formulas."""
        reference = context.reference
        counts = EngineCounts(self.name, copy.deepcopy(reference.ops), copy.deepcopy(reference.unsupported),
                              copy.copy(reference.free))
        for name, module in context.model.named_modules():
            h = layer_hyper(module)
            calls = context.calls.get(name)
            if h is None or calls is None:
                continue
            cost = analytic_layer_macs(h, calls)
            in_elements = sum(math.prod(inputs[0]) for inputs in calls.inputs)
            own = counts.ops[name]
            for key in MATRIX_KEYS:
                own.pop(key, None)
            own[OpKey.LINEAR if h.is_linear else OpKey.CONV].add(calls.count, cost.macs, cost.flops, in_elements,
                                                                 cost.output_elements)
        return counts


register_engine(AnalyticEngine())
