"""Study ``plan``: training memory by batch size, budgets, and the EfficientNet-B6 @ 512 remark."""

from __future__ import annotations

from functools import cache

import pytest
from helpers import figure_of

from convcost.studies.common import analyze_model
from convcost.studies.plan import TrainingPlan, largest_batch, parse_bytes, plan_section, training_plan

GIB = 1024**3


@pytest.mark.parametrize(
    ("text", "expected"),
    [("16GiB", 16 * 2**30), ("512MiB", 512 * 2**20), ("1.5 KiB", 1536), ("8GB", 8_000_000_000),
     ("10kb", 10_000), ("3 MB", 3_000_000), ("1TiB", 2**40), ("1000B", 1000), ("42", 42), (7, 7)],
)
def test_parse_bytes(text: str | int, expected: int) -> None:
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["16 gigs", "GiB", "-1GB", "", "1e9", "16 GiB extra"])
def test_parse_bytes_names_the_valid_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"16GiB.*KiB, MiB, GiB"):
        parse_bytes(text)


@cache
def b0_plan(optimizer: str = "sgd") -> TrainingPlan:
    """The quick eval-mode estimate alone."""
    return training_plan("efficientnet_b0", optimizer=optimizer, budget="4GiB", batches=(1, 2, 32), exact=False)


def test_fixed_bytes_sgd_and_adam() -> None:
    sgd, adam = b0_plan("sgd"), b0_plan("adam")
    weights = 5_288_548 * 4
    buffers = 42_065 * 4  # running mean and var of every BN, plus 49 counters
    assert (sgd.weight_bytes, sgd.gradient_bytes, sgd.optimizer_bytes) == (weights, weights, weights)
    assert sgd.fixed_bytes == 3 * weights + buffers == 63_630_836
    assert adam.optimizer_bytes == 2 * weights
    assert adam.fixed_bytes == 4 * weights + buffers == 84_785_028


def test_saved_bytes_are_linear_in_batch() -> None:
    plan = b0_plan()
    # eval-mode BatchNorm saves no batch statistics, so nothing is batch-independent
    assert plan.saved_bytes_constant == 0
    assert plan.batch_model == "linear"
    batch_1 = analyze_model("efficientnet_b0", batch=1).totals.training_bytes
    batch_5 = analyze_model("efficientnet_b0", batch=5).totals.training_bytes
    assert plan.row(1).saved_bytes == batch_1 == plan.saved_bytes_per_sample == 88_188_896
    assert batch_5 == 5 * plan.saved_bytes_per_sample
    # batch 32 is the swish study's figure for nn.SiLU: 32 · 88,188,896
    assert plan.row(32).saved_bytes == 2_822_044_672


def test_largest_batch_within_budget_is_the_boundary() -> None:
    plan = b0_plan()
    assert plan.budget_bytes == 4 * GIB
    # (4,294,967,296 − 63,630,836) // 88,188,896 = 47
    assert plan.max_batch == (4 * GIB - plan.fixed_bytes - plan.saved_bytes_constant) // (
        plan.saved_bytes_per_sample) == 47
    fits = analyze_model("efficientnet_b0", batch=47).totals.training_bytes + plan.fixed_bytes
    too_big = analyze_model("efficientnet_b0", batch=48).totals.training_bytes + plan.fixed_bytes
    assert fits <= 4 * GIB < too_big
    assert [row.fits for row in plan.rows] == [True, True, True]


def test_efficientnet_b6_at_512_batch_24_does_not_fit_16_gib() -> None:
    plan = training_plan("efficientnet_b6", 512, optimizer="sgd", budget="16GiB", batches=(8, 9, 24))
    # weights, gradients, momentum and buffers: 3 · 43,040,704 · 4 + 224,566 · 4
    assert plan.fixed_bytes == 517_386_712
    assert plan.saved_bytes_constant == 0
    batch_24 = plan.row(24)
    assert not batch_24.fits and batch_24.total_bytes > 16 * GIB
    assert batch_24.total_bytes / GIB == pytest.approx(46.7, abs=0.1)  # about three times the card
    assert plan.max_batch == 8
    assert plan.row(8).fits and not plan.row(9).fits


def test_largest_batch_searches_a_non_linear_curve() -> None:
    def saved(batch: int) -> int:
        return 10 * batch + batch * batch

    brute = max(n for n in range(1, 1000) if 5 + saved(n) <= 4000)
    assert largest_batch(5, saved, 4000) == brute == 58
    assert largest_batch(5, saved, 10) == 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="sgd, sgd-momentum, adam, adamw"):
        training_plan("efficientnet_b0", optimizer="rmsprop")
    with pytest.raises(ValueError, match="batch sizes"):
        training_plan("efficientnet_b0", batches=(0,))


