"""The model never changes: hostile fixtures, every engine, success or failure, each checked against a full snapshot.

A snapshot holds, for every module (shared ones under each name): its identity, class and
training flag; every parameter and buffer (identity, ``_version``, values); every other
``__dict__`` entry's identity, and the identities of the items of its lists, tuples and dicts
(hook tables included).
"""

from __future__ import annotations

import pytest
import torch
from helpers import assert_unchanged, snapshot
from torch import nn
from torch.nn.utils import parametrizations

from convcost.analyzer import ALL, AnalysisError, Execution, analyze

ENGINES = ["dispatch", "analytic", "fvcore", ALL]


class Caching(nn.Module):
    """Assigns plain tensor attributes during forward, as torchvision's AnchorGenerator does."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.anchors = [torch.zeros(2)]
        self.scale = torch.ones(1)
        self.table: dict[str, torch.Tensor] = {"a": torch.zeros(1)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.anchors = [anchor.to(x.device) for anchor in self.anchors]
        self.scale = self.scale.to(x.device)
        self.table["b"] = x.new_zeros(1)
        self.last_input = x
        return self.conv(x) * self.scale


class Counting(nn.Module):
    """A forward that updates buffers in place: a counter and an exponential moving average."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.register_buffer("ema", torch.zeros(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        self.calls += 1
        self.ema.mul_(0.9).add_(0.1 * y.mean((0, 2, 3)))
        return y


class Observed(nn.Module):
    """A quantization observer records the min and max it sees in its buffers."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.observer = torch.ao.quantization.MinMaxObserver()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.observer(self.conv(x))


class SpectralTrain(nn.Module):
    """Spectral norm in train mode: reading the weight runs a power iteration on ``_u`` and ``_v``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = parametrizations.spectral_norm(nn.Conv2d(3, 4, 3))
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean((2, 3)))


