"""The result of :func:`convcost.analyzer.analyze`, and queries over it in the spirit of fvcore."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal, get_args

from .engines.base import EngineName, EngineSelection, registered_engines
from .formulas.ops import OpKey
from .naming import ancestors
from .records import Disagreement, EngineTotals, Execution, LayerRecord, Shape, Totals, TrainingCounts

if TYPE_CHECKING:
    import pandas as pd

Metric = Literal["params", "trainable_params", "frozen_params", "buffers", "macs", "flops", "output_bytes",
                 "saved_bytes"]
METRICS: tuple[str, ...] = get_args(Metric)


@dataclass(frozen=True)
class Verdict:
    """How far the numbers of one analysis are checked, and what differs.

    Attributes:
        primary_engine: the engine whose counts fill the records.
        engines_run: every engine that counted, primary first.
        engines_not_run: registered engines that did not run (``engine="all"`` runs them), by label
            (``the analytic engine``, ``fvcore``), alphabetically.
        checked: conv/linear layers that ran, each compared with its closed-form formula.
        differing: those whose formula params or MACs differ from the module and the primary engine.
        disagreements: modules where engines differ, with the reason.
        engine_totals: totals per engine that ran.
        compared_macs, total_macs: MACs counted a second way, and all MACs.
    """

    primary_engine: EngineName
    engines_run: tuple[EngineName, ...]
    engines_not_run: tuple[str, ...]
    checked: int
    differing: tuple[LayerRecord, ...]
    disagreements: tuple[Disagreement, ...]
    engine_totals: tuple[EngineTotals, ...]
    compared_macs: int = 0
    ignored_ops: dict[str, int] = field(default_factory=dict)
    total_macs: int = 0

    @property
    def compared_share(self) -> float:
        """Fraction of the MACs counted a second way (1.0 for a model with no MACs)."""
        return self.compared_macs / self.total_macs if self.total_macs else 1.0

    @property
    def agreeing(self) -> int:
        """Checked layers whose formula matches."""
        return self.checked - len(self.differing)

    @property
    def ok(self) -> bool:
        """Every checked layer matches its formula and no two engines disagree."""
        return not self.differing and not self.disagreements


@dataclass(frozen=True)
class Analysis:
    """Per-layer records and totals of one model on one input.

    Attributes:
        model: model name (registry name or class name).
        input_shapes: shapes of the example inputs.
        dtype: dtype the costs are measured in (bytes depend on it).
        engine: the engine asked for, or ``all``.
        primary_engine: the engine whose counts fill ``layers`` (``all``: the dispatch engine).
        layers: one record per module in ``named_modules`` order, root first.
        totals: whole-model figures.
        unsupported: operators with no formula → calls (not counted in ``flops``).
        free_ops: operators that cost nothing by a stated rule → calls.
        disagreements: modules whose MACs the engines count differently (any module with multiply-accumulates,
            not only conv/linear layers), and conv/linear layers whose tensors differ from their formula.
        engines: totals reached by each engine that ran.
        stages: module names of the stages the model declares (empty when it declares none).
        execution: what the walk ran on: ``meta`` stand-ins, or real tensors on a copy of the model.
        execution_reason: why the walk ran on real tensors (the ``meta`` failure), empty otherwise.
        ignored_ops: operators this analysis was told to count as nothing → calls.
        compared_macs: MACs counted a second way: in a conv/linear layer checked against its formula, or in a
            module where another engine counted multiply-accumulates too.
        training: one training step (train-mode forward, backward, optimizer step, peak memory) when
            ``analyze(..., training=True)`` counted it, else None (:mod:`convcost.analyzer.training`).
        complete: the forward ran to the end; a partial analysis (attached to an
            :class:`~convcost.analyzer.errors.AnalysisError`) counts every parameter but only the
            modules that ran before the failure.
    """

    model: str
    input_shapes: tuple[Shape, ...]
    dtype: str
    engine: EngineSelection
    primary_engine: EngineName
    layers: tuple[LayerRecord, ...]
    totals: Totals
    unsupported: dict[str, int]
    free_ops: dict[str, int]
    disagreements: tuple[Disagreement, ...] = ()
    engines: tuple[EngineTotals, ...] = ()
    stages: tuple[str, ...] = ()
    execution: Execution = Execution.META
    execution_reason: str = ""
    complete: bool = True
    compared_macs: int = 0
    ignored_ops: dict[str, int] = field(default_factory=dict)
    training: TrainingCounts | None = None

    @cached_property
    def _by_name(self) -> dict[str, LayerRecord]:
        return {layer.name: layer for layer in self.layers}

    @cached_property
    def _inclusive(self) -> dict[str, Counter[str]]:
        sums: dict[str, Counter[str]] = {layer.name: Counter() for layer in self.layers}
        for layer in self.layers:
            own = {metric: getattr(layer, metric) for metric in METRICS}
            for name in ancestors(layer.name):
                if name in sums:
                    sums[name].update(own)
        return sums

    def __repr__(self) -> str:
        """A few lines: the model and input, the totals, memory and the cross-check (not every record)."""
        t, verdict = self.totals, self.verdict
        shapes = ", ".join("x".join(map(str, shape)) for shape in self.input_shapes)
        lines = [
            f"<{type(self).__name__} {self.model}: input {shapes} ({self.dtype}), engine {self.engine}, "
            f"{self.execution} tensors{'' if self.complete else ', PARTIAL: the forward failed'}",
            f"  params {t.params:,} ({t.trainable_params:,} trainable), MACs {t.macs:,}, FLOPs {t.flops:,}",
            f"  bytes ({self.dtype}): activations {t.activation_bytes:,}, saved for backward {t.training_bytes:,}, "
            f"inference peak {t.peak_bytes:,}",
            *([] if self.training is None else [self._backward_line(self.training)]),
            f"  cross-check: {verdict.agreeing} of {verdict.checked} conv/linear layers agree with their formula, "
            f"{len(self.disagreements)} disagreements, {verdict.compared_share:.1%} of MACs counted twice"
            + (f"; unsupported ops: {', '.join(self.unsupported)}" if self.unsupported else "") + ">",
        ]
        return "\n".join(lines)

    @staticmethod
    def _backward_line(training: TrainingCounts) -> str:
        total = training.total
        unsupported = f"; unsupported: {', '.join(training.unsupported)}" if training.unsupported else ""
        return (f"  training step ({training.optimizer}): backward MACs {total.macs:,} (grad-input "
                f"{total.grad_input_macs:,}, grad-weight {total.grad_weight_macs:,}), step FLOPs "
                f"{training.training_flops:,}, peak {training.peak_bytes:,} bytes at the {training.peak_moment}; "
                f"{len(training.disagreements)} backward disagreements{unsupported}")

    def layer(self, name: str) -> LayerRecord:
        """The record of module ``name``.

        Raises:
            KeyError: no such module (the message lists a few that exist).
        """
        try:
            return self._by_name[name]
        except KeyError:
            sample = ", ".join(repr(n) for n in list(self._by_name)[:5])
            raise KeyError(f"no module named {name!r}; modules include {sample}, ...") from None

    def total(self, module: str = "", metric: Metric = "flops") -> int:
        """``metric`` of ``module`` and everything inside it (``""`` is the whole model)."""
        self.layer(module)
        _check_metric(metric)
        return self._inclusive[module][metric]

    def by_module(self, metric: Metric = "flops") -> dict[str, int]:
        """Inclusive ``metric`` per module name."""
        _check_metric(metric)
        return {name: sums[metric] for name, sums in self._inclusive.items()}

    def by_operator(self, metric: Literal["flops", "macs"] = "flops") -> dict[OpKey, int]:
        """Whole-model ``flops`` (or ``macs``) per operator key, largest first."""
        if metric not in ("flops", "macs"):
            raise ValueError(f"by_operator metric must be 'flops' or 'macs'; got {metric!r}")
        totals: Counter[OpKey] = Counter()
        for layer in self.layers:
            totals.update(layer.flops_by_op if metric == "flops" else layer.macs_by_op)
        return {key: value for key, value in totals.most_common() if value}

    @cached_property
    def verdict(self) -> Verdict:
        """The cross-check of this analysis: formulas against measurements, engines against each other."""
        checked = [layer for layer in self.layers if layer.check is not None and layer.calls]
        run = tuple(totals.engine for totals in self.engines)
        primary = (self.primary_engine, *(name for name in run if name != self.primary_engine))
        return Verdict(
            primary_engine=self.primary_engine,
            engines_run=primary,
            engines_not_run=tuple(sorted(e.label for e in registered_engines() if e.name not in primary)),
            checked=len(checked),
            differing=tuple(layer for layer in checked if layer.check is not None and not layer.check.agrees),
            disagreements=self.disagreements,
            engine_totals=self.engines,
            compared_macs=self.compared_macs,
            total_macs=self.totals.macs,
        )

    def unsupported_ops(self) -> dict[str, int]:
        """Operators with no formula → calls. Their cost is not in any total."""
        return dict(self.unsupported)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per module with every scalar field; conv/linear checks flattened into columns."""
        import pandas as pd

        rows = []
        for layer in self.layers:
            row = {key: value for key, value in asdict(layer).items()
                   if key not in ("check", "ops", "traced")}
            row["kind"] = layer.kind or ""
            row["category"] = layer.category.value
            if layer.check is not None:
                row.update({f"check_{k}": v for k, v in asdict(layer.check).items() if k != "kind"})
            rows.append(row)
        return pd.DataFrame(rows)


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
