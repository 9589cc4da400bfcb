"""Study ``plan``: training memory against batch size, and the largest batch that fits a budget.

Training memory of one step is modelled as::

    fixed     = weights + gradients + optimizer state + buffers
              = params · e · (2 + states) + buffers · e
    per batch = bytes autograd saves for backward (``Totals.training_bytes``)
    total(N)  = fixed + saved(N)

with ``e`` bytes per element of the dtype and ``states`` tensors of optimizer state per
parameter: 1 for SGD with momentum, 2 for Adam (first and second moments). Buffers
(BatchNorm running statistics and counters) are counted at ``e`` bytes per element too.

Saved bytes are measured at batch 1 and 2. When batch 2 saves exactly twice batch 1 they
are ``linear`` in the batch. When not, batch 3 is measured too, and if the three points
lie on a line the saved bytes are ``affine``: a per-sample slope plus a constant (a model
that saves batch-independent tensors, such as training-mode batch statistics). Otherwise
every batch asked about is ``measured``. The first two
cases extrapolate exactly; the last analyses each batch and bisects for the largest one.

The EfficientNetV2 paper (Tan & Le 2021, section 3.2) notes that EfficientNet-B6 trained
at 512 px with batch 24 runs out of memory on a 16 GB V100; ``training_plan(
"efficientnet_b6", 512, budget="16GiB")`` shows why. What the model leaves out is listed
in :data:`CAVEATS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

import torch

from architectures import model_info

from .common import analyze_model, dtype_bytes, records_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CAVEATS",
    "DEFAULT_BATCHES",
    "OPTIMIZER_STATES",
    "PUBLISHED_OOM",
    "UNITS",
    "PlanRow",
    "TrainingPlan",
    "largest_batch",
    "parse_bytes",
    "training_plan",
]

#: Optimizer name → state tensors kept per parameter.
OPTIMIZER_STATES: dict[str, int] = {"sgd": 1, "adam": 2}
#: Size units :func:`parse_bytes` accepts (case-insensitive) → bytes.
UNITS: dict[str, int] = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
DEFAULT_BATCHES: tuple[int, ...] = (1, 2, 4, 8, 16, 24, 32, 64, 128)
#: What the estimate does not count.
CAVEATS: tuple[str, ...] = (
    "analyze runs the forward in eval mode: training-mode BatchNorm also saves its per-channel batch mean "
    "and inverse std (2·C values per layer, independent of the batch), which are not counted",
    "dropout and stochastic-depth masks (one element per sample and feature, or per sample) exist only in "
    "training mode and are not counted",
    "gradients of activations live during backward, autograd temporaries, cuDNN workspaces, allocator "
    "fragmentation and caching, and the CUDA context (several hundred MiB) are not counted",
    "one dtype for everything: mixed precision keeps float32 master weights and optimizer state",
)
#: Published out-of-memory reports: (model, resolution) → (batch, what ran out of memory, source).
PUBLISHED_OOM: dict[tuple[str, int], tuple[int, str, str]] = {
    ("efficientnet_b6", 512): (24, "a 16 GB V100", "EfficientNetV2 paper (Tan & Le 2021, section 3.2)"),
}
BatchModel = Literal["linear", "affine", "measured"]
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*$")
_MAX_SEARCH_BATCH = 1 << 24


def parse_bytes(text: str | int) -> int:
    """Bytes in a size such as ``"16GiB"``, ``"512 MiB"``, ``"8GB"`` or ``"1000000B"`` (rounded down).

    Binary units (KiB, MiB, GiB, TiB) are powers of 1024; decimal ones (KB, MB, GB, TB)
    powers of 1000; units are case-insensitive. An integer (or a bare number) is bytes.

    Raises:
        ValueError: the text is not a non-negative number followed by one of :data:`UNITS`.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"a size cannot be negative; got {text}")
        return text
    match = _SIZE.match(text) if isinstance(text, str) else None
    units = {unit.lower(): factor for unit, factor in UNITS.items()}
    if match is None or match.group(2).lower() not in {"", *units}:
        raise ValueError(f"cannot read {text!r} as a size; write a number and a unit, e.g. 16GiB, 512MiB, "
                         f"8GB or 1000B (units: {', '.join(UNITS)})")
    number, unit = match.groups()
    return int(Decimal(number) * units.get(unit.lower(), 1))


@dataclass(frozen=True)
class PlanRow:
    """Training memory at one batch size (bytes).

    Attributes:
        batch: images per step.
        saved_bytes: activation bytes autograd keeps for backward at this batch.
        total_bytes: ``fixed_bytes + saved_bytes``.
        fits: ``total_bytes`` is within the budget (True when there is no budget).
    """

    batch: int
    saved_bytes: int
    total_bytes: int
    fits: bool