def test_dataframe_and_caveats() -> None:
    plan = b0_plan()
    frame = plan.to_dataframe()
    assert list(frame["batch"]) == [1, 2, 32]
    assert list(frame["total_bytes"]) == [plan.fixed_bytes + row.saved_bytes for row in plan.rows]
    assert set(frame["budget_bytes"]) == {4 * GIB}
    assert any("eval mode" in caveat for caveat in plan.caveats)
    assert list(frame["estimate_bytes"]) == list(frame["total_bytes"]) and set(frame["peak_moment"]) == {""}


# --- the report section -----------------------------------------------------------------


def test_plan_section(study_of) -> None:
    section = plan_section(study_of("plan"))
    assert section.title == "Training memory plan: efficientnet_b6 at 512 px"
    for needle in ("counted exactly", "The peak (Total bytes) is affine in the batch",
                   "493.42 MiB with sgd, 657.61 MiB with adam",
                   "Within 16.00 GiB the largest batch is 8 with sgd, 8 with adam "
                   "(the estimate would allow 8, 7)",
                   "batch 24 runs out of memory on a 16 GB V100: here batch 24 needs 46.70 GiB "
                   "with sgd, 2.92× the budget, so it does not fit"):
        assert needle in section.intro, needle
    sgd = section.frame[section.frame["optimizer"] == "sgd"].set_index("batch")
    assert bool(sgd.loc[8, "fits"]) and not bool(sgd.loc[16, "fits"])
    assert sgd.loc[24, "peak_moment"] == "backward of head.act"
    (fixed,) = (table.frame for table in section.tables)
    assert list(fixed["max_batch"]) == [8, 8] and list(fixed["fixed_bytes"]) == [517_386_712, 689_549_528]
    assert list(fixed["estimate_max_batch"]) == [8, 7]  # the estimate holds every gradient with every activation
    assert len(section.notes) == 3  # the exact plan's caveats
    (axes,) = figure_of(section).axes
    assert 17_179_869_184 in [line.get_ydata()[0] for line in axes.get_lines()]  # the budget line
    assert {line.get_xdata()[0] for line in axes.get_lines() if "largest" in line.get_label()} == {8}


# --- the exact plan: the training step counted, at every batch --------------------------------------


def step_peak(model, batch: int, optimizer: str = "sgd-momentum", sample: tuple[int, ...] = (3, 224, 224)
              ) -> tuple[int, str]:
    """The training step's peak and its moment, analysed directly at ``batch`` on inputs of ``sample``."""
    from convcost import analyze as analyze_any

    step = analyze_any(model, (batch, *sample), training=True, optimizer=optimizer).training
    assert step is not None
    return step.peak_bytes, step.peak_moment


@cache
def b0_exact() -> TrainingPlan:
    return training_plan("efficientnet_b0", budget="4GiB", batches=(1, 2, 5, 24), allowance="600MiB")


def test_the_exact_plan_is_the_training_step_at_every_batch() -> None:
    from convcost.architectures import create_model

    plan = b0_exact()
    assert plan.exact and plan.curve == "affine" and plan.allowance_bytes == 600 * 2**20
    model = create_model("efficientnet_b0", device="meta")
    for row in plan.rows:  # batches 5 and 24 come from the curve, not from an analysis at that batch
        peak, moment = step_peak(model, row.batch)  # the plan's sgd keeps a momentum buffer
        assert (row.total_bytes, row.peak_moment) == (peak + 600 * 2**20, moment)
        assert row.fits == (row.total_bytes <= 4 * GIB)
    assert plan.row(1).total_bytes == 141_073_024 + 600 * 2**20
    assert plan.row(24).total_bytes == 2_176_414_632 + 600 * 2**20


def test_the_exact_largest_batch_is_the_boundary() -> None:
    from convcost.architectures import create_model

    plan = b0_exact()
    largest = plan.max_batch
    assert largest == 40 and plan.limit == "budget"
    model = create_model("efficientnet_b0", device="meta")
    room = 4 * GIB - 600 * 2**20
    assert step_peak(model, largest)[0] <= room < step_peak(model, largest + 1)[0]
    assert plan.estimate_max_batch == 40


