"""The training step's peak memory as a function of the batch size, exact from three analyses.

Every allocation of a training step at batch ``N`` has a size that, for the networks convcost
counts, is affine in ``N`` (activations grow per sample; batch statistics, parameters' gradients
and optimizer state do not). So the live level after each allocation is affine in ``N`` too, and
the peak at any batch is the largest of those lines::

    peak(N) = parameters + buffers + state + max(max_i(level_i(1) + (N - 1)·slope_i), gradients)

The step is analysed at batches 1, 2 and 3 (:func:`~convcost.analyzer.analyze` with
``training=True``). When the three timelines have the same allocations and every level lies on
a line, the curve is :attr:`CurveKind.AFFINE` and exact for every batch, and the largest batch
within a budget is solved in closed form. Batch 1 can be special (a training-mode
``BatchNorm1d`` refuses it; a copy of a tensor whose batch dimension is 1 can be free): when its
step fails or is off the line, the line is fitted at batches 2, 3 and 4 instead, and batch 1 is
analysed on its own when asked about (its failure is then the answer). Otherwise (a model whose
graph or sizes depend on the batch otherwise) the curve is :attr:`CurveKind.MEASURED`: each batch
asked about is analysed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .errors import AnalysisError
from .naming import StrEnum
from .optimizers import Optimizer, optimizer_rule
from .records import Phase, TrainingCounts

__all__ = ["CurveKind", "PeakPoint", "TrainingPeakCurve", "largest_fitting", "training_peak_curve"]


class CurveKind(StrEnum):
    """How :class:`TrainingPeakCurve` knows the peak at a batch it did not analyse."""

    #: every live level is affine in the batch (checked at batches 1, 2 and 3): exact at any batch
    AFFINE = "affine"
    #: not affine: each batch is analysed
    MEASURED = "measured"


@dataclass(frozen=True)
class PeakPoint:
    """The training step's peak at one batch.

    Attributes:
        batch: samples per step.
        bytes: peak training memory (``TrainingCounts.peak_bytes``).
        moment: when it is reached, in words (``backward of head.act``, ``optimizer step``).
    """

    batch: int
    bytes: int
    moment: str


@dataclass
class TrainingPeakCurve:
    """Peak training memory against batch size for one model, input, dtype and optimizer (see the module
    docstring). The passes do not depend on the optimizer: its state adds the same bytes at every moment
    (:meth:`for_optimizer` gives another optimizer's curve from the same analyses).

    Attributes:
        kind: affine (exact everywhere) or measured (each batch analysed).
        fixed_bytes: parameters and buffers, and the optimizer's state: there throughout the step.
        gradient_bytes: the trainable parameters' gradients, all alive at the optimizer's step.
        state_bytes: the optimizer's state (in ``fixed_bytes``).
        first: the analysis at batch ``base`` (SGD, which keeps no state).
        base: the smallest batch on the line (1, or 2 when batch 1 is special); smaller ones are analysed.
    """

    kind: CurveKind
    fixed_bytes: int
    gradient_bytes: int
    state_bytes: int
    first: TrainingCounts
    base: int = 1
    _slopes: tuple[int, ...] = ()
    _step: Callable[[int], TrainingCounts] | None = None
    _points: dict[int, PeakPoint] = field(default_factory=dict)  # without the state

    def at(self, batch: int) -> PeakPoint:
        """The peak at ``batch`` (analysed when the curve is measured; once per batch)."""
        if batch < 1:
            raise ValueError(f"batch must be >= 1; got {batch}")
        if batch not in self._points:
            on_line = self.kind is CurveKind.AFFINE and batch >= self.base
            self._points[batch] = self._affine(batch) if on_line else self._measured(batch)
        point = self._points[batch]
        return PeakPoint(batch, point.bytes + self.state_bytes, point.moment)

    def for_optimizer(self, optimizer: Optimizer | str) -> TrainingPeakCurve:
        """The same model's curve under ``optimizer`` (its state added; the analyses shared)."""
        state = optimizer_rule(optimizer).state_slots * self.gradient_bytes
        return TrainingPeakCurve(self.kind, self.fixed_bytes - self.state_bytes + state, self.gradient_bytes, state,
                                 self.first, self.base, self._slopes, self._step, self._points)

    def largest_batch(self, room: int, cap: int) -> int:
        """The largest batch up to ``cap`` whose peak is at most ``room`` bytes (0: not even one sample)."""
        if self.kind is CurveKind.MEASURED:
            return largest_fitting(lambda batch: self.at(batch).bytes <= room, cap)
        on_line = self._largest_on_line(room, cap)
        if on_line >= self.base or self.base == 1 or cap < 1:
            return on_line
        return 1 if self.at(1).bytes <= room else 0  # batch 1 is off the line: its own analysis

    def _largest_on_line(self, room: int, cap: int) -> int:
        """The largest batch in ``base..cap`` on the line within ``room`` (``base - 1`` when none is)."""
        free = room - self.fixed_bytes
        if free < self.gradient_bytes:
            return self.base - 1
        largest = cap
        for level, slope in zip(self.first.timeline.levels, self._slopes, strict=True):
            if level > free:
                return self.base - 1
            if slope > 0:
                largest = min(largest, self.base + (free - level) // slope)
        return largest

    def _affine(self, batch: int) -> PeakPoint:
        levels = self.first.timeline.levels
        index, live = -1, -1
        for position, (level, slope) in enumerate(zip(levels, self._slopes, strict=True)):
            value = level + (batch - self.base) * slope
            if value > live:
                index, live = position, value
        stateless = self.fixed_bytes - self.state_bytes
        if self.gradient_bytes > live:  # as TrainingCounts.peak_moment: the step, when the gradients outweigh
            return PeakPoint(batch, stateless + self.gradient_bytes, Phase.STEP.value)
        return PeakPoint(batch, stateless + live, self.first.timeline.moment(index))

    def _measured(self, batch: int) -> PeakPoint:
        assert self._step is not None
        counts = self.first if batch == self.base else self._step(batch)
        return PeakPoint(batch, counts.peak_bytes, counts.peak_moment)  # SGD's: no state


def training_peak_curve(model: nn.Module, inputs: Callable[[int], Any], *, dtype: torch.dtype,
                        optimizer: Optimizer | str, name: str | None = None) -> TrainingPeakCurve:
    """The peak-memory curve of ``model``'s training step under ``optimizer``: ``inputs(batch)`` is what
    :func:`~convcost.analyzer.analyze` takes at that batch (see the module docstring)."""
    from .engines.names import EngineName
    from .measure import analyze

    def step(batch: int) -> TrainingCounts:
        analysis = analyze(model, inputs(batch), engine=EngineName.DISPATCH, dtype=dtype, name=name,
                           training=True, optimizer=Optimizer.SGD)
        assert analysis.training is not None
        return analysis.training

    steps: dict[int, TrainingCounts] = {}
    # a model that cannot train on one sample: the line starts at 2, and batch 1's failure is its answer
    with contextlib.suppress(AnalysisError):
        steps[1] = step(1)
    steps[2], steps[3] = step(2), step(3)
    base, slopes = 1, _affine_slopes(steps[1], steps[2], steps[3]) if 1 in steps else None
    if slopes is None:
        steps[4] = step(4)
        base, slopes = 2, _affine_slopes(steps[2], steps[3], steps[4])
    kind = CurveKind.MEASURED if slopes is None else CurveKind.AFFINE
    if kind is CurveKind.MEASURED:
        base = min(steps)
    first = steps[base]
    points = {batch: PeakPoint(batch, counts.peak_bytes, counts.peak_moment) for batch, counts in steps.items()}
    cached = dict(steps)

    def analysed(batch: int) -> TrainingCounts:
        if batch not in cached:
            cached[batch] = step(batch)
        return cached[batch]

    stateless = TrainingPeakCurve(kind, first.parameter_bytes, first.gradient_bytes, 0, first, base, slopes or (),
                                  analysed, points)
    return stateless.for_optimizer(optimizer)


def _affine_slopes(*steps: TrainingCounts) -> tuple[int, ...] | None:
    """Per allocation, the bytes each extra sample adds, when the steps at three consecutive batches have the
    same allocations with levels on lines and the same fixed parts; else None."""
    first, second, third = (step.timeline for step in steps)
    fixed = {(step.parameter_bytes, step.state_bytes, step.gradient_bytes) for step in steps}
    if len(fixed) != 1 or not (first.modules == second.modules == third.modules
                               and first.phases == second.phases == third.phases):
        return None
    slopes = tuple(b - a for a, b in zip(first.levels, second.levels, strict=True))
    if any(c - b != slope for b, c, slope in zip(second.levels, third.levels, slopes, strict=True)):
        return None
    return slopes


def largest_fitting(fits: Callable[[int], bool], cap: int) -> int:
    """Largest ``N <= cap`` with ``fits(N)`` for a monotone ``fits`` (0 when even 1 does not fit): doubling,
    then bisection."""
    if cap < 1 or not fits(1):
        return 0
    low, high = 1, 2
    while high <= cap and fits(high):
        low, high = high, high * 2
    high = min(high, cap + 1)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low
