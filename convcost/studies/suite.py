"""Running several studies together: their jobs gathered (each once), run, and each study assembled.

The main report analyses every registry model at its native resolution anyway; the studies'
jobs that equal one of those analyses are not run twice. :func:`run_jobs` runs the shared
jobs in worker processes and every isolated job (real-tensor timing) afterwards, alone (in this
process or a fresh one): nothing else runs while it measures, and no renderer measures anything.
Nothing here names a study: every one comes from the registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from convcost.analyzer.parallel import FreshWorker, started_map
from convcost.reports.sections import Section

from .base import Job, Study, get_study, registered_studies
from .common import AnalysisJob


@dataclass(frozen=True)
class StudyRun:
    """A study and the settings it runs with."""

    study: Study[Any, Any]
    settings: Any

    def jobs(self) -> Sequence[Job]:
        """The study's jobs under these settings."""
        return self.study.jobs(self.settings)

    def assemble(self, results: Mapping[Any, Any]) -> StudyOutcome:
        """The study's result from ``results``."""
        return StudyOutcome(self.study, self.study.assemble(self.settings, results))


@dataclass(frozen=True)
class StudyOutcome:
    """A study's result."""

    study: Study[Any, Any]
    result: Any

    def section(self) -> Section:
        """The study's report section."""
        return self.study.section(self.result)


def report_runs(names: Iterable[str] | None = None) -> list[StudyRun]:
    """The studies named (default: every registered one), in report order, with their report settings.

    Raises:
        ValueError: an unknown name (the message lists the studies).
    """
    chosen = {get_study(name).name for name in names} if names is not None else None
    return [StudyRun(study, study.report_settings()) for study in registered_studies()
            if chosen is None or study.name in chosen]


def gather_jobs(runs: Iterable[StudyRun]) -> list[Job]:
    """Every job of ``runs`` once: native analyses first (the report has those), then the others in order."""
    unique = list(dict.fromkeys(job for run in runs for job in run.jobs()))
    native = [job for job in unique if isinstance(job, AnalysisJob) and job.native]
    return native + [job for job in unique if job not in native]


def _run(job: Job) -> Any:
    return job.run()


def _timed(job: Job) -> bool:
    return bool(getattr(job, "timed", job.isolated))


def _weight(job: Job) -> float:
    return float(getattr(job, "weight", 1))


def run_jobs(jobs: Sequence[Job], workers: int = 1,
             fresh: FreshWorker | None = None) -> Iterator[tuple[Job, Any]]:
    """``(job, result)`` of every job: the shared ones in up to ``workers`` forked processes (heaviest first),
    then the isolated ones: those that do not measure time run in ``fresh`` while the workers count (here, after
    them, without it), and each timed one alone once all of that has finished (in ``fresh`` when given).

    Shared jobs count on ``meta`` tensors, so forking for them is safe whatever this process did
    before. An isolated job's real arithmetic starts OpenMP threads where it runs; in this process,
    only workers that do no tensor arithmetic (the report's chart drawing) may be forked after it,
    and its memory stays with this process. A :class:`~convcost.analyzer.parallel.FreshWorker` (a new
    interpreter, not a fork: a forked child's arithmetic hangs in a process whose OpenMP pool exists)
    keeps both away; the ``report`` command starts one before its own imports.
    """
    shared = sorted((job for job in jobs if not job.isolated), key=_weight, reverse=True)
    untimed = [job for job in jobs if job.isolated and not _timed(job)]
    with started_map(_run, shared, workers) as results:  # the workers are forked before anything is submitted
        started = [(job, fresh.submit(job.run)) for job in untimed] if fresh is not None else []
        try:
            yield from zip(shared, results, strict=True)
            yield from ((job, future.result()) for job, future in started)
        finally:
            for _, future in started:
                future.cancel()  # work not started is dropped when a job fails or the caller stops reading
    if fresh is None:
        yield from ((job, job.run()) for job in untimed)
    for job in jobs:
        if job.isolated and _timed(job):
            yield job, job.run() if fresh is None else fresh.run(job.run)


def assemble(runs: Iterable[StudyRun], results: Mapping[Any, Any]) -> list[StudyOutcome]:
    """Every study of ``runs`` from the results of its jobs.

    Raises:
        KeyError: a job a study needs is missing from ``results``.
    """
    return [run.assemble(results) for run in runs]


def compute(names: Iterable[str] | None = None) -> dict[str, Any]:
    """The named studies (default: all) with their report settings, every job run here: name → result."""
    runs = report_runs(names)
    results = dict(run_jobs(gather_jobs(runs)))
    return {outcome.study.name: outcome.result for outcome in assemble(runs, results)}
