"""The model never changes: hostile fixtures, every engine, success or failure, each checked against a full snapshot.

A snapshot holds, for every module (shared ones under each name): its identity, class and
training flag; every parameter and buffer (identity, ``_version``, values); every other
``__dict__`` entry: a plain tensor like a parameter, a list, tuple, dict or set by its identity and
its items, recursively (nested containers, and tensors in them by identity, ``_version`` and values),
anything else by identity (hook tables included).
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


class CounterAttribute(nn.Module):
    """A step counter kept in a plain tensor attribute (not a buffer), updated in place."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.step = torch.zeros((), dtype=torch.long)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.step += 1
        return self.conv(x) * (1 + int(self.step))  # reads the value back, as a schedule would


class EmaAttribute(nn.Module):
    """An exponential moving average in a plain tensor attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.avg = torch.ones(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.avg.mul_(0.9).add_(0.1)
        return self.conv(x)


class TupleAttribute(nn.Module):
    """Tensors in a tuple attribute, one updated in place."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.pair = (torch.zeros(2), torch.ones(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.pair[0].add_(1)
        return self.conv(x)


class NestedDict(nn.Module):
    """A dict of dicts of tensors: an inner tensor updated in place, then replaced, and a key added inside."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.cache: dict[str, dict[str, torch.Tensor]] = {"a": {"k": torch.zeros(3)}}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.cache["a"]["k"].add_(1)
        self.cache["a"]["k"] = x.new_zeros(3)
        self.cache["a"]["new"] = x.new_ones(1)
        self.cache["b"] = {}
        return self.conv(x)


class ListAppend(nn.Module):
    """A list of lists of tensors: appended to at both levels, an inner tensor updated in place."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.hist: list[list[torch.Tensor]] = [[torch.zeros(2)]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.hist[0][0].add_(5)
        self.hist[0].append(x.new_zeros(1))
        self.hist.append([])
        return self.conv(x)


PLAIN_ATTRIBUTES = {
    "counter": CounterAttribute, "ema": EmaAttribute, "tuple": TupleAttribute, "nested-dict": NestedDict,
    "list-append": ListAppend,
}


def raising(base: type[nn.Module], error: type[BaseException] = ValueError) -> nn.Module:
    """``base``, whose forward raises ``error`` after it has changed what it changes."""

    class Raising(base):  # type: ignore[misc, valid-type]
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            super().forward(x)
            raise error("this model fails after changing its attributes")

    return Raising()


def hooked(model: nn.Module) -> nn.Module:
    model.conv.register_forward_hook(lambda module, args, output: None)
    model.conv.register_forward_pre_hook(lambda module, args: None)
    return model


SUCCEEDING = {
    "caching": Caching, "counting": Counting, "observed": Observed, "spectral-train": SpectralTrain,
    "shared-tied": SharedTied, **PLAIN_ATTRIBUTES,
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


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fixture", PLAIN_ATTRIBUTES)
def test_plain_tensor_attributes_keep_their_values_and_versions(fixture: str, engine: str) -> None:
    model = PLAIN_ATTRIBUTES[fixture]()
    originals = {key: value for key, value in vars(model).items() if not key.startswith("_")}
    before = snapshot(model)
    analyze(model, (1, 3, 8, 8), engine=engine)
    assert_unchanged(before, snapshot(model))
    for key, value in originals.items():
        assert getattr(model, key) is value, key
    # the exact values, as built: nothing the forward did is left
    assert int(getattr(model, "step", torch.tensor(0))) == 0 and getattr(model, "step", torch.tensor(0))._version == 0
    if fixture == "ema":
        assert model.avg.tolist() == [1.0] * 4 and model.avg._version == 0
    if fixture == "tuple":
        assert model.pair[0].tolist() == [0.0, 0.0] and model.pair[0]._version == 0
    if fixture == "nested-dict":
        assert list(model.cache) == ["a"] and list(model.cache["a"]) == ["k"]
        assert model.cache["a"]["k"].tolist() == [0.0] * 3 and model.cache["a"]["k"]._version == 0
    if fixture == "list-append":
        assert len(model.hist) == 1 and len(model.hist[0]) == 1
        assert model.hist[0][0].tolist() == [0.0, 0.0] and model.hist[0][0]._version == 0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fixture", PLAIN_ATTRIBUTES)
@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_a_raising_forward_leaves_plain_tensor_attributes_as_they_were(fixture: str, engine: str,
                                                                       error: type[BaseException]) -> None:
    model = hooked(raising(PLAIN_ATTRIBUTES[fixture], error))
    before = snapshot(model)
    with pytest.raises(AnalysisError if error is ValueError else KeyboardInterrupt):
        analyze(model, (1, 3, 8, 8), engine=engine)
    assert_unchanged(before, snapshot(model))


class FallingBack(CounterAttribute):
    """Updates its plain counter, then keeps the positive activations: the meta walk fails (its shapes depend on
    values) after the counter was updated, and the analysis walks a copy on real tensors."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        return y[y > 0]


@pytest.mark.parametrize("engine", ["dispatch", "analytic"])
def test_a_walk_that_falls_back_to_real_tensors_leaves_the_counter(engine: str) -> None:
    model = hooked(FallingBack())
    before = snapshot(model)
    analysis = analyze(model, (1, 3, 8, 8), engine=engine)
    assert analysis.execution is Execution.REAL
    assert_unchanged(before, snapshot(model))
    assert int(model.step) == 0 and model.step._version == 0


def test_only_plain_tensors_are_cloned() -> None:
    """Parameters and buffers are never cloned, wherever else they appear: only tensors of a module's ``__dict__``
    that are neither."""
    from convcost.analyzer.preserve import preserved_model

    model = CounterAttribute()
    model.aliases = [model.conv.weight, model.conv.bias]  # registered tensors listed again in a plain list
    model.register_buffer("seen", torch.zeros(2))
    model.again = (model.seen, model.step)
    step, weight, seen = model.step, model.conv.weight, model.seen
    with preserved_model(model, stand_ins=True):
        assert model.step is not step and torch.equal(model.step, step)
        assert model.aliases[0] is weight and model.conv.weight is weight and model.seen is seen
        assert model.again[0] is seen and model.again[1] is model.step  # one clone per tensor: aliases stay
    assert model.step is step and model.again == (seen, step)


class OldSpectral(nn.Module):
    """Old-style ``torch.nn.utils.spectral_norm``: a forward pre-hook computes the weight into a plain attribute, a
    non-leaf tensor, which ``copy.deepcopy`` refuses."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.utils.spectral_norm(nn.Conv2d(3, 4, 3))
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean((2, 3)))