@dataclass(frozen=True)
class TrainingPlan:
    """Training memory of one model at one resolution, by batch size.

    Attributes:
        model, resolution, optimizer, dtype: what was planned.
        bytes_per_element: of ``dtype``.
        params, buffers: element counts.
        weight_bytes, gradient_bytes, optimizer_bytes, buffer_bytes: the fixed part.
        saved_bytes_per_sample: saved activation bytes each extra sample adds (the slope).
        saved_bytes_constant: saved bytes that do not depend on the batch (the intercept).
        batch_model: ``linear``, ``affine`` or ``measured`` (see the module docstring).
        budget_bytes: memory budget, None when none was given.
        max_batch: largest batch within the budget (0: not even one sample), None without budget.
        rows: one per requested batch.
        caveats: what the plan leaves out.
    """

    model: str
    resolution: int
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
    caveats: tuple[str, ...] = CAVEATS

    @property
    def published_oom(self) -> tuple[int, str, str] | None:
        """A published out-of-memory report for this model and resolution (:data:`PUBLISHED_OOM`), if any."""
        return PUBLISHED_OOM.get((self.model, self.resolution))

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


def largest_batch(fixed: int, saved: Callable[[int], int], budget: int) -> int:
    """Largest ``N`` with ``fixed + saved(N) <= budget`` (0 when even ``N = 1`` does not fit).

    ``saved`` must be non-decreasing; it is searched by doubling then bisection, so it is
    called about ``2·log2(N)`` times.
    """
    room = budget - fixed
    if saved(1) > room:
        return 0
    low, high = 1, 2
    while high <= _MAX_SEARCH_BATCH and saved(high) <= room:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if saved(middle) <= room else (low, middle)
    return low


def training_plan(
    model: str,
    resolution: int | None = None,
    *,
    optimizer: str = "sgd",
    batches: Sequence[int] = DEFAULT_BATCHES,
    budget: str | int | None = None,
    dtype: torch.dtype = torch.float32,
) -> TrainingPlan:
    """Plan training memory of registry ``model`` at ``resolution`` (default native) by batch size.

    Args:
        optimizer: a key of :data:`OPTIMIZER_STATES` (``sgd`` with momentum, ``adam``).
        batches: batch sizes to tabulate.
        budget: memory budget, bytes or a string for :func:`parse_bytes` (``"16GiB"``).
        dtype: dtype of weights, gradients, optimizer state and activations.

    Raises:
        ValueError: unknown optimizer, a batch below 1, or an unreadable budget.
    """
    if optimizer not in OPTIMIZER_STATES:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZER_STATES)}; got {optimizer!r}")
    if any(batch < 1 for batch in batches):
        raise ValueError(f"batch sizes must be >= 1; got {list(batches)}")
    budget_bytes = None if budget is None else parse_bytes(budget)
    side = resolution or model_info(model).resolution
    first = analyze_model(model, side, batch=1, dtype=dtype)
    measured = {1: first.totals.training_bytes}

    def measure(batch: int) -> int:
        if batch not in measured:
            measured[batch] = analyze_model(model, side, batch=batch, dtype=dtype).totals.training_bytes
        return measured[batch]

    slope = measure(2) - measure(1)
    constant = measure(1) - slope
    batch_model: BatchModel = "linear"
    if constant:
        batch_model = "affine" if measure(3) - measure(2) == slope else "measured"

    def saved(batch: int) -> int:
        return measure(batch) if batch_model == "measured" else constant + slope * batch

    totals, size = first.totals, dtype_bytes(dtype)
    weight = totals.params * size
    fixed = weight * (2 + OPTIMIZER_STATES[optimizer]) + totals.buffers * size
    rows = tuple(
        PlanRow(batch, saved(batch), fixed + saved(batch),
                budget_bytes is None or fixed + saved(batch) <= budget_bytes)
        for batch in batches
    )
    max_batch = None if budget_bytes is None else largest_batch(fixed, saved, budget_bytes)
    return TrainingPlan(
        model=model, resolution=side, optimizer=optimizer, dtype=first.dtype, bytes_per_element=size,
        params=totals.params, buffers=totals.buffers, weight_bytes=weight, gradient_bytes=weight,
        optimizer_bytes=weight * OPTIMIZER_STATES[optimizer], buffer_bytes=totals.buffers * size,
        saved_bytes_per_sample=slope, saved_bytes_constant=constant, batch_model=batch_model,
        budget_bytes=budget_bytes, max_batch=max_batch, rows=rows,
    )
