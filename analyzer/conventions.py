"""Other tools' counting rules, recomputed from convcost's own per-operator counts.

Every tool reports a different "FLOPs" for the same network because each counts a
different set of operators in different units. A convention here is a list of terms,
one per convcost operator key, each with the tool's rule in words, so a total can be
recomputed exactly and reconciled op by op with :func:`explain`.

The rules were read off each tool's behaviour at the version named and are checked against
totals the tools print (``tests/test_conventions.py``): fvcore's and FlopCounterMode's
totals on every built-in model (both tools run in the tests), and the published thop,
ptflops and torchinfo totals for torchvision-layout EfficientNet-B0 at 224 px. The thop,
ptflops and torchinfo rules for operators B0 does not use (ReLU, max/avg pooling,
functional calls) follow those tools' documented behaviour but are not checked here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from .formulas.ops import MATRIX_KEYS, OpKey
from .formulas.trace_nodes import TracedOp, traced_keys
from .naming import StrEnum, parse_member

if TYPE_CHECKING:
    from .analysis import Analysis
    from .records import LayerRecord


class Convention(StrEnum):
    """A tool (or body of papers) whose counting rules convcost can apply to its own counts."""

    CONVCOST = "convcost"
    PAPER = "paper"
    TORCHVISION = "torchvision"
    FVCORE = "fvcore"
    FLOPCOUNTER = "flopcounter"
    THOP = "thop"
    PTFLOPS = "ptflops"
    TORCHINFO = "torchinfo"


CONVENTIONS: tuple[Convention, ...] = tuple(Convention)


@dataclass(frozen=True)
class Term:
    """What a tool counts for one convcost operator key."""

    op: OpKey
    value: int
    rule: str


@dataclass(frozen=True)
class ConventionTotal:
    """A tool's total recomputed from convcost's counts.

    Attributes:
        tool: convention name; ``source``: the tool and version the rules come from.
        unit: what the tool calls its total.
    """

    tool: Convention
    source: str
    unit: str
    terms: tuple[Term, ...]

    @property
    def total(self) -> int:
        """The tool's total."""
        return sum(term.value for term in self.terms)


@dataclass(frozen=True)
class ReconciliationRow:
    """One operator key: convcost's FLOPs next to the tool's count and the rule behind it."""

    op: OpKey
    convcost_flops: int
    tool_value: int
    rule: str

    @property
    def difference(self) -> int:
        """Tool minus convcost."""
        return self.tool_value - self.convcost_flops


@dataclass(frozen=True)
class OpSums:
    """One operator key's counts summed over a set of modules (the quantities tools state rules in)."""

    macs: int = 0
    flops: int = 0
    in_elements: int = 0
    out_elements: int = 0


def _ops(analysis: Analysis, key: OpKey, layers: Iterator[LayerRecord] | None = None) -> OpSums:
    """The counts of ``key`` summed over ``layers`` (default: every module)."""
    macs = flops = inputs = outputs = 0
    for layer in layers if layers is not None else analysis.layers:
        op = layer.ops.get(key)
        if op is not None:
            macs, flops = macs + op.macs, flops + op.flops
            inputs, outputs = inputs + op.in_elements, outputs + op.out_elements
    return OpSums(macs, flops, inputs, outputs)


#: Exact class names, for tools that look modules up by ``type(module)`` (subclasses do not match).
CONV_TYPES = frozenset({"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"})
BATCH_NORM_TYPES = frozenset({"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"})
ADAPTIVE_AVG_POOL_TYPES = frozenset({"AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"})
AVG_POOL_TYPES = frozenset({"AvgPool1d", "AvgPool2d", "AvgPool3d"})
POOL_TYPES = ADAPTIVE_AVG_POOL_TYPES | AVG_POOL_TYPES | frozenset(
    {"MaxPool1d", "MaxPool2d", "MaxPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"})
ACTIVATION_TYPES = frozenset({"ReLU", "ReLU6", "PReLU", "ELU", "LeakyReLU", "SiLU", "Hardswish", "GELU"})


def _of_types(analysis: Analysis, types: frozenset[str]) -> Iterator[LayerRecord]:
    return (layer for layer in analysis.layers if layer.type in types)


def _not_of_types(analysis: Analysis, types: frozenset[str]) -> Iterator[LayerRecord]:
    return (layer for layer in analysis.layers if layer.type not in types)


