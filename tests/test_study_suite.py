"""Studies as plug-ins: the registry, the shared jobs the report runs once, and a study added from outside."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest

from convcost.analyzer.parallel import FreshWorker
from convcost.cli import app as cli
from convcost.reports.sections import Section
from convcost.studies import (
    AnalysisJob,
    Invocation,
    Study,
    StudyOption,
    get_study,
    register_study,
    registered_studies,
    study_names,
    unregister_study,
)
from convcost.studies.arguments import positive_int
from convcost.studies.dwsep import dwsep_study
from convcost.studies.se import se_study
from convcost.studies.suite import assemble, gather_jobs, report_runs, run_jobs
from convcost.studies.swish import swish_study
from convcost.studies.timing_jobs import ProfileJob


def test_registry_is_in_report_order_with_unique_names() -> None:
    studies = registered_studies()
    assert [s.position for s in studies] == sorted(s.position for s in studies)
    assert len({s.name for s in studies}) == len(studies) == len(study_names())
    assert {"scaling", "dwsep", "se", "swish", "fused", "plan", "conventions"} <= set(study_names())
    names = study_names()
    assert names.index("se") < names.index("fused") < names.index("plan")  # the report's order


def test_no_docstring_lists_the_studies() -> None:
    """The registry is the one list of studies: a package or suite docstring that names them goes stale."""
    import convcost.studies
    import convcost.studies.suite

    for module in (convcost.studies, convcost.studies.suite):
        doc = module.__doc__ or ""
        assert [name for name in study_names() if f"``{name}``" in doc] == [], module.__name__


def test_jobs_list_native_analyses_first_without_repeats() -> None:
    found = gather_jobs(report_runs(["scaling", "se", "conventions"]))
    native = [job for job in found if isinstance(job, AnalysisJob) and job.native]
    # ResNet-50, SE-ResNet-50 and B0 for se, B0 once although conventions needs it too; scaling's B0–B7 count
    # their training step, so they are not the report's plain analyses
    assert [job.model for job in native] == ["resnet50", "se_resnet50", "efficientnet_b0"]
    assert found[:len(native)] == native
    assert found[len(native):] == [AnalysisJob.of(f"efficientnet_b{i}", training=True) for i in range(8)] + [
        ProfileJob(f"efficientnet_b{i}", 5, 2) for i in range(8)] + [
        AnalysisJob("efficientnet_b0", 1, (("se", False),))]


def test_the_report_runs_every_studys_declared_jobs_once() -> None:
    """What the report runs is what the studies declare: each registered study's jobs under its report settings,
    each job once however many studies need it (the scaling, dwsep and latency studies profile some models alike),
    native analyses first (the report has those), then the others in the order the studies declare them. What a
    particular study needs is its own test's business (tests/test_study_NAME.py)."""
    declared = {study.name: list(study.jobs(study.report_settings())) for study in registered_studies()}
    runs = report_runs()
    assert [run.study.name for run in runs] == [*declared]  # every registered study, in report order
    found = gather_jobs(runs)
    assert len(found) == len(set(found))
    every = list(dict.fromkeys(job for jobs in declared.values() for job in jobs))
    native = [job for job in every if isinstance(job, AnalysisJob) and job.native]
    assert found == [*native, *(job for job in every if job not in native)]
    for name, jobs in declared.items():
        assert set(gather_jobs(report_runs([name]))) == set(jobs), name  # a study alone: its own jobs, no more
    # the isolated ones (real tensors: timing, a real training step) keep the studies' order and run after the
    # shared ones, each alone (test_run_jobs_runs_isolated_jobs_last)
    assert [job for job in found if job.isolated] == [job for job in every if job.isolated]


def test_jobs_pickle_for_worker_processes() -> None:
    for job in gather_jobs(report_runs()):
        assert pickle.loads(pickle.dumps(job)) == job
        assert pickle.loads(pickle.dumps(job.run)).__self__ == job


def test_unknown_study() -> None:
    with pytest.raises(ValueError, match="got 'vgg'") as raised:
        report_runs(["vgg"])
    assert all(name in str(raised.value) for name in study_names())


def test_assembled_studies_equal_the_study_functions(study_of) -> None:
    assert study_of("se") == se_study()
    assert study_of("swish") == swish_study()
    assert study_of("dwsep") == dwsep_study()


def test_assemble_names_a_missing_job() -> None:
    with pytest.raises(KeyError, match="TextbookJob"):
        assemble(report_runs(["dwsep"]), {})
    assert assemble([], {}) == []


def test_fused_is_untimed(study_of) -> None:
    fused = study_of("fused")
    assert fused is not None and fused.runs == 0
    assert all(cost.latency_runs == () for cost in fused.stages)
    assert len(fused.stages) == 12  # six stages, each as built and swapped


def test_outcomes_follow_report_order(study_of) -> None:
    runs = report_runs(["plan", "se", "swish"])
    assert [run.study.name for run in runs] == ["se", "swish", "plan"]


