"""Study ``plan``: training memory against batch size, and the largest batch that fits a budget.

A plan is built on the training step counted exactly (:func:`convcost.analyzer.analyze` with
``training=True``): a train-mode forward (batch statistics, dropout masks) and its backward on
``meta`` tensors, gradients held to the step, the optimizer's state, and the parameters and
buffers. Its peak at every batch comes from :mod:`convcost.analyzer.peak_curve`: three analyses
(batches 1, 2 and 3) give every allocation's live level as a line in the batch, exact at any
batch, and the largest batch within a budget is solved in closed form (a model whose sizes are
not affine in the batch is analysed at each batch asked about instead). What the device adds
on top (the CUDA context, allocator rounding and caching, convolution workspaces) is the
caller's ``allowance``, stated separately and added to every figure.

Beside it, each row carries the quick estimate the plan used before (``exact=False`` plans with
it alone): an eval-mode forward's saved activations plus a fixed part::

    fixed     = weights + gradients + optimizer state + buffers
              = params · e + trainable params · e · (1 + states) + buffers · e
    estimate(N) = fixed + saved(N) + allowance

with ``e`` bytes per element of the dtype and ``states`` tensors of optimizer state per
parameter: 1 for SGD with momentum, 2 for Adam and AdamW. Saved bytes are measured at batch 1
and 2; when batch 2 saves exactly twice batch 1 they are ``linear`` in the batch, when three
points lie on a line ``affine``, otherwise ``measured`` at each batch (searched by doubling then
bisection, up to :data:`MAX_SEARCH_BATCH`; :attr:`TrainingPlan.limit` says when the search stopped
there). The estimate holds every saved activation and every gradient at once (the backward frees
the one while it makes the other) and leaves out what :data:`CAVEATS` lists, so it can land on
either side of the exact peak.

The EfficientNetV2 paper (Tan & Le 2021, section 3.2) notes that EfficientNet-B6 trained
at 512 px with batch 24 runs out of memory on a 16 GB V100; ``training_plan(
"efficientnet_b6", 512, budget="16GiB")`` shows why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter
from torch import nn

from convcost.analyzer import EngineName, analyze
from convcost.analyzer.errors import AnalysisError
from convcost.analyzer.naming import StrEnum
from convcost.analyzer.optimizers import Optimizer
from convcost.analyzer.peak_curve import (
    CurveKind,
    PeakPoint,
    TrainingPeakCurve,
    largest_fitting,
    training_peak_curve,
)
from convcost.architectures import create_model, model_info
from convcost.reports.chart_style import PALETTE, chart_style, legend_outside, new_figure, set_caption
from convcost.reports.charts import ChartJob, axis_units
from convcost.reports.prose import bytes_text
from convcost.reports.sections import Section, Table
from convcost.reports.units import Unit, human_bytes, human_ratio

from .arguments import MAX_SIZE
from .base import Invocation, Study, register_study
from .common import dtype_bytes, records_frame
from .sizes import UNITS, parse_bytes
from .training import DEFAULT_BATCHES, OPTIMIZER_STATES

__all__ = [
    "CAVEATS",
    "DEFAULT_BATCHES",
    "MAX_SEARCH_BATCH",
    "OPTIMIZER_STATES",
    "PUBLISHED_OOM",
    "UNITS",
    "BatchLimit",
    "OutOfMemoryReport",
    "PlanModel",
    "PlanRow",
    "TrainingPlan",
    "largest_batch",
    "parse_bytes",
    "plan_section",
    "training_plan",
    "training_plans",
]

#: What the exact plan does not count (the allowance is where the caller states it).
EXACT_CAVEATS: tuple[str, ...] = (
    "the output gradient is a tensor of ones: a loss function's own memory is not counted",
    "convolution workspaces (cuDNN, oneDNN), allocator rounding, caching and fragmentation, and the CUDA context "
    "(several hundred MiB) are not counted: state them with the allowance",
    "one dtype for everything: mixed precision keeps float32 master weights and optimizer state",
)
#: What the eval-mode estimate does not count.
CAVEATS: tuple[str, ...] = (
    "analyze runs the forward in eval mode: training-mode BatchNorm also saves its per-channel batch mean "
    "and inverse std (2·C values per layer, independent of the batch), which are not counted",
    "dropout and stochastic-depth masks (one element per sample and feature, or per sample) exist only in "
    "training mode and are not counted",
    "gradients of activations live during backward, autograd temporaries, cuDNN workspaces, allocator "
    "fragmentation and caching, and the CUDA context (several hundred MiB) are not counted",
    "one dtype for everything: mixed precision keeps float32 master weights and optimizer state",
)


@dataclass(frozen=True)
class OutOfMemoryReport:
    """A published report that a batch ran out of memory.

    Attributes:
        batch: images per step; device: what ran out of memory; source: where it was published.
    """

    batch: int
    device: str
    source: str


#: Published out-of-memory reports by (model, resolution).
PUBLISHED_OOM: dict[tuple[str, int], OutOfMemoryReport] = {
    ("efficientnet_b6", 512): OutOfMemoryReport(24, "a 16 GB V100",
                                                "EfficientNetV2 paper (Tan & Le 2021, section 3.2)"),
}
BatchModel = Literal["linear", "affine", "measured"]
#: Largest batch the search analyses when saved bytes are not linear in the batch (each step is an analysis).
MAX_SEARCH_BATCH = 1 << 24


class BatchLimit(StrEnum):
    """What bounds :attr:`TrainingPlan.max_batch`."""

    #: the budget: the batch after it does not fit (exact)
    BUDGET = "budget"
    #: the search stopped at :data:`MAX_SEARCH_BATCH`, which fits: at least that many fit
    SEARCH = "search"
    #: a larger batch would make an input of more than 2^63 - 1 bytes, which PyTorch cannot address
    TENSOR = "tensor"


@dataclass(frozen=True)
class PlanModel:
    """What a plan measures: any model and its inputs at a given batch.

    Attributes:
        name: how the plan names it.
        module: the model (never modified; a ``meta`` model costs no memory).
        inputs: the batch → what :func:`~convcost.analyzer.analyze` takes (the batch is the first size of every
            input).
        sample_elements: elements of one sample's inputs, all inputs together.
        resolution: the input side in pixels, if the input is one square image.
    """

    name: str
    module: nn.Module
    inputs: Callable[[int], Any]
    sample_elements: int
    resolution: int | None = None

    @classmethod
    def of_registry(cls, name: str, resolution: int | None = None) -> PlanModel:
        """Registry model ``name`` on ``meta``, on 3-channel images of side ``resolution`` (default native)."""
        info = model_info(name)
        side = resolution or info.resolution
        overrides = {"image_size": side} if "image_size" in info.overrides else {}
        return cls(name, create_model(name, device="meta", **overrides), lambda batch: (batch, 3, side, side),
                   3 * side * side, side)

    @classmethod
    def of_shapes(cls, name: str, module: nn.Module, shapes: Sequence[Sequence[int]]) -> PlanModel:
        """``module`` on inputs of ``shapes`` (their first size is replaced by the batch)."""
        samples = [tuple(shape[1:]) for shape in shapes]

        def inputs(batch: int) -> Any:
            batched = [(batch, *sample) for sample in samples]
            return batched[0] if len(batched) == 1 else batched

        square = len(samples) == 1 and len(samples[0]) == 3 and samples[0][1] == samples[0][2]
        return cls(name, module, inputs, sum(math.prod(sample) for sample in samples),
                   samples[0][1] if square else None)

    def saved_bytes(self, batch: int, dtype: torch.dtype) -> int:
        """Bytes autograd saves for backward at ``batch`` (:attr:`Totals.training_bytes`)."""
        analysis = analyze(self.module, self.inputs(batch), engine=EngineName.DISPATCH, dtype=dtype, name=self.name)
        return analysis.totals.training_bytes


@dataclass(frozen=True)
class PlanRow:
    """Training memory at one batch size (bytes).

    Attributes:
        batch: images per step.
        total_bytes: the plan's figure: the exact training-step peak (an exact plan) or the estimate, plus the
            allowance.
        fits: ``total_bytes`` is within the budget (True when there is no budget).
        peak_moment: when the exact peak is reached (``backward of head.act``); ``""`` in an estimate-only plan.
        saved_bytes: activation bytes an eval-mode forward saves for backward at this batch (the estimate's
            growing part).
        estimate_bytes: the estimate, ``fixed_bytes + saved_bytes`` plus the allowance.
    """

    batch: int
    total_bytes: int
    fits: bool
    peak_moment: str
    saved_bytes: int
    estimate_bytes: int


@dataclass(frozen=True)
class TrainingPlan:
    """Training memory of one model at one resolution, by batch size.

    Attributes:
        model, optimizer, dtype: what was planned.
        resolution: the input side in pixels (None: the input is not one square image, see ``input_shapes``).
        input_shapes: the inputs at batch 1.
        bytes_per_element: of ``dtype``.
        params, buffers: element counts.
        weight_bytes, gradient_bytes, optimizer_bytes, buffer_bytes: the fixed part.
        saved_bytes_per_sample: saved activation bytes each extra sample adds (the slope).
        saved_bytes_constant: saved bytes that do not depend on the batch (the intercept).
        batch_model: how the estimate's saved bytes follow the batch: ``linear``, ``affine`` or ``measured``
            (see the module docstring).
        budget_bytes: memory budget, None when none was given.
        max_batch: largest batch whose plan figure (``PlanRow.total_bytes``) is within the budget (0: not even
            one sample), None without budget.
        limit: what bounds ``max_batch`` (None without budget): the budget, or a cap (then at least
            ``max_batch`` fit, see :class:`BatchLimit`).
        rows: one per requested batch.
        caveats: what the plan leaves out.
        curve: how the exact peak follows the batch (:class:`~convcost.analyzer.peak_curve.CurveKind`: affine, so
            exact at every batch, or measured at each); None for an estimate-only plan.
        exact: the plan's figures are the training step counted exactly (a train-mode forward, its backward and
            the optimizer's state on ``meta`` tensors); False: the eval-mode estimate alone.
        allowance_bytes: added to every figure for what the device adds (the CUDA context, allocator rounding
            and caching, convolution workspaces), as the caller states it.
        estimate_max_batch: with a budget, the largest batch the estimate allows (above ``max_batch`` when the
            estimate leaves out what the exact step holds).
    """

    model: str
    resolution: int | None
    optimizer: str
    dtype: str
    bytes_per_element: int
    params: int
    buffers: int
    weight_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    buffer_bytes: int
    saved_bytes_per_sample: int
    saved_bytes_constant: int
    batch_model: BatchModel
    budget_bytes: int | None
    max_batch: int | None
    rows: tuple[PlanRow, ...]
    limit: BatchLimit | None = None
    input_shapes: tuple[tuple[int, ...], ...] = ()
    caveats: tuple[str, ...] = CAVEATS
    exact: bool = False
    allowance_bytes: int = 0
    estimate_max_batch: int | None = None
    curve: CurveKind | None = None

    @property
    def published_oom(self) -> OutOfMemoryReport | None:
        """A published out-of-memory report for this model and resolution (:data:`PUBLISHED_OOM`), if any."""
        return None if self.resolution is None else PUBLISHED_OOM.get((self.model, self.resolution))

    @property
    def input_text(self) -> str:
        """``512 px``, or the input shapes at batch 1 (``1x77, 1x3x224x224``)."""
        if self.resolution is not None:
            return f"{self.resolution} px"
        return "input " + ", ".join("x".join(map(str, shape)) for shape in self.input_shapes)

    @property
    def max_batch_text(self) -> str:
        """The largest batch in words, with what bounds it when that is not the budget (``""`` without budget)."""
        if self.max_batch is None:
            return ""
        if self.limit is BatchLimit.SEARCH:
            return (f"at least {self.max_batch:,} (saved bytes are not linear in the batch, so the search analyses "
                    f"batches and stops at {MAX_SEARCH_BATCH:,}, which fits)")
        if self.limit is BatchLimit.TENSOR:
            return f"{self.max_batch:,} (a larger batch would make an input of more than 2^63 - 1 bytes)"
        return f"{self.max_batch:,}"

    @property
    def fixed_bytes(self) -> int:
        """Weights + gradients + optimizer state + buffers: what does not grow with the batch."""
        return self.weight_bytes + self.gradient_bytes + self.optimizer_bytes + self.buffer_bytes

    def row(self, batch: int) -> PlanRow:
        """The row of ``batch``."""
        for row in self.rows:
            if row.batch == batch:
                return row
        raise KeyError(f"no row for batch {batch}; have {[r.batch for r in self.rows]}")

    def to_dataframe(self) -> pd.DataFrame:
        """One row per batch, with the fixed parts and the budget repeated as columns (for charts)."""
        frame = records_frame(self.rows)
        for column in ("model", "resolution", "optimizer", "dtype", "fixed_bytes", "budget_bytes"):
            frame[column] = getattr(self, column)
        return frame


def largest_batch(fixed: int, saved: Callable[[int], int], budget: int, cap: int = MAX_SEARCH_BATCH) -> int:
    """Largest ``N <= cap`` with ``fixed + saved(N) <= budget`` (0 when even ``N = 1`` does not fit).

    ``saved`` must be non-decreasing; it is searched by doubling then bisection, so it is
    called about ``2·log2(N)`` times.
    """
    return largest_fitting(lambda batch: fixed + saved(batch) <= budget, cap)


def _max_batch(fixed: int, saved: Callable[[int], int], budget: int, slope: int, constant: int,
               batch_model: BatchModel, tensor_cap: int) -> tuple[int, BatchLimit]:
    """The largest batch within ``budget`` and what bounds it: solved exactly when saved bytes are linear or
    affine in the batch, searched up to :data:`MAX_SEARCH_BATCH` otherwise; never more than ``tensor_cap``."""
    room = budget - fixed
    if batch_model == "measured":
        cap = min(MAX_SEARCH_BATCH, tensor_cap)
        found = largest_batch(fixed, saved, budget, cap)
        limit = BatchLimit.BUDGET if found < cap else (
            BatchLimit.TENSOR if cap == tensor_cap else BatchLimit.SEARCH)
        return found, limit
    if room < constant + slope:
        return 0, BatchLimit.BUDGET
    exact = tensor_cap if slope <= 0 else (room - constant) // slope
    return (exact, BatchLimit.BUDGET) if exact < tensor_cap else (tensor_cap, BatchLimit.TENSOR)


#: The step a plan's optimizer name counts (the plan's ``sgd`` keeps a momentum buffer, as SGD is trained).
PLAN_OPTIMIZERS: dict[str, Optimizer] = {"sgd": Optimizer.SGD_MOMENTUM, "sgd-momentum": Optimizer.SGD_MOMENTUM,
                                         "adam": Optimizer.ADAM, "adamw": Optimizer.ADAMW}


def training_plan(
    model: str | PlanModel,
    resolution: int | None = None,
    *,
    optimizer: str = "sgd",
    batches: Sequence[int] = DEFAULT_BATCHES,
    budget: str | int | None = None,
    dtype: torch.dtype = torch.float32,
    exact: bool = True,
    allowance: str | int | None = None,
) -> TrainingPlan:
    """Plan training memory of ``model`` by batch size: a registry name (at ``resolution``, default native) or
    any model with its inputs (:class:`PlanModel`); its frozen parameters (``requires_grad=False``) get no
    gradient and no optimizer state.

    Args:
        optimizer: a key of :data:`OPTIMIZER_STATES`: ``sgd`` (with momentum, as SGD is trained; also
            ``sgd-momentum``), ``adam`` or ``adamw``.
        batches: batch sizes to tabulate.
        budget: memory budget, bytes or a string for :func:`parse_bytes` (``"16GiB"``).
        dtype: dtype of weights, gradients, optimizer state and activations.
        exact: count the training step exactly (the default); False plans with the quick eval-mode estimate
            alone.
        allowance: bytes (or a string for :func:`parse_bytes`) added to every figure for the device: the CUDA
            context (several hundred MiB), the allocator's rounding and caching, convolution workspaces.

    Raises:
        ValueError: unknown optimizer, a batch below 1, an unreadable budget or allowance.
    """
    (plan,) = training_plans(model, resolution, optimizers=(optimizer,), batches=batches, budget=budget, dtype=dtype,
                             exact=exact, allowance=allowance)
    return plan


def training_plans(
    model: str | PlanModel,
    resolution: int | None = None,
    *,
    optimizers: Sequence[str] = ("sgd",),
    batches: Sequence[int] = DEFAULT_BATCHES,
    budget: str | int | None = None,
    dtype: torch.dtype = torch.float32,
    exact: bool = True,
    allowance: str | int | None = None,
) -> tuple[TrainingPlan, ...]:
    """:func:`training_plan` under each of ``optimizers``, from one set of analyses (the passes do not depend on
    the optimizer; its state adds the same bytes throughout)."""
    unknown = [optimizer for optimizer in optimizers if optimizer not in OPTIMIZER_STATES]
    if unknown or not optimizers:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZER_STATES)}; got {unknown or 'none'}")
    if any(batch < 1 for batch in batches):
        raise ValueError(f"batch sizes must be >= 1; got {list(batches)}")
    budget_bytes = None if budget is None else parse_bytes(budget)
    allowance_bytes = 0 if allowance is None else parse_bytes(allowance)
    target = model if isinstance(model, PlanModel) else PlanModel.of_registry(model, resolution)
    first = analyze(target.module, target.inputs(1), engine=EngineName.DISPATCH, dtype=dtype, name=target.name)
    measured = {1: first.totals.training_bytes}

    def measure(batch: int) -> int:
        if batch not in measured:
            measured[batch] = target.saved_bytes(batch, dtype)
        return measured[batch]

    slope = measure(2) - measure(1)
    constant = measure(1) - slope
    batch_model: BatchModel = "linear"
    if constant:
        batch_model = "affine" if measure(3) - measure(2) == slope else "measured"

    def saved(batch: int) -> int:
        return measure(batch) if batch_model == "measured" else constant + slope * batch

    curve = training_peak_curve(target.module, target.inputs, dtype=dtype, optimizer=Optimizer.SGD,
                                name=target.name) if exact else None
    size = dtype_bytes(dtype)
    input_cap = MAX_SIZE // max(target.sample_elements * size, 1)  # a larger batch's input exceeds 2^63 - 1 bytes
    plans = []
    for optimizer in optimizers:
        totals = first.totals
        weight = totals.params * size
        trained = totals.trainable_params * size  # frozen parameters get no gradient and no optimizer state
        fixed = weight + trained * (1 + OPTIMIZER_STATES[optimizer]) + totals.buffers * size + allowance_bytes
        estimate_max, estimate_limit = (None, None) if budget_bytes is None else _max_batch(
            fixed, saved, budget_bytes, slope, constant, batch_model, input_cap)
        rows = tuple(PlanRow(batch, fixed + saved(batch),
                             budget_bytes is None or fixed + saved(batch) <= budget_bytes, "", saved(batch),
                             fixed + saved(batch)) for batch in batches)
        max_batch, limit, caveats, curve_kind = estimate_max, estimate_limit, CAVEATS, None
        if curve is not None:
            stepped = curve.for_optimizer(PLAN_OPTIMIZERS[optimizer])
            rows = tuple(_exact_row(row, _peak_at(stepped, row.batch), allowance_bytes, budget_bytes)
                         for row in rows)
            caveats, curve_kind = EXACT_CAVEATS, curve.kind
            if budget_bytes is not None:
                cap = input_cap if curve.kind is CurveKind.AFFINE else min(MAX_SEARCH_BATCH, input_cap)
                max_batch = stepped.largest_batch(budget_bytes - allowance_bytes, cap)
                limit = BatchLimit.BUDGET if max_batch < cap else (
                    BatchLimit.TENSOR if cap == input_cap else BatchLimit.SEARCH)
        plans.append(TrainingPlan(
            model=target.name, resolution=target.resolution, optimizer=optimizer, dtype=first.dtype,
            bytes_per_element=size, params=totals.params, buffers=totals.buffers, weight_bytes=weight,
            gradient_bytes=trained, optimizer_bytes=trained * OPTIMIZER_STATES[optimizer],
            buffer_bytes=totals.buffers * size, saved_bytes_per_sample=slope, saved_bytes_constant=constant,
            batch_model=batch_model, budget_bytes=budget_bytes, max_batch=max_batch, rows=rows, limit=limit,
            input_shapes=first.input_shapes, caveats=caveats, exact=exact, allowance_bytes=allowance_bytes,
            estimate_max_batch=estimate_max, curve=curve_kind,
        ))
    return tuple(plans)


def _peak_at(curve: TrainingPeakCurve, batch: int) -> PeakPoint:
    """The curve at ``batch``; a batch the model cannot train on is said as such.

    Raises:
        AnalysisError: the training step fails at ``batch`` (the message names the batch and what to do).
    """
    try:
        return curve.at(batch)
    except AnalysisError as error:
        raise AnalysisError(f"{error} (at batch {batch}: plan batch sizes the model can train on, such as "
                            f"--batches {batch + 1},{2 * batch + 2})") from error


def _exact_row(estimate: PlanRow, peak: PeakPoint, allowance: int, budget: int | None) -> PlanRow:
    """``estimate``'s row with the exact peak as its figure."""
    total = peak.bytes + allowance
    return replace(estimate, total_bytes=total, fits=budget is None or total <= budget, peak_moment=peak.moment)