class BatchNormElements(NamedTuple):
    """Input elements of batch norms with affine weights, and without."""

    affine: int
    plain: int


def _batch_norm_elements(analysis: Analysis) -> BatchNormElements:
    with_weights = (layer for layer in _of_types(analysis, BATCH_NORM_TYPES) if layer.params)
    affine = _ops(analysis, OpKey.BATCH_NORM, with_weights).in_elements
    return BatchNormElements(affine, _ops(analysis, OpKey.BATCH_NORM).in_elements - affine)


def _bias(analysis: Analysis, key: OpKey) -> int:
    sums = _ops(analysis, key)
    return sums.flops - 2 * sums.macs


def _convcost(analysis: Analysis) -> list[Term]:
    return [Term(op, flops, "convcost's formula (analyzer.formulas.ops)")
            for op, flops in analysis.by_operator("flops").items()]


def _matrix_macs(analysis: Analysis, rule: str) -> list[Term]:
    return [Term(key, _ops(analysis, key).macs, rule) for key in MATRIX_KEYS]


def _paper(analysis: Analysis) -> list[Term]:
    return _matrix_macs(analysis, "multiply-adds of conv and linear layers (papers' 'FLOPs' / 'MAdds')")


def _flopcounter(analysis: Analysis) -> list[Term]:
    return [Term(key, 2 * _ops(analysis, key).macs, "2 per multiply-add; bias and every other op ignored")
            for key in MATRIX_KEYS]


def _traced(analysis: Analysis, key: str) -> OpSums:
    """The calls recorded under trace node key ``key`` (:attr:`LayerRecord.traced`), summed over every module."""
    macs = inputs = outputs = 0
    for layer in analysis.layers:
        stats = layer.traced.get(key)
        if stats is not None:
            macs, inputs, outputs = macs + stats.macs, inputs + stats.in_elements, outputs + stats.out_elements
    return OpSums(macs, 0, inputs, outputs)


def _norm_elements(analysis: Analysis, op: TracedOp, per_element: Callable[[bool, bool], int]) -> int:
    """``op``'s input elements, each weighted by ``per_element(affine, batch statistics)``."""
    return sum(per_element(affine, batch) * _traced(analysis, key).in_elements
               for key, affine, batch in traced_keys(op))


#: Matrix products a trace records as nodes fvcore 0.1.5 has no handle for (it counts aten::addmm, bmm, einsum,
#: linear, matmul and mm): their multiply-adds count 0.
FVCORE_UNCOUNTED_PRODUCTS = (TracedOp.SCALED_DOT_PRODUCT_ATTENTION, TracedOp.BADDBMM, TracedOp.ADDMV, TracedOp.MV,
                             TracedOp.DOT, TracedOp.VDOT)


def _fvcore_batch_norm(affine: bool, batch: bool) -> int:
    return (5 if affine else 4) if batch else (2 if affine else 1)


def _fvcore_norm(affine: bool, batch: bool) -> int:
    return 5 if affine else 4