# --- running jobs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Echo:
    """A job that returns its value (and whether it was meant to run alone)."""

    value: int
    alone: bool = False

    @property
    def isolated(self) -> bool:
        return self.alone

    def run(self) -> int:
        return self.value


@pytest.mark.parametrize("workers", [1, 2])
def test_run_jobs_runs_isolated_jobs_last(workers: int) -> None:
    jobs = [Echo(1), Echo(2, alone=True), Echo(3), Echo(4)]
    order = [job for job, _ in run_jobs(jobs, workers)]
    assert order == [Echo(1), Echo(3), Echo(4), Echo(2, alone=True)]
    assert dict(run_jobs(jobs, workers)) == {job: job.value for job in jobs}


@dataclass(frozen=True)
class WhereAlone:
    """An isolated job that says which process ran it."""

    @property
    def isolated(self) -> bool:
        return True

    def run(self) -> int:
        return os.getpid()


def test_run_jobs_runs_isolated_jobs_in_a_fresh_worker_when_given_one() -> None:
    with FreshWorker() as fresh:
        results = dict(run_jobs([Echo(1), WhereAlone(), Echo(3)], 2, fresh))
    assert results[Echo(1)] == 1 and results[Echo(3)] == 3
    assert results[WhereAlone()] != os.getpid()
    assert dict(run_jobs([WhereAlone()]))[WhereAlone()] == os.getpid()  # without one: here


# --- a study added from outside: one module's worth of code, nothing else touched -------------


@dataclass(frozen=True)
class DoubleJob:
    """Doubles a number (stands in for an analysis)."""

    value: int

    @property
    def isolated(self) -> bool:
        return False

    def run(self) -> int:
        return 2 * self.value


class Doubling(Study[int, tuple[int, ...]]):
    """A throw-away study: doubles 1..N."""

    name = "doubling"
    title = "doubles every number up to --upto"
    position = 10_000
    options = (StudyOption(("--upto",), "largest number (default: 3)", "sets the doubling study's range",
                           type=positive_int, default=3, metavar="N"),)

    def settings(self, values: Mapping[str, Any]) -> int:
        return int(values["upto"])

    def report_settings(self) -> int:
        return 2

    def jobs(self, settings: int) -> list[DoubleJob]:
        return [DoubleJob(i) for i in range(1, settings + 1)]

    def assemble(self, settings: int, results: Mapping[Any, Any]) -> tuple[int, ...]:
        return tuple(results[DoubleJob(i)] for i in range(1, settings + 1))

    def section(self, result: tuple[int, ...]) -> Section:
        return Section("Doubling", f"{len(result)} numbers doubled.", pd.DataFrame({"doubled": list(result)}))


@pytest.fixture
def doubling() -> Iterator[Study[int, tuple[int, ...]]]:
    study = Doubling()
    register_study(study)
    try:
        yield study
    finally:
        unregister_study(study.name)


def test_a_registered_study_reaches_the_command_line_and_the_report(capsys, doubling, tmp_path) -> None:
    assert get_study("doubling") is doubling and study_names()[-1] == "doubling"
    assert cli.main(["study", "doubling", "--upto", "4", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["title"] == "Doubling" and [row["doubled"] for row in document["rows"]] == [2, 4, 6, 8]
    assert cli.main(["study", "se", "--upto", "4"]) == 2
    assert "--upto sets the doubling study's range; the se study does not take it" in capsys.readouterr().err
    assert cli.main(["report", "--out", str(tmp_path), "--models", "efficientnet_b0", "--jobs", "1",
                     "--studies", "doubling"]) == 0
    assert "(1 models, 1 studies" in capsys.readouterr().out
    assert "<h2>Doubling</h2>" in (tmp_path / "index.html").read_text()
    assert (tmp_path / "sections" / "doubling.csv").read_text() == "doubled\n2\n4\n"


def test_registry_refuses_clashes(doubling) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_study(doubling)

    class Clash(Doubling):
        name = "clash"

    with pytest.raises(ValueError, match="takes position 10000, which 'doubling' has"):
        register_study(Clash())

    class BadName(Doubling):
        name = "Bad-Name"
        position = 10_001

    with pytest.raises(ValueError, match="lower-case identifier"):
        register_study(BadName())

    class Deaf(Study[int, int]):  # declares an option and never reads it
        name, title, position = "deaf", "ignores --loud", 10_002
        options = (StudyOption(("--loud",), "ignored", "is ignored"),)

        def report_settings(self) -> int:
            return 0

        def jobs(self, settings: int) -> list[DoubleJob]:
            return []

        def assemble(self, settings: int, results: Mapping[Any, Any]) -> int:
            return settings

        def section(self, result: int) -> Section:
            return Section("Deaf", "", pd.DataFrame())

    with pytest.raises(ValueError, match="declares options, so it must read them in settings"):
        register_study(Deaf())


def test_plan_is_a_report_section_and_a_command_not_a_study_name() -> None:
    report_only = [study.name for study in registered_studies() if study.invocation is Invocation.REPORT_ONLY]
    assert "plan" in report_only  # ``convcost plan MODEL`` plans any model; the study is the report's section
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["study", "plan"])