# --- report section ---------------------------------------------------------------------

_PLAN_FIXED_COLUMNS = ["optimizer", "params", "weight_bytes", "gradient_bytes", "optimizer_bytes", "buffer_bytes",
                       "fixed_bytes", "allowance_bytes", "saved_bytes_per_sample", "saved_bytes_constant",
                       "batch_model", "curve", "budget_bytes", "max_batch", "estimate_max_batch", "limit"]


def _oom_sentence(plan: TrainingPlan) -> str:
    report = plan.published_oom
    if report is None:
        return ""
    batch, device, source = report.batch, report.device, report.source
    row = next((r for r in plan.rows if r.batch == batch), None)
    if row is None:
        return f" The {source} reports that batch {batch} runs out of memory on {device}."
    verdict = "does not fit" if not row.fits else "fits"
    budget = f", {human_ratio(row.total_bytes / plan.budget_bytes)} the budget" if plan.budget_bytes else ""
    return (f" The {source} reports that batch {batch} runs out of memory on {device}: here batch {batch} needs "
            f"{bytes_text(row.total_bytes)} with {plan.optimizer}{budget}, so it {verdict}.")


def plan_section(plans: Sequence[TrainingPlan]) -> Section:
    """Training memory against batch size for one model and input under one or more optimizers."""
    if not plans:
        raise ValueError("plan_section needs at least one plan")
    first = plans[0]
    rows = pd.concat([plan.to_dataframe().assign(max_batch=plan.max_batch) for plan in plans], ignore_index=True)
    columns = ["optimizer", "batch", "total_bytes", "fits"] + (["peak_moment"] if first.exact else [])
    frame = rows[[*columns, "fixed_bytes", "saved_bytes", "estimate_bytes"]]
    fixed = pd.DataFrame([{key: getattr(plan, key) for key in _PLAN_FIXED_COLUMNS} for plan in plans])
    fixed_text = ", ".join(f"{bytes_text(plan.fixed_bytes)} with {plan.optimizer}" for plan in plans)
    allowance = (f", plus an allowance of {bytes_text(first.allowance_bytes)} for the device"
                 if first.allowance_bytes else "")
    if first.exact:
        intro = (
            f"Training memory of one step of {first.model} at {first.input_text} in {first.dtype}, counted exactly: "
            "a train-mode forward (batch statistics, dropout masks) and its backward on meta tensors, every "
            "activation and gradient from its allocation until it is freed, the gradients held to the optimizer's "
            f"step, the optimizer's state and the parameters{allowance}. The peak (Total bytes) is "
            f"{first.curve} in the batch; Peak moment says when it is reached. The quick estimate beside it "
            "(Estimate bytes: an eval-mode forward's saved activations plus the weights, gradients, state and "
            f"buffers, which are the Fixed bytes: {fixed_text}) holds every saved activation and every gradient at "
            "once and leaves out the batch statistics, the dropout masks and the activations' gradients, so it can "
            "land on either side."
        )
    else:
        intro = (
            f"Training memory of one step of {first.model} at {first.input_text} in {first.dtype}, estimated: the "
            "weights, their gradients and the optimizer state (one tensor per parameter for SGD with momentum, two "
            f"for Adam) and the buffers are fixed — {fixed_text}{allowance} — and the activations autograd saves "
            f"for backward grow by {bytes_text(first.saved_bytes_per_sample)} per image ({first.batch_model} in "
            "the batch)."
        )
    if first.budget_bytes is not None:
        largest = ", ".join(f"{plan.max_batch_text} with {plan.optimizer}" for plan in plans)
        intro += f" Within {bytes_text(first.budget_bytes)} the largest batch is {largest}"
        estimated = ", ".join(f"{plan.estimate_max_batch:,}" for plan in plans if plan.estimate_max_batch is not None)
        intro += f" (the estimate would allow {estimated})." if first.exact and estimated else "."
    intro += _oom_sentence(first)
    title = f"{first.model} at {first.input_text}: training memory by batch size"
    return Section(
        f"Training memory plan: {first.model} at {first.input_text}", intro, frame,
        figures=[ChartJob("plan", plan_chart, (
            rows[["optimizer", "batch", "total_bytes", "fixed_bytes", "budget_bytes", "max_batch"]], title))],
        tables=[Table("Fixed part, growth per image and the largest batch", fixed,
                      ("max_batch", "budget_bytes", "estimate_max_batch", "fixed_bytes", "saved_bytes_per_sample"))],
        notes=[f"{caveat[0].upper()}{caveat[1:]}." for caveat in first.caveats],
        key_columns=("batch", "total_bytes", "fits"),
    )