def _fvcore(analysis: Analysis) -> list[Term]:
    # what was called, as the trace fvcore counts records it (LayerRecord.traced), not the modules' classes
    moded = _traced(analysis, TracedOp.CONVOLUTION_MODE).macs
    uncounted = {op: _traced(analysis, op).macs for op in FVCORE_UNCOUNTED_PRODUCTS}
    linear_rule = "1 per multiply-add (fvcore counts a MAC as one flop); bias ignored"
    skipped = [f"{op.value} ({macs:,} multiply-adds here)" for op, macs in uncounted.items() if macs]
    if skipped:
        linear_rule += (f"; {', '.join(skipped)} count 0: fvcore has no handle for them (and under torch.no_grad "
                        "nn.MultiheadAttention's inference fast path is one aten::_native_multi_head_attention node, "
                        "which fvcore does not count either, its projections included)")
    einsum = _traced(analysis, TracedOp.EINSUM)
    if einsum.macs:
        linear_rule += (f"; aten::einsum ({einsum.macs:,} multiply-adds here, contracted left to right) is counted "
                        "from numpy's einsum_path, whose FLOP count fvcore reads as printed, to 4 significant digits, "
                        "and halves, per call: fvcore's figure can differ from the exact one by that rounding")
    pooled = _traced(analysis, TracedOp.ADAPTIVE_AVG_POOL2D).in_elements
    resized = (_traced(analysis, TracedOp.UPSAMPLE_NEAREST2D).out_elements
               + 4 * _traced(analysis, TracedOp.UPSAMPLE_BILINEAR2D).out_elements
               + 4 * _traced(analysis, TracedOp.GRID_SAMPLER).out_elements)
    terms = [
        Term(OpKey.CONV, _ops(analysis, OpKey.CONV).macs - moded,
             "1 per multiply-add (fvcore counts a MAC as one flop); bias ignored; a conv called with padding 'same' "
             "or 'valid' counts 0 (a trace records it as aten::_convolution_mode, which fvcore has no handle for; "
             "a module with padding_mode other than 'zeros' pads first and runs an ordinary conv, counted)"),
        Term(OpKey.LINEAR, _ops(analysis, OpKey.LINEAR).macs - sum(uncounted.values()), linear_rule),
        Term(OpKey.BATCH_NORM,
             _norm_elements(analysis, TracedOp.BATCH_NORM, _fvcore_batch_norm)
             + _norm_elements(analysis, TracedOp.INSTANCE_NORM, _fvcore_norm),
             "aten::batch_norm with running statistics: 2 per input element with affine weights, 1 without; with "
             "batch statistics 5 (4 without); aten::instance_norm 5 (4): by the call's weight argument, whatever "
             "the module's class"),
        Term(OpKey.NORM,
             _norm_elements(analysis, TracedOp.LAYER_NORM, _fvcore_norm)
             + _norm_elements(analysis, TracedOp.GROUP_NORM, _fvcore_norm),
             "aten::layer_norm, aten::group_norm: 5 per input element with affine weights, 4 without"),
        Term(OpKey.MEAN, pooled,
             "aten::adaptive_avg_pool2d (nn.AdaptiveAvgPool2d or F.adaptive_avg_pool2d): 1 per input element; "
             "x.mean() and 1-d/3-d adaptive pools are unsupported (0)"),
    ]
    if resized:
        terms.append(Term(OpKey.ELEMENTWISE, resized,
                          "aten::upsample_nearest2d: 1 per output element; aten::upsample_bilinear2d and "
                          "aten::grid_sampler: 4 (convcost has no formula for them: listed as unsupported); other "
                          "elementwise operators are not counted"))
    return terms


def _thop(analysis: Analysis) -> list[Term]:
    pooled = _ops(analysis, OpKey.MEAN, _of_types(analysis, ADAPTIVE_AVG_POOL_TYPES))
    pool_in, pool_out = pooled.in_elements, pooled.out_elements
    avg_out = _ops(analysis, OpKey.POOL, _of_types(analysis, AVG_POOL_TYPES)).out_elements
    return [
        Term(OpKey.CONV, _ops(analysis, OpKey.CONV, _of_types(analysis, CONV_TYPES)).macs,
             "nn.ConvNd modules (exact type; subclasses are not counted): MACs, no bias"),
        Term(OpKey.LINEAR, _ops(analysis, OpKey.LINEAR, _of_types(analysis, frozenset({"Linear"}))).macs,
             "nn.Linear modules: MACs"),
        Term(OpKey.BATCH_NORM, 4 * _ops(analysis, OpKey.BATCH_NORM, _of_types(analysis, BATCH_NORM_TYPES)).in_elements,
             "BatchNorm modules: 4 per element"),
        Term(OpKey.MEAN, pool_in + pool_out, "AdaptiveAvgPool modules: (kernel adds + 1 divide) per output element"),
        Term(OpKey.POOL, 2 * avg_out, "AvgPool modules: 2 per output element; max pool and activations count 0"),
    ]


