"""``convcost plan`` on any model, and the largest-batch search: the fixed bytes, the exact largest batch, the
search cap for saved bytes that are not linear in the batch, and the tensor-size cap."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch
from helpers import run_cli
from torch import nn

from convcost import load_model
from convcost.analyzer import analyze
from convcost.studies.plan import MAX_SEARCH_BATCH, BatchLimit, PlanModel, largest_batch, training_plan

MAX_ELEMENTS = 2**63 - 1
MIB = 2**20
TIB = 2**40

MODELS = """
from torch import nn


def build():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 10))


def frozen_stem():
    model = build()
    for parameter in model[0].parameters():
        parameter.requires_grad_(False)
    return model
"""
CONV_PARAMS = 3 * 8 * 9 + 8
PARAMS = CONV_PARAMS + 2 * 8 + 8 * 10 + 10  # conv, BatchNorm weight and bias, linear: 330
BUFFERS = 8 + 8 + 1  # BatchNorm running mean and variance, and its batch counter


@pytest.fixture
def models(tmp_path) -> str:
    path = tmp_path / "planned.py"
    path.write_text(MODELS)
    return str(path)



def plan_json(capsys, *argv: str) -> dict[str, Any]:
    code, out, err = run_cli(capsys, "plan", *argv, "--format", "json")
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def fixed_part(document: dict[str, Any]) -> dict[str, Any]:
    (table,) = document["tables"]
    (row,) = table["rows"]
    assert isinstance(row, dict)
    return row


def usage_error(capsys, *argv: str) -> str:
    code, out, err = run_cli(capsys, *argv)
    assert (code, out) == (2, ""), (code, out, err)
    assert "Traceback" not in err
    lines = err.rstrip("\n").splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcost: error: "), err
    return lines[0]


# --- the fixed part ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("optimizer", "states"), [("sgd", 1), ("adam", 2)])
def test_fixed_bytes_of_a_file_model(capsys, models: str, optimizer: str, states: int) -> None:
    document = plan_json(capsys, f"{models}:build", "--input", "1x3x16x16", "--budget", "1MiB", "--optimizer",
                         optimizer, "--estimate")
    fixed = fixed_part(document)
    assert (fixed["optimizer"], fixed["params"]) == (optimizer, PARAMS)
    assert fixed["weight_bytes"] == PARAMS * 4
    assert fixed["gradient_bytes"] == PARAMS * 4
    assert fixed["optimizer_bytes"] == PARAMS * 4 * states  # momentum; Adam's two moments
    assert fixed["buffer_bytes"] == BUFFERS * 4
    assert fixed["fixed_bytes"] == PARAMS * 4 * (2 + states) + BUFFERS * 4
    assert fixed["budget_bytes"] == MIB
    assert document["title"] == f"Training memory plan: {models}:build at 16 px"
    for row in document["rows"]:
        assert row["fixed_bytes"] == fixed["fixed_bytes"]
        assert row["total_bytes"] == row["fixed_bytes"] + row["saved_bytes"]
        assert row["fits"] == (row["total_bytes"] <= MIB)


def test_frozen_parameters_get_no_gradient_or_state(capsys, models: str) -> None:
    fixed = fixed_part(plan_json(capsys, f"{models}:frozen_stem", "--input", "1x3x16x16", "--optimizer", "adam",
                                 "--estimate"))
    trainable = PARAMS - CONV_PARAMS
    assert fixed["weight_bytes"] == PARAMS * 4  # frozen weights are still held
    assert (fixed["gradient_bytes"], fixed["optimizer_bytes"]) == (trainable * 4, trainable * 4 * 2)
    assert fixed["budget_bytes"] is None and fixed["max_batch"] is None  # no budget, no largest batch


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_largest_batch_is_exact_and_checked_by_analysis(capsys, models: str, optimizer: str) -> None:
    fixed = fixed_part(plan_json(capsys, f"{models}:build", "--input", "1x3x16x16", "--budget", "1MiB",
                                 "--optimizer", optimizer, "--estimate"))
    per_sample, constant, total_fixed = (fixed["saved_bytes_per_sample"], fixed["saved_bytes_constant"],
                                         fixed["fixed_bytes"])
    assert fixed["batch_model"] == "linear" and constant == 0 and per_sample > 0
    largest = fixed["max_batch"]
    assert largest == (MIB - total_fixed - constant) // per_sample
    assert fixed["limit"] == "budget"
    module = load_model(f"{models}:build").module
    fits = analyze(module, (largest, 3, 16, 16)).totals.training_bytes
    too_many = analyze(module, (largest + 1, 3, 16, 16)).totals.training_bytes
    assert fits == constant + per_sample * largest  # the extrapolation is what an analysis at that batch says
    assert total_fixed + fits <= MIB < total_fixed + too_many


def test_saved_bytes_per_sample_by_hand(capsys, models: str) -> None:
    fixed = fixed_part(plan_json(capsys, f"{models}:build", "--input", "1x3x16x16", "--budget", "1MiB",
                                 "--estimate"))
    # conv saves its input (3x16x16); BatchNorm in eval and ReLU each save one 8x16x16 map; the linear saves
    # its 8 inputs; float32
    assert fixed["saved_bytes_per_sample"] == 4 * (3 * 16 * 16 + 2 * 8 * 16 * 16 + 8)
    assert fixed["max_batch"] == (MIB - (PARAMS * 12 + BUFFERS * 4)) // (4 * (3 * 16 * 16 + 2 * 8 * 16 * 16 + 8))


def test_efficientnet_b0_with_an_enormous_budget(capsys) -> None:
    budget = 1_000_000 * TIB
    document = plan_json(capsys, "efficientnet_b0", "--budget", "1000000TiB", "--batches", "1", "--estimate")
    fixed = fixed_part(document)
    assert fixed["max_batch"] == 12_467_687_856 and fixed["limit"] == "budget"
    assert fixed["max_batch"] == (budget - fixed["fixed_bytes"] - fixed["saved_bytes_constant"]) \
        // fixed["saved_bytes_per_sample"]
    code, out, _ = run_cli(capsys, "plan", "efficientnet_b0", "--budget", "1000000TiB", "--batches", "1",
                           "--estimate")
    assert code == 0
    assert "the largest batch is 12,467,687,856 with sgd" in " ".join(out.split())
    for old_cap in ("33554431", "33,554,431", "16777215", "16,777,215", "16,777,216"):
        assert old_cap not in out


# --- usage errors ---------------------------------------------------------------------------------


def test_batch_is_refused_in_favour_of_batches(capsys) -> None:
    line = usage_error(capsys, "plan", "efficientnet_b0", "--batch", "4")
    assert "--batches" in line and "instead of --batch" in line


def test_a_dtype_input_is_refused(capsys, models: str) -> None:
    line = usage_error(capsys, "plan", f"{models}:build", "--input", "1x5:int64")
    assert "give --input shapes without a :dtype" in line


# --- not linear in the batch: the search and its cap --------------------------------------------------


class Gram(nn.Module):
    """Saves a batch x batch matrix: saved bytes grow with the square of the batch."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear(x)
        return torch.sigmoid(y @ y.t())