def plan_chart(rows: pd.DataFrame, title: str) -> Figure:
    """Training memory against batch size per optimizer (log–log), the fixed part, the budget and the largest
    batch that fits.

    Args:
        rows: one row per (optimizer, batch) with ``optimizer``, ``batch``, ``total_bytes``,
            ``fixed_bytes``, ``budget_bytes`` (missing: no budget) and ``max_batch``.
    """
    with chart_style():
        figure = new_figure(5.6)
        axes = figure.subplots()
        for index, (optimizer, plan) in enumerate(rows.groupby("optimizer", sort=False)):
            color = PALETTE[index]
            axes.plot(plan["batch"], plan["total_bytes"], marker="o", color=color,
                      label=f"{optimizer}: weights + gradients + state + saved activations")
            axes.axhline(plan["fixed_bytes"].iloc[0], color=color, linestyle=":", linewidth=1,
                         label=f"{optimizer}: fixed part (batch-independent)")
            largest = plan["max_batch"].iloc[0]
            if pd.notna(largest) and largest > 0:
                axes.axvline(largest, color=color, linestyle="--", linewidth=1,
                             label=f"{optimizer}: largest batch within budget = {int(largest)}")
        budget = rows["budget_bytes"].dropna()
        if not budget.empty:
            axes.axhline(budget.iloc[0], color="black", linewidth=1.5,
                         label=f"budget {human_bytes(budget.iloc[0])}")
        axes.set_xscale("log", base=2)
        axes.set_xticks(sorted(set(rows["batch"])), [str(b) for b in sorted(set(rows["batch"]))])
        axes.xaxis.set_minor_formatter(NullFormatter())
        axis_units(axes, "y", Unit.BYTES, log=True)
        axes.set_xlabel("batch size (images, log scale)")
        axes.set_ylabel("training memory (bytes, log scale)")
        legend_outside(figure)
        figure.suptitle(title)
        set_caption(figure, (
            "x: batch size (images, log scale); y: memory of one training step (bytes, log scale) per optimizer: "
            "the step's total (line with points), its batch-independent fixed part (dotted), the budget (solid "
            "black) and the largest batch within it (dashed)."))
    return figure


