"""The studies of the main report, computed from analyses the report already has plus a few extra jobs.

The report analyses every registry model at its native resolution, batch 1. The scaling,
dwsep, se and conventions studies read those analyses; what else the studies need — the
``separable=False`` and ``se=False`` builds, EfficientNet-B0 at batch 32 with each Swish
variant, the training plans, the textbook pair, the untimed fused study — is a job here
(:data:`Job`: a small frozen record with a ``run()`` method). :func:`jobs` lists them, the
caller runs them (in worker processes or not) and hands the results to :func:`assemble`.

Every job runs on ``meta`` tensors, so it is safe in a forked worker. The fused study's
latency is not a job: it needs real tensors, so the caller adds it with
:func:`analyzer.studies.fused.with_latency` after every worker has finished.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from architectures import EFFICIENTNET_SCALING

from ..analysis import Analysis
from .common import analyze_model
from .dwsep import DWSEP_MODELS, DwsepStudy, SeparablePair, separable_network, textbook_pair
from .fused import FusedStudy, fused_study
from .plan import TrainingPlan, training_plan
from .scaling import ScalingStudy, scaling_from_analyses
from .se import SE_PAIRS, SeStudy, compare_se, pair_label
from .swish import SWISH_BATCH, SWISH_MODEL, SWISH_VARIANTS, SwishStudy, swish_from_analyses
from .tools import ConventionsStudy, conventions_study

__all__ = [
    "CONVENTIONS_MODEL",
    "FUSED_MODEL",
    "PLAN_CASE",
    "STUDIES",
    "AnalysisSpec",
    "FusedSpec",
    "Job",
    "PlanSpec",
    "StudyResults",
    "TextbookSpec",
    "assemble",
    "compute",
    "jobs",
]

#: Studies this module assembles, in report order.
STUDIES: tuple[str, ...] = ("scaling", "dwsep", "se", "swish", "fused", "plan", "conventions")
#: The network of the fused study (at its native 384 px).
FUSED_MODEL = "efficientnet_v2_s"
#: The training plan of the report: EfficientNet-B6 at 512 px against a 16 GiB card, both optimizers.
PLAN_CASE: tuple[str, int, str, tuple[str, ...]] = ("efficientnet_b6", 512, "16GiB", ("sgd", "adam"))
#: The model whose totals the conventions study compares (at its native 224 px).
CONVENTIONS_MODEL = "efficientnet_b0"


@dataclass(frozen=True)
class AnalysisSpec:
    """A registry model analysed at its native resolution, with a batch and ``create_model`` overrides.

    Attributes:
        model: registry name; batch: images per pass.
        overrides: ``(keyword, value)`` pairs for ``create_model``, sorted (so equal specs compare equal).
    """

    model: str
    batch: int = 1
    overrides: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, model: str, batch: int = 1, **overrides: Any) -> AnalysisSpec:
        """A spec with its overrides sorted."""
        return cls(model, batch, tuple(sorted(overrides.items())))

    @property
    def native(self) -> bool:
        """Batch 1 and no overrides: the analysis the main report makes of every model anyway."""
        return self.batch == 1 and not self.overrides

    def run(self) -> Analysis:
        """Analyse the model (``dispatch`` engine, ``meta`` device)."""
        return analyze_model(self.model, batch=self.batch, **dict(self.overrides))


@dataclass(frozen=True)
class PlanSpec:
    """A training plan: model, resolution, budget and optimizer for :func:`~analyzer.studies.plan.training_plan`."""

    model: str
    resolution: int
    budget: str
    optimizer: str

    def run(self) -> TrainingPlan:
        """Plan training memory (``meta`` device)."""
        return training_plan(self.model, self.resolution, optimizer=self.optimizer, budget=self.budget)


@dataclass(frozen=True)
class TextbookSpec:
    """The textbook depthwise-separable pair (3 → 4 channels, 3×3) of the dwsep study."""

    def run(self) -> SeparablePair:
        """Measure the pair (``meta`` device)."""
        return textbook_pair()


@dataclass(frozen=True)
class FusedSpec:
    """The fused study's counts, untimed (``meta`` device); latency is added separately."""

    model: str = FUSED_MODEL

    def run(self) -> FusedStudy:
        """Every stage as built and swapped, not timed."""
        return fused_study(self.model, runs=0)


#: Anything :func:`jobs` lists; each is hashable and has a ``run()`` method.
Job = AnalysisSpec | PlanSpec | TextbookSpec | FusedSpec


