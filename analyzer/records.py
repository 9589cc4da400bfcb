"""Plain records an analysis produces: integers, strings and shapes, no tensors.

Conventions (also in the README):
- ``params``: every parameter owned directly by the module, trainable or frozen (as
  torchvision's ``num_params`` and the papers count); ``trainable_params`` those with
  ``requires_grad``, ``frozen_params`` the others; ``buffers``: other tensors it owns
  (BatchNorm running statistics), as element counts.
- ``macs``: multiply-accumulates of every convolution and every matrix product (linear
  layers, ``matmul``/``bmm``/``einsum``, attention; what papers call FLOPs or MAdds).
  ``flops``: ``2·macs``, plus bias adds, plus every other operator at the per-element cost
  its formula states (``convcost.analyzer.formulas.ops``).
- Every per-layer count is the module's *own*: operators run by its forward outside any
  child module, and parameters it owns directly, so rows sum to the totals. Inclusive
  figures come from :meth:`Analysis.total` and :meth:`Analysis.by_module`.
- ``output_bytes``: bytes of new tensors the module's own operators allocated (views
  and in-place results are free). ``saved_bytes``: activation bytes autograd keeps for
  backward from the module's own operators, each storage once, parameters excluded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from .engines.base import EngineName
from .formulas.backward import BackwardCost
from .formulas.layers import ConvKind
from .formulas.ops import OpKey
from .layout import CostCategory
from .naming import StrEnum, ancestors
from .optimizers import Optimizer, optimizer_rule

Shape = tuple[int, ...]


class Execution(StrEnum):
    """What the walk ran on."""

    #: ``meta`` stand-ins: shapes only, no real arithmetic or memory (the default).
    META = "meta"
    #: real tensors on a copy of the model: for forwards whose shapes depend on values.
    REAL = "real"


@dataclass(frozen=True)
class LayerCheck:
    """A conv or linear layer's hyper-parameters and its analytic cost next to the measured one.

    Attributes:
        kind: standard, depthwise, pointwise, grouped, transposed or linear.
        analytic_params, analytic_macs: from hyper-parameters and input shape only.
        module_params: elements of the weight and bias the layer uses (shared and reparametrised ones
            included, unlike :attr:`LayerRecord.params`, which counts each parameter once, where it is owned).
        measured_macs: conv/linear MACs the selected engine attributed to this layer.
        agrees: analytic params equal ``module_params`` and analytic MACs equal the measured ones.
        output_size_from: ``formula`` or ``measured`` (the layer pads inside its own forward).
    """

    kind: ConvKind
    in_channels: int
    out_channels: int
    kernel: Shape
    stride: Shape
    padding: str
    dilation: Shape
    groups: int
    bias: bool
    analytic_params: int
    module_params: int
    analytic_macs: int
    measured_macs: int
    agrees: bool
    output_size_from: Literal["formula", "measured"] = "formula"


@dataclass(frozen=True)
class OpStats:
    """One operator key's own cost inside one module.

    Attributes:
        in_elements, out_elements: elements of the first tensor argument and the first output,
            summed over calls (other tools state their rules in these).
    """

    calls: int
    macs: int
    flops: int
    in_elements: int
    out_elements: int


@dataclass(frozen=True)
class LayerRecord:
    """One module's costs (see the module docstring for the conventions).

    Attributes:
        name: dotted module name; ``""`` is the root.
        depth: nesting depth (root 0).
        type: class name.
        calls: times its forward ran.
        input_shapes, output_shapes: tensor shapes of the first call.
        ops: own operator costs by operator key (``conv``, ``batch_norm``, ``silu`` …).
        check: hyper-parameters and analytic check for conv/linear layers.
        part: the declared stem, stage, head or classifier holding the module (None: in none, or the
            model declares no parts; see :mod:`convcost.analyzer.layout`).
        category: what its cost is spent on (conv/linear kind, SE, head/classifier or other).
        traced: own calls a trace records as nodes the aten operators in ``ops`` do not tell apart, by node
            (``aten::_convolution_mode``: a convolution with string padding; ``aten::adaptive_avg_pool2d``; norms
            with and without affine weights; attention …; see :mod:`convcost.analyzer.formulas.traced`): what
            other tools' rules are stated in. Not a cost of its own: the calls' operators are counted in ``ops``
            (or listed as unsupported).
    """

    name: str
    depth: int
    type: str
    calls: int
    is_leaf: bool
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...]
    params: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    ops: dict[OpKey, OpStats]
    output_bytes: int
    saved_bytes: int
    check: LayerCheck | None = None
    part: str | None = None
    category: CostCategory = CostCategory.OTHER
    traced: dict[str, OpStats] = field(default_factory=dict)

    @property
    def frozen_params(self) -> int:
        """Parameters without ``requires_grad``."""
        return self.params - self.trainable_params

    @property
    def flops_by_op(self) -> dict[OpKey, int]:
        """Own FLOPs per operator key (keys with zero FLOPs left out)."""
        return {key: op.flops for key, op in self.ops.items() if op.flops}

    @property
    def macs_by_op(self) -> dict[OpKey, int]:
        """Own MACs per operator key (convolutions, and matrix products under ``linear``)."""
        return {key: op.macs for key, op in self.ops.items() if op.macs}

    @property
    def kind(self) -> ConvKind | None:
        """Conv/linear kind, or None for other modules."""
        return self.check.kind if self.check else None


@dataclass(frozen=True)
class Disagreement:
    """A module whose MACs two engines count differently, or a conv/linear layer whose tensors or backward differ
    from its formula.

    Attributes:
        quantity: ``params`` (formula against the module's tensors), ``macs`` (formula against engines), or a
            training step's ``grad_input_macs`` or ``grad_weight_macs`` (the backward against the formula).
        values: source (``analytic``, ``module`` or an engine name) → its value.
    """

    layer: str
    quantity: Literal["params", "macs", "grad_input_macs", "grad_weight_macs"]
    values: dict[str, int]
    reason: str


@dataclass(frozen=True)
class Totals:
    """Whole-model figures.

    Attributes:
        params: every parameter (elements); trainable_params: those with ``requires_grad``.
        buffers: element count.
        macs: multiply-accumulates of every convolution and matrix product (attention included).
        flops: all-operator FLOPs (excluding unsupported operators).
        activation_bytes: bytes of every tensor the forward allocated, with no reuse.
        training_bytes: activation bytes autograd saves for backward (parameters excluded).
        peak_bytes: peak live activation bytes of an inference forward (input included,
            parameters and buffers excluded).
        peak_module: module running when the peak was reached.
        workspace_peak_bytes: the inference peak on a CPU: ``peak_bytes``, or more where a convolution's scratch
            space while it runs (oneDNN keeps a copy of the larger of its input and output in its blocked layout,
            and of its weight) lifts it; workspace_module: where that peak is reached.
    """

    params: int
    buffers: int
    macs: int
    flops: int
    activation_bytes: int
    training_bytes: int
    peak_bytes: int
    peak_module: str = ""
    trainable_params: int = 0
    workspace_peak_bytes: int = 0
    workspace_module: str = ""

    @property
    def frozen_params(self) -> int:
        """Parameters without ``requires_grad``."""
        return self.params - self.trainable_params


@dataclass(frozen=True)
class EngineTotals:
    """Totals one engine reached, for the cross-check summary."""

    engine: EngineName
    macs: int
    flops: int
    unsupported_ops: dict[str, int] = field(default_factory=dict)


class Phase(StrEnum):
    """A moment of a training step."""

    FORWARD = "forward"
    BACKWARD = "backward"
    STEP = "optimizer step"


@dataclass(frozen=True)
class LayerBytes:
    """What one module's own parameters cost a training step, in bytes of the analysis dtype.

    Attributes:
        parameter_bytes: its parameters and buffers (held throughout).
        gradient_bytes: the gradients of its parameters that receive one (held from the backward to the step).
        state_bytes: the optimizer's state for them (held between steps).
        updated_params: the elements of its parameters that receive a gradient (the optimizer updates them).
    """

    parameter_bytes: int
    gradient_bytes: int
    state_bytes: int
    updated_params: int = 0


@dataclass(frozen=True)
class HeldBytes:
    """What one module's train-mode forward left alive for the backward.

    Attributes:
        bytes: storages its own operators allocated that are still alive when the backward starts (saved for
            backward, or outputs), each storage once.
        freed_by: the module whose backward freed the last of them (``""``: the root's own operators); None when
            they live through the step (the input, the outputs).
    """

    bytes: int
    freed_by: str | None


@dataclass(frozen=True)
class MemoryTimeline:
    """Live bytes over a training step's passes, after every allocation (an allocation is where a peak can be).

    Attributes:
        levels: live activation and gradient bytes after each allocation, in order.
        modules, phases: the module that made each allocation, and in which pass.
    """

    levels: tuple[int, ...] = ()
    modules: tuple[str, ...] = ()
    phases: tuple[Phase, ...] = ()

    def moment(self, index: int) -> str:
        """Allocation ``index`` in words: ``backward of head.act``."""
        return f"{self.phases[index].value} of {self.modules[index] or 'the model'}"


@dataclass(frozen=True)
class TrainingCounts:
    """What one training step cost: a train-mode forward, the backward pass and the optimizer's step.

    Memory is a step after the first (the optimizer's state exists throughout), gradients set to None
    before the forward (``zero_grad``'s default), as bytes of the analysis dtype.

    Attributes:
        layers: module name → its own backward cost (operators of nodes its forward created, children's
            excepted; ``""`` is the root), for every module of the model.
        forward_flops: module name → FLOPs of its own operators in the train-mode forward (batch statistics,
            dropout masks).
        unsupported: backward operators with no formula → calls (not in the FLOPs).
        optimizer: the optimizer whose step is counted (:mod:`convcost.analyzer.optimizers`).
        trainable_params: parameter elements the step updates: trainable ones that received a gradient
            (``torch.optim`` skips a parameter whose ``.grad`` is None).
        parameter_bytes: every parameter and buffer.
        gradient_bytes: the gradients of the trainable parameters.
        state_bytes: what the optimizer keeps between steps.
        live_peak_bytes: the peak of live activations and gradients (input included, saved tensors held
            until their backward frees them) over the forward and backward.
        live_peak_phase, live_peak_module: when that peak was reached.
        disagreements: conv/linear layers whose backward products do not fit the closed form (none expected;
            :func:`convcost.analyzer.crosscheck.backward_check`).
        held: module name → what its forward left alive for the backward, and who freed it.
        layer_bytes: module name → its own parameters', gradients' and optimizer state's bytes (modules that own
            none are absent).
        saved: module name → bytes autograd saved for backward from its own operators in the train-mode forward,
            each storage once, parameters and buffers excluded (batch statistics and dropout masks included).
        timeline: the live bytes after every allocation of the forward and backward.
    """

    layers: Mapping[str, BackwardCost]
    forward_flops: Mapping[str, int]
    unsupported: Mapping[str, int]
    optimizer: Optimizer
    trainable_params: int
    parameter_bytes: int
    gradient_bytes: int
    state_bytes: int
    live_peak_bytes: int
    live_peak_phase: Phase
    live_peak_module: str
    disagreements: tuple[Disagreement, ...] = ()
    held: Mapping[str, HeldBytes] = field(default_factory=dict)
    saved: Mapping[str, int] = field(default_factory=dict)
    layer_bytes: Mapping[str, LayerBytes] = field(default_factory=dict)
    timeline: MemoryTimeline = field(default=MemoryTimeline(), repr=False, compare=False)

    @property
    def total(self) -> BackwardCost:
        """The whole backward pass."""
        return self.subtree("")

    def subtree(self, prefix: str) -> BackwardCost:
        """Backward cost of module ``prefix`` and every module below it (the root ``""`` is the whole pass)."""
        return self._inclusive.get(prefix, BackwardCost())

    @property
    def saved_bytes(self) -> int:
        """Bytes the train-mode forward saved for backward, every module together (each storage once)."""
        return sum(self.saved.values())

    @property
    def optimizer_flops(self) -> int:
        """FLOPs of the optimizer's step: its per-element rule times the trainable elements."""
        return self.step_flops(self.trainable_params)

    def step_flops(self, trainable_params: int) -> int:
        """FLOPs of the optimizer's step over ``trainable_params`` elements (a layer's, say)."""
        return optimizer_rule(self.optimizer).flops * trainable_params

    @property
    def training_flops(self) -> int:
        """The whole step: train-mode forward, backward and optimizer FLOPs."""
        return sum(self.forward_flops.values()) + self.total.flops + self.optimizer_flops

    @property
    def peak_bytes(self) -> int:
        """Peak training memory: parameters, buffers and optimizer state throughout, plus the live peak of the
        passes or, when larger, the gradients at the optimizer's step."""
        return self.parameter_bytes + self.state_bytes + max(self.live_peak_bytes, self.gradient_bytes)

    @property
    def peak_moment(self) -> str:
        """When :attr:`peak_bytes` is reached, in words (phase and module)."""
        if self.gradient_bytes > self.live_peak_bytes:
            return Phase.STEP.value
        return f"{self.live_peak_phase.value} of {self.live_peak_module or 'the model'}"

    @cached_property
    def _inclusive(self) -> dict[str, BackwardCost]:
        sums: dict[str, BackwardCost] = {}
        for name, cost in self.layers.items():
            for ancestor in ancestors(name):
                sums[ancestor] = sums.get(ancestor, BackwardCost()) + cost
        return sums
