"""The studies' timing jobs: a registry model profiled, and this machine's roofline and latency model.

Apart from the studies that use them (:mod:`convcost.studies.latency`, ``dwsep``, ``scaling``), this
module imports nothing heavy: a fresh worker that runs a timing job alone loads only torch, the
architectures and the analyzer, so no plotting or table library sits in the memory it measures in.
Equal jobs are equal records, so a model several studies time is profiled once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .arguments import non_negative_int
from .base import StudyOption

if TYPE_CHECKING:
    from convcost.analyzer.latency_model import LatencyModel
    from convcost.analyzer.profiling import Profile
    from convcost.analyzer.roofline import Roofline

__all__ = ["PROFILE_RUNS", "PROFILE_WARMUP", "MachineJob", "ProfileJob", "runs_option", "runs_value"]

#: Timed forwards of each profile in the main report, and untimed ones before them: the studies that time the
#: same model ask for the same job, so the report profiles it once.
PROFILE_RUNS = 5
PROFILE_WARMUP = 2


def runs_option(flag: str, what: str, purpose: str) -> StudyOption:
    """A study's ``flag N``: the timed forwards of each profile it runs (``what``), 0 for none."""
    return StudyOption((flag,), f"timed forwards of {what}, 0 for none (default: {PROFILE_RUNS})", purpose,
                       type=non_negative_int, default=PROFILE_RUNS, metavar="N")


def runs_value(values: Mapping[str, Any], option: StudyOption) -> int:
    """The timed forwards ``option`` was given (its default when absent)."""
    runs = values.get(option.dest)
    return PROFILE_RUNS if runs is None else int(runs)


@dataclass(frozen=True)
class ProfileJob:
    """One registry model profiled at its native resolution, batch 1, float32 (``overrides``: ``create_model``
    keywords as sorted pairs, e.g. ``(("separable", False),)``)."""

    model: str
    runs: int
    warmup: int
    overrides: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, model: str, runs: int, warmup: int, **overrides: Any) -> ProfileJob:
        """A job with its overrides sorted."""
        return cls(model, runs, warmup, tuple(sorted(overrides.items())))

    @property
    def isolated(self) -> bool:
        """Profiling runs real arithmetic and measures time: alone."""
        return True

    def run(self) -> Profile:
        """Profile the model (without a roofline: a study sets one beside it), with freed memory kept for reuse as
        the latency model's fit had it (:func:`~convcost.analyzer.allocator.keep_freed_memory`), its figures over
        the runs that met the machine the fit met (:attr:`~convcost.analyzer.latency_model.LatencyModel.quiet_gate`)
        among those it times anyway: a report profiles dozens of models and does not wait for quiet ones."""
        from convcost.analyzer.allocator import keep_freed_memory
        from convcost.analyzer.latency_model import quiet_gate
        from convcost.analyzer.profiling import profile
        from convcost.analyzer.timed import machine_models
        from convcost.architectures import create_model, model_info

        keep_freed_memory()
        _, latency_model = machine_models(refit_stale=False)  # the report's machine job settled it
        side = model_info(self.model).resolution
        return profile(create_model(self.model, device="meta", **dict(self.overrides)), (1, 3, side, side),
                       runs=self.runs, warmup=self.warmup, name=self.model,
                       quiet_gate=quiet_gate(latency_model), max_seconds=0.0)


@dataclass(frozen=True)
class MachineJob:
    """This machine's roofline and latency model: from the cache, or measured alone."""

    @property
    def isolated(self) -> bool:
        """Measuring the roofline and fitting the latency model time real arithmetic: alone."""
        return True

    def run(self) -> tuple[Roofline, LatencyModel | None]:
        """:func:`~convcost.analyzer.timed.machine_models`, with freed memory kept for reuse as the profiles have it."""
        from convcost.analyzer.allocator import keep_freed_memory
        from convcost.analyzer.timed import machine_models

        keep_freed_memory()
        return machine_models()
