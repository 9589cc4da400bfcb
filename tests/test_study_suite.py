"""The report's studies from shared jobs: what each study needs, and the same results as the study functions."""

from __future__ import annotations

import pickle

import pytest

from analyzer.studies import se_study, swish_study
from analyzer.studies.dwsep import dwsep_study
from analyzer.studies.suite import (
    STUDIES,
    AnalysisSpec,
    FusedSpec,
    PlanSpec,
    StudyResults,
    TextbookSpec,
    assemble,
    jobs,
)


def test_jobs_list_native_analyses_first_without_repeats() -> None:
    found = jobs(["scaling", "se", "conventions"])
    native = [job for job in found if isinstance(job, AnalysisSpec) and job.native]
    # B0–B7 for scaling, ResNet-50 and SE-ResNet-50 for se; B0 once although se and conventions need it too
    assert [job.model for job in native] == [f"efficientnet_b{i}" for i in range(8)] + ["resnet50", "se_resnet50"]
    assert found[:len(native)] == native
    assert found[len(native):] == [AnalysisSpec("efficientnet_b0", 1, (("se", False),))]


def test_jobs_of_every_study() -> None:
    found = jobs(STUDIES)
    assert len(found) == len(set(found))
    assert TextbookSpec() in found and FusedSpec("efficientnet_v2_s") in found
    assert [job for job in found if isinstance(job, PlanSpec)] == [
        PlanSpec("efficientnet_b6", 512, "16GiB", "sgd"), PlanSpec("efficientnet_b6", 512, "16GiB", "adam")]
    swish = [job for job in found if isinstance(job, AnalysisSpec) and job.batch == 32]
    assert [dict(job.overrides)["activation"] for job in swish] == ["swish", "memory_efficient_swish", "silu"]
    separable = [job.model for job in found if isinstance(job, AnalysisSpec) and ("separable", False) in job.overrides]
    assert separable == ["mobilenet_v2", "efficientnet_b0", "efficientnet_b7"]
    # 8 B-models, MobileNetV2, ResNet-50, SE-ResNet-50 native; 3 + 1 + 3 other analyses; textbook, fused, 2 plans
    assert len(found) == 11 + 7 + 4


def test_jobs_pickle_for_worker_processes() -> None:
    for job in jobs(STUDIES):
        assert pickle.loads(pickle.dumps(job.run)).__self__ == job


def test_unknown_study() -> None:
    with pytest.raises(ValueError, match="studies are scaling, dwsep, se, swish, fused, plan, conventions"):
        jobs(["vgg"])


def test_assembled_studies_equal_the_study_functions(study_of) -> None:
    assert study_of("se").se == se_study()
    assert study_of("swish").swish == swish_study()
    assert study_of("dwsep").dwsep == dwsep_study()


def test_assemble_names_a_missing_job() -> None:
    with pytest.raises(KeyError, match="TextbookSpec"):
        assemble(["dwsep"], {})
    assert assemble([], {}) == StudyResults()


def test_fused_is_untimed(study_of) -> None:
    fused = study_of("fused").fused
    assert fused is not None and fused.runs == 0
    assert all(cost.latency_runs == () for cost in fused.stages)
    assert len(fused.stages) == 12  # six stages, each as built and swapped