# --- the plug-in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanJob:
    """Training plans of one model (``meta`` device) under several optimizers, from one set of analyses: model,
    resolution, budget, optimizers and batch sizes."""

    model: str
    resolution: int | None
    budget_bytes: int | None
    optimizers: tuple[str, ...]
    batches: tuple[int, ...] = DEFAULT_BATCHES

    @property
    def isolated(self) -> bool:
        """Counting only: runs anywhere."""
        return False

    @property
    def weight(self) -> int:
        """Six analyses: the estimate's three and the training step's three."""
        return 6

    def run(self) -> tuple[TrainingPlan, ...]:
        """:func:`training_plans`."""
        return training_plans(self.model, self.resolution, optimizers=self.optimizers, batches=self.batches,
                              budget=self.budget_bytes)


@dataclass(frozen=True)
class PlanSettings:
    """One model and resolution planned under one or more optimizers.

    Attributes:
        resolution: input side (pixels), None for the model's native one.
        budget_bytes: memory budget, None for none.
    """

    model: str
    resolution: int | None
    budget_bytes: int | None
    optimizers: tuple[str, ...]
    batches: tuple[int, ...] = DEFAULT_BATCHES

    def job(self) -> PlanJob:
        """The plans under every optimizer."""
        return PlanJob(self.model, self.resolution, self.budget_bytes, self.optimizers, self.batches)