def _ptflops(analysis: Analysis) -> list[Term]:
    relu_modules = _ops(analysis, OpKey.RELU, _of_types(analysis, frozenset({"ReLU"}))).out_elements
    relu_functional = _ops(analysis, OpKey.RELU, _not_of_types(analysis, ACTIVATION_TYPES)).out_elements
    pool_modules = sum(_ops(analysis, key, _of_types(analysis, POOL_TYPES)).in_elements
                       for key in (OpKey.MEAN, OpKey.POOL))
    pool_functional = _ops(analysis, OpKey.POOL, _not_of_types(analysis, POOL_TYPES)).in_elements
    bn_affine, bn_plain = _batch_norm_elements(analysis)
    return [
        Term(OpKey.CONV, _ops(analysis, OpKey.CONV).macs + _bias(analysis, OpKey.CONV),
             "MACs + 1 per output element with bias"),
        Term(OpKey.LINEAR, _ops(analysis, OpKey.LINEAR).macs + _bias(analysis, OpKey.LINEAR),
             "MACs + 1 per output element with bias"),
        Term(OpKey.BATCH_NORM, 2 * bn_affine + bn_plain, "2 per element (1 without affine)"),
        Term(OpKey.RELU, 2 * relu_modules + relu_functional,
             "1 per element; an nn.ReLU counts twice (module hook and patched F.relu)"),
        *(Term(key, _ops(analysis, key, _of_types(analysis, ACTIVATION_TYPES)).out_elements,
               "activation modules: 1 per output element (functional calls and sigmoid are not counted)")
          for key in (OpKey.CLAMP, OpKey.SILU, OpKey.HARDSWISH, OpKey.ACTIVATION)),
        Term(OpKey.MEAN, 2 * pool_modules + pool_functional,
             "pools: 1 per input element, twice for pool modules (module hook and patched functional)"),
    ]


def _torchinfo(analysis: Analysis) -> list[Term]:
    conv = linear = norm = 0
    for layer in analysis.layers:
        if not layer.params or not layer.output_shapes:
            continue
        out = layer.output_shapes[0]
        if "Conv" in layer.type:
            conv += layer.calls * layer.params * out[0] * math.prod(out[2:])
        elif "Linear" in layer.type:
            linear += layer.calls * layer.params * out[0]
        else:
            norm += layer.calls * layer.params * out[0]
    return [
        Term(OpKey.CONV, conv, "every conv parameter (weight and bias) × batch × output spatial size"),
        Term(OpKey.LINEAR, linear, "every linear parameter × batch"),
        Term(OpKey.BATCH_NORM, norm, "every other layer's parameters × batch (BatchNorm: 2·C)"),
    ]


@dataclass(frozen=True)
class ConventionRules:
    """A tool's rules: where they come from, what the tool calls its total, and the terms it adds up."""

    source: str
    unit: str
    terms: Callable[[Analysis], list[Term]]


_RULES: dict[Convention, ConventionRules] = {
    Convention.CONVCOST: ConventionRules("convcost", "all-op FLOPs", _convcost),
    Convention.PAPER: ConventionRules("EfficientNet/MobileNetV2/SENet papers", "FLOPs (= multiply-adds)", _paper),
    Convention.TORCHVISION: ConventionRules("torchvision weights metadata (_ops)", "GMACs, conv + linear", _paper),
    Convention.FVCORE: ConventionRules("fvcore 0.1.5 FlopCountAnalysis(...).total()", "flops (= MACs)", _fvcore),
    Convention.FLOPCOUNTER: ConventionRules("torch.utils.flop_counter.FlopCounterMode", "FLOPs", _flopcounter),
    Convention.THOP: ConventionRules("thop 0.1.1 profile()", "MACs", _thop),
    Convention.PTFLOPS: ConventionRules("ptflops 0.7.5 get_model_complexity_info, pytorch backend", "MACs",
                                        _ptflops),
    Convention.TORCHINFO: ConventionRules("torchinfo 1.8.0 summary()", "Mult-Adds", _torchinfo),
}


def convention_total(analysis: Analysis, tool: Convention | str) -> ConventionTotal:
    """``tool``'s total for the analysed model and input, from convcost's counts.

    Raises:
        ValueError: unknown convention (the message lists the valid ones).
    """
    convention = parse_member(Convention, tool, "convention")
    rules = _RULES[convention]
    return ConventionTotal(convention, rules.source, rules.unit, tuple(rules.terms(analysis)))