GRAM_FIXED = (4 * 4 + 4) * 4 * 3  # weights, gradients and SGD momentum of the 20 parameters


def gram_saved(batch: int) -> int:
    # the linear saves its input (4 floats a sample), the product saves y (its transpose is a view of the same
    # storage, 4 floats a sample) and the sigmoid its batch x batch output
    return 4 * (4 * batch + 4 * batch + batch * batch)


def test_gram_saved_bytes_are_quadratic() -> None:
    target = PlanModel.of_shapes("gram", Gram(), [(1, 4)])
    assert [target.saved_bytes(batch, torch.float32) for batch in (1, 2, 3, 5, 100)] == [
        gram_saved(batch) for batch in (1, 2, 3, 5, 100)]


def test_a_search_that_reaches_its_cap_says_so() -> None:
    plan = training_plan(PlanModel.of_shapes("gram", Gram(), [(1, 4)]), budget=2**100, batches=(1, 2, 3), exact=False)
    assert plan.batch_model == "measured"
    assert (plan.max_batch, plan.limit) == (MAX_SEARCH_BATCH, BatchLimit.SEARCH)
    assert plan.max_batch_text.startswith(f"at least {MAX_SEARCH_BATCH:,} ")
    assert f"stops at {MAX_SEARCH_BATCH:,}" in plan.max_batch_text
    assert [row.saved_bytes for row in plan.rows] == [gram_saved(batch) for batch in (1, 2, 3)]
    assert plan.fixed_bytes == GRAM_FIXED