@dataclass(frozen=True)
class StudyResults:
    """The studies asked for; the others are None (``plans`` empty). ``fused`` is untimed."""

    scaling: ScalingStudy | None = None
    dwsep: DwsepStudy | None = None
    se: SeStudy | None = None
    swish: SwishStudy | None = None
    fused: FusedStudy | None = None
    plans: tuple[TrainingPlan, ...] = ()
    conventions: ConventionsStudy | None = None


def _check(studies: Iterable[str]) -> list[str]:
    chosen = list(studies)
    unknown = [name for name in chosen if name not in STUDIES]
    if unknown:
        raise ValueError(f"studies are {', '.join(STUDIES)}; got {', '.join(unknown)}")
    return chosen


def _dwsep_pairs() -> list[tuple[AnalysisSpec, AnalysisSpec]]:
    return [(AnalysisSpec.of(name), AnalysisSpec.of(name, separable=False)) for name in DWSEP_MODELS]


def _se_pairs() -> list[tuple[AnalysisSpec, AnalysisSpec]]:
    return [(AnalysisSpec.of(base, **base_overrides), AnalysisSpec.of(name, **overrides))
            for (base, base_overrides), (name, overrides) in SE_PAIRS]


def _swish_specs() -> dict[str, AnalysisSpec]:
    return {variant: AnalysisSpec.of(SWISH_MODEL, SWISH_BATCH, activation=variant) for variant in SWISH_VARIANTS}


def jobs(studies: Iterable[str]) -> list[Job]:
    """Every job the ``studies`` need, without repeats: native analyses first (the report has those), then the rest.

    Raises:
        ValueError: an unknown study name.
    """
    chosen = _check(studies)
    found: list[Job] = []
    if "scaling" in chosen:
        found += [AnalysisSpec.of(name) for name in EFFICIENTNET_SCALING]
    if "dwsep" in chosen:
        found += [*(spec for pair in _dwsep_pairs() for spec in pair), TextbookSpec()]
    if "se" in chosen:
        found += [spec for pair in _se_pairs() for spec in pair]
    if "swish" in chosen:
        found += _swish_specs().values()
    if "fused" in chosen:
        found.append(FusedSpec())
    if "plan" in chosen:
        model, resolution, budget, optimizers = PLAN_CASE
        found += [PlanSpec(model, resolution, budget, optimizer) for optimizer in optimizers]
    if "conventions" in chosen:
        found.append(AnalysisSpec.of(CONVENTIONS_MODEL))
    unique = list(dict.fromkeys(found))
    native = [job for job in unique if isinstance(job, AnalysisSpec) and job.native]
    return native + [job for job in unique if job not in native]


def assemble(studies: Iterable[str], results: Mapping[Job, Any]) -> StudyResults:
    """The ``studies`` from the results of their :func:`jobs`.

    Raises:
        KeyError: a job the studies need is missing from ``results``.
    """
    chosen = _check(studies)
    found: dict[str, Any] = {}
    if "scaling" in chosen:
        found["scaling"] = scaling_from_analyses({name: results[AnalysisSpec.of(name)]
                                                  for name in EFFICIENTNET_SCALING})
    if "dwsep" in chosen:
        found["dwsep"] = DwsepStudy(results[TextbookSpec()], tuple(
            separable_network(results[real], results[standard]) for real, standard in _dwsep_pairs()))
    if "se" in chosen:
        found["se"] = SeStudy(tuple(
            compare_se(results[base], results[with_se], base_label=pair_label(base.model, dict(base.overrides)),
                       se_label=pair_label(with_se.model, dict(with_se.overrides)))
            for base, with_se in _se_pairs()
        ))
    if "swish" in chosen:
        found["swish"] = swish_from_analyses({variant: results[spec] for variant, spec in _swish_specs().items()})
    if "fused" in chosen:
        found["fused"] = results[FusedSpec()]
    if "plan" in chosen:
        found["plans"] = tuple(results[job] for job in jobs(["plan"]))
    if "conventions" in chosen:
        found["conventions"] = conventions_study(results[AnalysisSpec.of(CONVENTIONS_MODEL)])
    return StudyResults(**found)


def compute(studies: Sequence[str]) -> StudyResults:
    """The ``studies``, every job run here, one after the other (the fused study untimed)."""
    return assemble(studies, {job: job.run() for job in jobs(studies)})