def flopcounter_training_total(analysis: Analysis) -> ConventionTotal:
    """FlopCounterMode's total for the analysed training step's forward and backward, from convcost's counts.

    FlopCounterMode (torch 2.13) counts 2 FLOPs per multiply-add of convolutions and matrix products, forward
    and backward, and nothing else; its ``convolution_backward`` formula ignores ``groups`` for the weight's
    gradient, so a grouped layer's grad-weight counts ``groups`` times its multiply-adds (a depthwise layer's,
    C times). The true figures are convcost's (:attr:`Analysis.training`).

    Raises:
        ValueError: the analysis counted no training step.
    """
    from .formulas.layers import ConvKind  # torch: not loaded for the conventions' names

    if analysis.training is None:
        raise ValueError("FlopCounterMode's training total needs a training step: analyze(..., training=True)")
    convs = [layer for layer in analysis.layers if layer.check is not None and layer.check.kind != ConvKind.LINEAR]
    conv_names = {layer.name for layer in convs}
    backward = analysis.training.layers
    grad_input = sum(backward[layer.name].grad_input_macs for layer in convs)
    grad_weight = sum(backward[layer.name].grad_weight_macs * layer.check.groups for layer in convs
                      if layer.check is not None)
    products = sum(cost.macs for name, cost in backward.items() if name not in conv_names)
    terms = [
        *_flopcounter(analysis),
        Term(OpKey.CONV, 2 * grad_input, "backward, grad-input: 2 per multiply-add"),
        Term(OpKey.CONV, 2 * grad_weight,
             "backward, grad-weight: 2 per multiply-add times the layer's groups (convolution_backward's formula "
             "ignores groups: a depthwise layer's weight gradient counts C times its true cost)"),
        Term(OpKey.LINEAR, 2 * products, "backward matrix products: 2 per multiply-add"),
    ]
    rules = _RULES[Convention.FLOPCOUNTER]
    return ConventionTotal(Convention.FLOPCOUNTER, rules.source, "FLOPs, forward and backward", tuple(terms))


@dataclass(frozen=True)
class BackwardGap:
    """A layer whose backward FLOPs a tool counts differently from convcost, with the reason.

    Attributes:
        layer: module name; groups: the convolution's groups.
        convcost_flops: the layer's backward product FLOPs, ``2·(grad-input + grad-weight MACs)``.
        tool_flops: the tool's figure for the same products.
    """

    layer: str
    groups: int
    convcost_flops: int
    tool_flops: int
    reason: str


def flopcounter_backward_gaps(analysis: Analysis) -> tuple[BackwardGap, ...]:
    """Every layer where FlopCounterMode's backward differs from the truth (grouped convolutions whose weight
    trains), largest gap first; empty without a training step."""
    from .formulas.layers import ConvKind  # torch: not loaded for the conventions' names

    if analysis.training is None:
        return ()
    gaps = []
    for layer in analysis.layers:
        check = layer.check
        cost = analysis.training.layers.get(layer.name)
        if (check is None or cost is None or check.kind == ConvKind.LINEAR or check.groups == 1
                or not cost.grad_weight_macs):
            continue
        true_flops = 2 * (cost.grad_input_macs + cost.grad_weight_macs)
        tool_flops = 2 * (cost.grad_input_macs + check.groups * cost.grad_weight_macs)
        gaps.append(BackwardGap(layer.name, check.groups, true_flops, tool_flops,
                                f"FlopCounterMode's convolution_backward ignores groups={check.groups} for the "
                                f"weight's gradient, counting it {check.groups} times"))
    return tuple(sorted(gaps, key=lambda gap: gap.convcost_flops - gap.tool_flops))


def explain(analysis: Analysis, tool: Convention | str) -> tuple[ReconciliationRow, ...]:
    """Op-by-op reconciliation of convcost's all-op FLOPs with ``tool``'s total."""
    convention = convention_total(analysis, tool)
    flops = analysis.by_operator("flops")
    tool_terms: dict[OpKey, Term] = {}
    for term in convention.terms:
        previous = tool_terms.get(term.op)
        tool_terms[term.op] = term if previous is None else Term(term.op, previous.value + term.value,
                                                                 f"{previous.rule}; {term.rule}")
    rows = [
        ReconciliationRow(op, flops.get(op, 0), tool_terms[op].value if op in tool_terms else 0,
                          tool_terms[op].rule if op in tool_terms else f"not counted by {convention.tool}")
        for op in dict.fromkeys([*flops, *tool_terms])
    ]
    return tuple(row for row in rows if row.convcost_flops or row.tool_value)