def test_a_search_within_the_budget_finds_the_boundary() -> None:
    plan = training_plan(PlanModel.of_shapes("gram", Gram(), [(1, 4)]), budget="1MiB", batches=(1,), exact=False)
    expected = max(n for n in range(1, 1024) if GRAM_FIXED + gram_saved(n) <= MIB)  # 507
    assert (plan.max_batch, plan.limit) == (expected, BatchLimit.BUDGET)
    assert GRAM_FIXED + gram_saved(expected + 1) > MIB
    assert plan.max_batch_text == f"{expected:,}"


def test_largest_batch_against_brute_force() -> None:
    calls: list[int] = []

    def saved(n: int) -> int:
        calls.append(n)
        return n * n

    for cap in (1, 2, 7, 37, 64, 1000):
        for budget in range(0, 40 * 40 + 60, 7):
            calls.clear()
            found = largest_batch(10, saved, budget, cap)
            expected = max((n for n in range(1, cap + 1) if 10 + n * n <= budget), default=0)
            assert found == expected, (cap, budget)
            assert max(calls) <= cap  # never asks about a batch beyond the cap
            assert len(calls) <= 2 * math.ceil(math.log2(cap + 1)) + 2  # doubling, then bisection


def test_largest_batch_returns_the_cap_when_everything_fits() -> None:
    assert largest_batch(0, lambda n: n * n, 2**80, 1000) == 1000
    assert largest_batch(0, lambda n: n * n, 1000 * 1000, 1000) == 1000  # the cap fits exactly
    assert largest_batch(0, lambda n: n * n, 1000 * 1000 - 1, 1000) == 999
    assert largest_batch(5, lambda n: n * n, 5, 1000) == 0  # not even one sample


# --- the tensor-size cap ------------------------------------------------------------------------------