#: The main report's plan: EfficientNet-B6 at 512 px against a 16 GiB card, SGD and Adam (the EfficientNetV2
#: paper's out-of-memory remark).
REPORT_PLAN = PlanSettings("efficientnet_b6", 512, parse_bytes("16GiB"), ("sgd", "adam"))


class Plan(Study[PlanSettings, tuple[TrainingPlan, ...]]):
    """Training memory against batch size, and the largest batch within a budget.

    A section of the main report; ``convcost plan MODEL`` plans any model (registry, file, timm or
    torchvision) with its own options, through :func:`training_plan`.
    """

    name = "plan"
    title = "training memory against batch size, and the largest batch that fits"
    description = ("Weights, gradients, optimizer state and saved activations of one training step, by batch "
                   "size, and the largest batch within a memory budget.")
    position = 60
    invocation = Invocation.REPORT_ONLY

    def report_settings(self) -> PlanSettings:
        """:data:`REPORT_PLAN`."""
        return REPORT_PLAN

    def jobs(self, settings: PlanSettings) -> list[PlanJob]:
        """One job for every optimizer's plan (they share the analyses)."""
        return [settings.job()]

    def assemble(self, settings: PlanSettings, results: Mapping[Any, Any]) -> tuple[TrainingPlan, ...]:
        """The plans, in optimizer order."""
        plans: tuple[TrainingPlan, ...] = results[settings.job()]
        return plans

    def section(self, result: tuple[TrainingPlan, ...]) -> Section:
        """:func:`plan_section`."""
        return plan_section(result)


register_study(Plan())