@pytest.mark.parametrize("engine", ENGINES)
def test_old_style_spectral_norm_is_copied_and_counted(engine: str) -> None:
    model = OldSpectral()
    model(torch.rand(1, 3, 8, 8))
    assert not model.conv.weight.is_leaf
    before = snapshot(model)
    analysis = analyze(model, (1, 3, 8, 8), engine=engine)
    assert_unchanged(before, snapshot(model))
    # conv 4·27·36 = 3,888; the hook's sigma = u·(W v): 4·27 + 4 = 112; fc 4·2 = 8
    assert analysis.totals.macs == 3_888 + 112 + 8
    assert {e.macs for e in analysis.engines} == {3_888 + 112 + 8}
    if engine in ("fvcore", ALL):  # fvcore's scope opens after the hook: the 112 count in the root
        assert {d.layer for d in analysis.disagreements} == {"", "conv"}
        for disagreement in analysis.disagreements:
            assert disagreement.reason.startswith("fvcore counts 112 multiply-adds in the root module that the "
                                                  "dispatch engine counts in its child 'conv'")
    else:
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


class WrongWidth(nn.Module):
    """A shape bug: the linear layer does not take the conv's output width. It fails in an aten operator, on meta
    tensors and on real ones alike."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x))


class RefusesPositive(nn.Module):
    """Reads a value (which meta tensors do not have), then refuses the real input it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if x.sum() > 0:
            raise ValueError("positive input refused")
        return y


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[nn.Module]:
    """The models the analysis copies to walk on real tensors."""
    import convcost.analyzer.measure as measure

    made: list[nn.Module] = []
    original = measure.runnable_copy

    def spy(model: nn.Module, **options: bool) -> nn.Module:
        made.append(model)
        return original(model, **options)

    monkeypatch.setattr(measure, "runnable_copy", spy)
    return made


def test_the_forwards_own_failure_is_not_walked_again_on_real_tensors(copies: list[nn.Module]) -> None:
    with pytest.raises(AnalysisError) as raised:
        analyze(Raising(), (1, 3, 8, 8))
    assert str(raised.value) == ("forward failed in the root module (Raising) on input ((1, 3, 8, 8),) (meta tensors): "
                                 "this model fails after changing its attributes")
    assert copies == []  # a ValueError raised in Python is not the meta tensors': no walk on real tensors


def test_a_failure_on_both_walks_says_so(copies: list[nn.Module]) -> None:
    with pytest.raises(AnalysisError) as raised:
        analyze(WrongWidth(), (1, 3, 8, 8))
    assert str(raised.value) == (
        "forward failed in 'fc' (Linear) on input ((1, 3, 8, 8),) (meta tensors, and the same way on real tensors "
        "(a copy of the model)): mm: (24, 6) (torch.float32) and (5, 2) (torch.float32) cannot be multiplied")
    assert len(copies) == 1
    partial = raised.value.partial
    assert partial is not None and partial.execution is Execution.META and partial.layer("conv").macs == 4 * 27 * 36


def test_a_different_failure_on_real_tensors_names_both(copies: list[nn.Module]) -> None:
    with pytest.raises(AnalysisError) as raised:
        analyze(RefusesPositive(), (1, 3, 8, 8))
    assert str(raised.value) == (
        "forward failed in the root module (RefusesPositive) on input ((1, 3, 8, 8),) (real tensors (a copy of the "
        "model), after the forward could not run on meta tensors: RuntimeError: Tensor.item() cannot be called on "
        "meta tensors in the root module (RefusesPositive)): positive input refused")
    assert len(copies) == 1


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