def test_a_linear_model_is_capped_by_the_largest_tensor() -> None:
    target = PlanModel.of_shapes("linear", nn.Linear(3, 2), [(1, 3)])
    plan = training_plan(target, budget=2**100, batches=(1, 2), exact=False)
    assert plan.batch_model == "linear" and target.sample_elements == 3
    assert (plan.max_batch, plan.limit) == (MAX_ELEMENTS // (3 * 4), BatchLimit.TENSOR)  # float32: 4 bytes
    assert plan.max_batch_text == f"{MAX_ELEMENTS // 12:,} (a larger batch would make an input of more than 2^63 - 1 " \
                                  "bytes)"


def test_several_inputs_share_the_tensor_cap() -> None:
    class Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(5, 2)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return self.a(x) + self.b(y)

    plan = training_plan(PlanModel.of_shapes("pair", Pair(), [(1, 3), (1, 5)]), budget=2**100, batches=(1,),
                         exact=False)
    assert (plan.max_batch, plan.limit) == (MAX_ELEMENTS // (8 * 4), BatchLimit.TENSOR)
    assert plan.input_text == "input 1x3, 1x5"


class WideGram(nn.Module):
    """Not linear in the batch, and one sample is 2^40 elements: the tensor cap is below the search cap."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * self.scale
        return torch.sigmoid(y @ y.t())


def test_a_search_capped_by_the_tensor_size_does_not_crash() -> None:
    # the cap counts bytes: a float32 meta tensor of more than 2^63 - 1 bytes cannot be created
    target = PlanModel.of_shapes("wide", WideGram(), [(1, 2**40)])
    plan = training_plan(target, budget=2**100, batches=(1,), exact=False)
    assert plan.batch_model == "measured" and plan.limit is BatchLimit.TENSOR
    assert 0 < plan.max_batch <= MAX_ELEMENTS // (2**40 * 4)
    assert target.saved_bytes(plan.max_batch, torch.float32) > 0  # the batch it reports can be analysed


# --- the exact plan on the command line ----------------------------------------------------------------


def test_exact_plan_rows_carry_the_training_step(capsys, models: str) -> None:
    document = plan_json(capsys, f"{models}:build", "--input", "1x3x8x8", "--batches", "1,2,7", "--allowance", "1KiB",
                         "--budget", "1MiB")
    rows = document["rows"]
    assert [row["batch"] for row in rows] == [1, 2, 7]
    model = load_model(f"{models}:build").module
    for row in rows:
        step = analyze(model, (row["batch"], 3, 8, 8), training=True, optimizer="sgd-momentum").training
        assert step is not None
        assert row["total_bytes"] == step.peak_bytes + 1024
        assert row["peak_moment"] == step.peak_moment
    assert "the largest batch is" in document["intro"]
    fixed = fixed_part(document)
    assert (fixed["curve"], fixed["allowance_bytes"], fixed["limit"]) == ("affine", 1024, "budget")
    largest = fixed["max_batch"]

    def peak(batch: int) -> int:
        step = analyze(model, (batch, 3, 8, 8), training=True, optimizer="sgd-momentum").training
        assert step is not None
        return step.peak_bytes + 1024

    assert peak(largest) <= MIB < peak(largest + 1)
    # --exact is the default, kept for scripts
    assert plan_json(capsys, f"{models}:build", "--input", "1x3x8x8", "--batches", "1,2,7", "--allowance", "1KiB",
                     "--budget", "1MiB", "--exact") == document


def test_the_exact_largest_batch_under_an_enormous_budget(capsys) -> None:
    from convcost import create_model

    fixed = fixed_part(plan_json(capsys, "efficientnet_b0", "--budget", "1000000TiB", "--batches", "1"))
    largest = fixed["max_batch"]
    assert fixed["limit"] == "budget" and largest > 10**10
    model = create_model("efficientnet_b0", device="meta")

    def peak(batch: int) -> int:
        step = analyze(model, (batch, 3, 224, 224), training=True, optimizer="sgd-momentum").training
        assert step is not None
        return step.peak_bytes

    assert peak(largest) <= 1_000_000 * TIB < peak(largest + 1)  # the closed form, checked ten billion samples out


def test_plan_freezes_by_pattern(capsys, models: str) -> None:
    frozen = fixed_part(plan_json(capsys, f"{models}:build", "--input", "1x3x8x8", "--freeze", "0.*",
                                  "--optimizer", "adam", "--batches", "4"))
    trainable = PARAMS - CONV_PARAMS
    assert (frozen["gradient_bytes"], frozen["optimizer_bytes"]) == (trainable * 4, trainable * 4 * 2)
    document = plan_json(capsys, f"{models}:build", "--input", "1x3x8x8", "--trainable", "5.*",
                         "--optimizer", "adamw", "--batches", "4")
    model = load_model(f"{models}:build").module
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith("5."))
    step = analyze(model, (4, 3, 8, 8), training=True, optimizer="adamw").training
    assert step is not None
    (row,) = document["rows"]
    assert row["total_bytes"] == step.peak_bytes
    line = usage_error(capsys, "plan", f"{models}:build", "--input", "1x3x8x8", "--freeze", "nothing.*")
    assert "nothing.*" in line


def test_exact_and_estimate_together_are_a_usage_error(capsys, models: str) -> None:
    line = usage_error(capsys, "plan", f"{models}:build", "--input", "1x3x8x8", "--exact", "--estimate")
    assert line == ("convcost: error: --exact and --estimate exclude each other: the plan is exact unless "
                    "--estimate is given")