def test_an_exact_plan_follows_frozen_parameters_and_the_optimizer() -> None:
    from convcost.architectures import create_model
    from convcost.studies.plan import PlanModel

    model = create_model("efficientnet_b0", device="meta")
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith("head") or name.startswith("classifier"))
    target = PlanModel.of_shapes("b0-head", model, [(1, 3, 224, 224)])
    for optimizer, counted in (("sgd", "sgd-momentum"), ("adamw", "adamw")):
        plan = training_plan(target, optimizer=optimizer, batches=(4,))
        assert plan.rows[0].total_bytes == step_peak(model, 4, counted)[0]
    trained = training_plan(target, optimizer="adam", batches=(4,), exact=False)
    assert trained.gradient_bytes == sum(p.numel() for p in model.parameters() if p.requires_grad) * 4


def test_a_plan_whose_memory_is_not_affine_in_the_batch_analyses_each_batch() -> None:
    import torch
    from torch import nn

    from convcost.studies.plan import PlanModel

    class Gram(nn.Module):
        """Saves a batch × batch product: its bytes grow with the square of the batch."""

        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(16, 16)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.fc(x)
            return (y @ y.T).relu() @ y

    model = Gram()
    target = PlanModel.of_shapes("gram", model, [(1, 16)])
    plan = training_plan(target, batches=(4, 100), budget="1MiB")
    assert plan.curve == "measured"
    def peak(batch: int) -> int:
        return step_peak(model, batch, sample=(16,))[0]

    assert [row.total_bytes for row in plan.rows] == [peak(4), peak(100)]
    largest = plan.max_batch
    assert largest is not None and peak(largest) <= 2**20 < peak(largest + 1)


def test_plans_under_several_optimizers_share_their_analyses() -> None:
    from convcost.studies.plan import training_plans

    together = training_plans("efficientnet_b0", optimizers=("sgd", "adam", "adamw"), batches=(1, 8), budget="2GiB")
    alone = tuple(training_plan("efficientnet_b0", optimizer=optimizer, batches=(1, 8), budget="2GiB")
                  for optimizer in ("sgd", "adam", "adamw"))
    assert together == alone
    sgd, adam, _ = together
    # Adam keeps a second moment per trainable element: 4 bytes more per parameter at every batch
    assert [a.total_bytes - s.total_bytes for s, a in zip(sgd.rows, adam.rows, strict=True)] == [4 * 5_288_548] * 2
    with pytest.raises(ValueError, match="got none"):
        training_plans("efficientnet_b0", optimizers=())


def test_a_model_that_cannot_train_on_one_sample_is_planned_from_batch_2() -> None:
    from torch import nn

    from convcost.analyzer import AnalysisError
    from convcost.studies.plan import PlanModel

    # a training-mode BatchNorm1d needs two samples: eager training refuses batch 1, and so does the plan
    model = nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    target = PlanModel.of_shapes("bn1d", model, [(1, 12)])
    plan = training_plan(target, batches=(2, 5, 100), budget="64KiB")
    assert plan.curve == "affine"

    def peak(batch: int) -> int:
        return step_peak(model, batch, sample=(12,))[0]

    assert [row.total_bytes for row in plan.rows] == [peak(2), peak(5), peak(100)]
    largest = plan.max_batch
    assert largest is not None and largest > 2 and peak(largest) <= 64 * 1024 < peak(largest + 1)
    with pytest.raises(AnalysisError, match=r"at batch 1: plan batch sizes the model can train on"):
        training_plan(target, batches=(1, 2))


def test_a_batch_of_one_off_the_line_is_analysed_on_its_own() -> None:
    import torch
    from torch import nn

    from convcost.studies.plan import PlanModel

    class Transposed(nn.Module):
        """At batch 1 the transpose is already contiguous, so the copy is free: batch 1 is off the line."""

        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x.transpose(0, 1).contiguous())

    model = Transposed()
    plan = training_plan(PlanModel.of_shapes("t", model, [(1, 5, 4)]), batches=(1, 2, 9), budget="4KiB")
    assert plan.curve == "affine"
    one, two, nine = (step_peak(model, batch, sample=(5, 4))[0] for batch in (1, 2, 9))
    assert [row.total_bytes for row in plan.rows] == [one, two, nine]
    assert one < two
    for budget, largest in ((one, 1), (one - 1, 0), (two, 2)):
        assert training_plan(PlanModel.of_shapes("t", model, [(1, 5, 4)]), batches=(1,),
                             budget=budget).max_batch == largest


def test_the_report_plans_every_optimizer_from_one_job() -> None:
    from convcost.studies import get_study
    from convcost.studies.plan import PlanJob

    study = get_study("plan")
    # one job: the SGD and Adam plans share its analyses
    assert list(study.jobs(study.report_settings())) == [
        PlanJob("efficientnet_b6", 512, parse_bytes("16GiB"), ("sgd", "adam"))]
