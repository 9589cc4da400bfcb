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
    return training_plan("efficientnet_b0", optimizer=optimizer, budget="4GiB", batches=(1, 2, 32))


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
    with pytest.raises(ValueError, match="sgd, adam"):
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


# --- the report section -----------------------------------------------------------------


def test_plan_section(study_of) -> None:
    section = plan_section(study_of("plan"))
    assert section.title == "Training memory plan: efficientnet_b6 at 512 px"
    for needle in ("517,386,712 B (493.42 MiB) with sgd, 689,549,528 B (657.61 MiB) with adam",
                   "grow by 2,069,696,448 B (1.93 GiB) per image (linear in the batch)",
                   "Within 17,179,869,184 B (16.00 GiB) the largest batch is 8 with sgd, 7 with adam",
                   "batch 24 runs out of memory on a 16 GB V100: here batch 24 needs 50,190,101,464 B (46.74 GiB) "
                   "with sgd, 2.9× the budget, so it does not fit"):
        assert needle in section.intro, needle
    sgd = section.frame[section.frame["optimizer"] == "sgd"].set_index("batch")
    assert bool(sgd.loc[8, "fits"]) and not bool(sgd.loc[16, "fits"])
    (_, fixed), = section.tables
    assert list(fixed["max_batch"]) == [8, 7] and list(fixed["fixed_bytes"]) == [517_386_712, 689_549_528]
    assert len(section.notes) == 4  # the plan's caveats
    (axes,) = figure_of(section).axes
    assert 17_179_869_184 in [line.get_ydata()[0] for line in axes.get_lines()]  # the budget line
    assert {line.get_xdata()[0] for line in axes.get_lines() if "largest" in line.get_label()} == {7, 8}


# --- the exact plan: each batch's training step counted --------------------------------------


def test_the_exact_plan_counts_each_batchs_training_step() -> None:
    from convcost import analyze as analyze_any
    from convcost.architectures import create_model

    plan = training_plan("efficientnet_b0", budget="4GiB", batches=(1, 2), exact=True, allowance="600MiB")
    model = create_model("efficientnet_b0", device="meta")
    allowance = 600 * 2**20
    for row in plan.rows:
        step = analyze_any(model, (row.batch, 3, 224, 224), training=True, optimizer="sgd-momentum").training
        assert step is not None
        assert row.exact_bytes == step.peak_bytes + allowance  # sgd in a plan keeps a momentum buffer
        assert row.exact_fits
    largest = plan.exact_max_batch
    assert largest is not None and 0 < largest < plan.max_batch  # the exact step needs more than the estimate

    def exact(batch: int) -> int:
        step = analyze_any(model, (batch, 3, 224, 224), training=True, optimizer="sgd-momentum").training
        assert step is not None
        return step.peak_bytes + allowance

    assert exact(largest) <= 4 * GIB < exact(largest + 1)


def test_an_allowance_needs_the_exact_plan() -> None:
    with pytest.raises(ValueError, match="an allowance applies to the exact plan"):
        training_plan("efficientnet_b0", allowance="600MiB")
    plain = b0_plan()
    assert not plain.exact and all(row.exact_bytes is None for row in plain.rows)
