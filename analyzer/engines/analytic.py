"""The analytic engine: conv and linear layers from their hyper-parameters alone.

Conv/linear MACs and FLOPs come from ``formulas.layers`` applied to each layer's
configuration and the input shape it was called with; every other operator (norms,
activations, pooling, the SE multiply, residual adds) has no hyper-parameter form, so it
keeps the operator formula applied to the shapes the dispatch walk recorded.
"""

from __future__ import annotations

import copy
import math

from torch import nn

from ..formulas.layers import LayerHyper, conv_output_spatial, layer_hyper, layer_macs
from ..formulas.ops import MATRIX_KEYS
from .counts import EngineCounts
from .tracker import ModuleCalls


def analytic_layer_macs(h: LayerHyper, calls: ModuleCalls) -> tuple[int, int, int, str]:
    """``(macs, flops, output elements, output_size_from)`` summed over every call of the layer.

    The output spatial size comes from the PyTorch shape formula; a conv that pads inside its
    own forward (TF "same") uses the measured output size instead.
    """
    macs = flops = outputs_total = 0
    source = "formula"
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
    return macs, flops, outputs_total, source


def count_analytic(model: nn.Module, dispatch: EngineCounts, calls: dict[str, ModuleCalls]) -> EngineCounts:
    """Dispatch counts with every conv/linear layer's own matrix ops replaced by the formulas."""
    counts = EngineCounts("analytic", copy.deepcopy(dispatch.ops), copy.deepcopy(dispatch.unsupported),
                          copy.copy(dispatch.free))
    for name, module in model.named_modules():
        h = layer_hyper(module)
        if h is None or name not in calls:
            continue
        macs, flops, out_elements, _ = analytic_layer_macs(h, calls[name])
        in_elements = sum(math.prod(inputs[0]) for inputs in calls[name].inputs)
        own = counts.ops[name]
        for key in MATRIX_KEYS:
            own.pop(key, None)
        own["linear" if h.is_linear else "conv"].add(calls[name].count, macs, flops, in_elements, out_elements)
    return counts