class SharedTied(nn.Module):
    """One module called twice, and two linears sharing a weight."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.encode = nn.Linear(3, 3, bias=False)
        self.decode = nn.Linear(3, 3, bias=False)
        self.decode.weight = self.encode.weight
        self.again = self.conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.again(self.conv(x)).mean((2, 3))
        return self.decode(self.encode(y))


class DataDependent(nn.Module):
    """Keeps the positive activations: shapes depend on values, so the walk needs real tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("seen", torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        self.seen += 1
        self.cached = y
        return y[y > 0]


class Raising(Caching):
    """Changes attributes, then fails."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        super().forward(x)
        raise ValueError("this model fails after changing its attributes")


class Interrupted(Counting):
    """Changes attributes, then the user presses Ctrl-C."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.note = x
        self.conv(x)
        raise KeyboardInterrupt


def hooked(model: nn.Module) -> nn.Module:
    model.conv.register_forward_hook(lambda module, args, output: None)
    model.conv.register_forward_pre_hook(lambda module, args: None)
    return model


SUCCEEDING = {
    "caching": Caching, "counting": Counting, "observed": Observed, "spectral-train": SpectralTrain,
    "shared-tied": SharedTied,
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fixture", SUCCEEDING)
@pytest.mark.parametrize("training", [False, True])
def test_analysis_leaves_the_model_as_it_was(fixture: str, engine: str, training: bool) -> None:
    model = hooked(SUCCEEDING[fixture]()).train(training)
    before = snapshot(model)
    analysis = analyze(model, (1, 3, 8, 8), engine=engine)
    assert_unchanged(before, snapshot(model))
    assert analysis.execution is Execution.META and analysis.totals.macs > 0
    assert analysis.disagreements == ()


def test_spectral_norm_weight_is_counted_without_a_power_iteration() -> None:
    model = SpectralTrain().train()
    u = model.conv.parametrizations.weight[0]._u.clone()
    analysis = analyze(model, (1, 3, 8, 8))
    assert torch.equal(model.conv.parametrizations.weight[0]._u, u)
    assert analysis.layer("conv").check is not None and analysis.layer("conv").check.module_params == 4 * 27 + 4


@pytest.mark.parametrize("engine", ["dispatch", "analytic"])
def test_a_data_dependent_model_is_walked_on_a_copy(engine: str) -> None:
    model = hooked(DataDependent())
    before = snapshot(model)
    analysis = analyze(model, (1, 3, 8, 8), engine=engine)
    assert_unchanged(before, snapshot(model))
    assert analysis.execution is Execution.REAL and "cannot run on meta tensors" in analysis.execution_reason
    assert analysis.totals.macs == 4 * 27 * 36  # the conv: 4 outputs · 3·3·3 weights · 6×6 positions
    assert analysis.totals.params == 4 * 27 + 4


def test_a_failing_forward_changes_nothing_and_returns_what_it_could_count() -> None:
    model = hooked(Raising())
    before = snapshot(model)
    with pytest.raises(AnalysisError, match="fails after changing its attributes") as raised:
        analyze(model, (1, 3, 8, 8))
    assert_unchanged(before, snapshot(model))
    partial = raised.value.partial
    assert partial is not None and not partial.complete
    assert partial.totals.params == 4 * 27 + 4 and partial.layer("conv").macs == 4 * 27 * 36


def test_a_keyboard_interrupt_changes_nothing() -> None:
    model = hooked(Interrupted())
    before = snapshot(model)
    with pytest.raises(KeyboardInterrupt):
        analyze(model, (1, 3, 8, 8))
    assert_unchanged(before, snapshot(model))


def test_execution_can_be_chosen() -> None:
    real = analyze(Counting(), (1, 3, 8, 8), execution="real")
    meta = analyze(Counting(), (1, 3, 8, 8), execution=Execution.META)
    assert (real.execution, meta.execution) == (Execution.REAL, Execution.META)
    assert real.totals.macs == meta.totals.macs and real.totals.params == meta.totals.params
    with pytest.raises(AnalysisError, match="nonzero"):
        analyze(DataDependent(), (1, 3, 8, 8), execution="meta")
    with pytest.raises(ValueError, match="execution must be one of meta, real; got 'gpu'"):
        analyze(Counting(), (1, 3, 8, 8), execution="gpu")


def test_nested_input_shapes_are_reported() -> None:
    class TakesAList(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, images: list[torch.Tensor]) -> list[torch.Tensor]:
            return [self.conv(image[None]) for image in images]

    analysis = analyze(TakesAList(), ([torch.rand(3, 8, 8), torch.rand(3, 10, 10)],))
    assert analysis.input_shapes == ((3, 8, 8), (3, 10, 10))
    assert analysis.totals.macs == 4 * 27 * (36 + 64)


@pytest.mark.parametrize("change", ["forward", "attribute", "hook", "flag", "in place"])
def test_the_snapshot_sees_every_kind_of_change(change: str) -> None:
    model = hooked(Caching())
    before = snapshot(model)
    if change == "forward":
        model(torch.rand(1, 3, 8, 8))  # reassigns attributes
    elif change == "attribute":
        model.anchors.append(torch.zeros(1))
    elif change == "hook":
        model.conv.register_forward_hook(lambda module, args, output: None)
    elif change == "flag":
        model.conv.train(not model.conv.training)
    else:
        with torch.no_grad():
            model.conv.bias.add_(1)
    with pytest.raises(AssertionError):
        assert_unchanged(before, snapshot(model))


def test_reports_say_how_the_walk_ran() -> None:
    from convcost.reports.export import analysis_json
    from convcost.reports.table import analysis_text

    analysis = analyze(DataDependent(), (1, 3, 8, 8))
    document = analysis_json(analysis)
    assert (document["execution"], document["complete"]) == ("real", True)
    assert "cannot run on meta tensors" in document["execution_reason"]
    assert document["compared_macs"] == 4 * 27 * 36
    assert "Walked on real tensors (a copy of the model)" in analysis_text(analysis)
    assert "Walked on real tensors" not in analysis_text(analyze(Counting(), (1, 3, 8, 8)))
