"""analyze leaves the model as it found it, prints nothing, and explains bad input."""

import pytest
import torch
from torch import nn

from convcost.analyzer import AnalysisError, InputShapeError, analyze
from convcost.architectures import create_model


def snapshot(model: nn.Module) -> list[tuple]:
    state = [(name, m.training, len(m._forward_hooks), len(m._forward_pre_hooks)) for name, m in model.named_modules()]
    tensors = [(name, t.data_ptr(), t.device, t.dtype, t.requires_grad, t.clone())
               for name, t in [*model.named_parameters(), *model.named_buffers()]]
    return [state, tensors]


def assert_unchanged(before: list[tuple], model: nn.Module) -> None:
    after = snapshot(model)
    assert before[0] == after[0]
    for (name, ptr, device, dtype, grad, value), (name2, ptr2, device2, dtype2, grad2, value2) in zip(
        before[1], after[1], strict=True
    ):
        assert (name, ptr, device, dtype, grad) == (name2, ptr2, device2, dtype2, grad2)
        assert torch.equal(value, value2)


def global_hook_count() -> int:
    from torch.nn.modules import module

    return len(module._global_forward_hooks) + len(module._global_forward_pre_hooks)


@pytest.mark.parametrize("engine", ["dispatch", "all"])
def test_model_is_untouched_and_nothing_printed(engine: str, capsys: pytest.CaptureFixture[str]) -> None:
    model = create_model("senet18")
    model.train()
    model.stages[1].eval()  # mixed flags must come back exactly
    model.fc.weight.requires_grad_(False)
    before, hooks = snapshot(model), global_hook_count()
    analyze(model, (2, 3, 32, 32), engine=engine)
    assert_unchanged(before, model)
    assert global_hook_count() == hooks
    assert capsys.readouterr() == ("", "")


def test_model_is_untouched_after_a_failure() -> None:
    # fails after the whole SENet18 has run: 10 logits into a 3-input linear layer
    model = nn.Sequential(create_model("senet18"), nn.Linear(3, 3)).train()
    before, hooks = snapshot(model), global_hook_count()
    with pytest.raises(AnalysisError, match=r"forward failed in '1' \(Linear\)"):
        analyze(model, (1, 3, 32, 32))
    with pytest.raises(AnalysisError, match="the root module"):
        analyze(model, (torch.zeros(1, 3, 32, 32), torch.zeros(1)))  # one positional argument too many
    assert_unchanged(before, model)
    assert global_hook_count() == hooks


def test_analysis_never_touches_real_weights() -> None:
    model = create_model("efficientnet_b0")
    before = snapshot(model)
    analysis = analyze(model, (1, 3, 224, 224))
    assert analysis.totals.params == 5_288_548
    assert_unchanged(before, model)


def test_meta_model_can_be_analysed_by_every_engine() -> None:
    model = create_model("mobilenet_v2_035", device="meta")
    analysis = analyze(model, (1, 3, 96, 96), engine="all")
    assert analysis.disagreements == ()
    assert all(p.is_meta for p in model.parameters())


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((1, 4, 224, 224), r"input shape \(1, 4, 224, 224\) has 4 channels; the first layer 'stem.conv' "
                           r"\(Conv2d\) expects 3: \(N, 3, H, W\)"),
        ((3, 224, 224), r"has 3 dimensions; the first layer 'stem.conv' \(Conv2d\) expects 4: \(N, 3, H, W\)"),
        ((), r"input_shape is empty; expected a shape such as \(1, 3, 224, 224\)"),
        ((1, 3, 0, 224), "has a dimension below 1"),
        ((1, 3, 22.5, 224), "must hold positive integers"),
    ],
)
def test_bad_input_shapes_say_what_would_fit(shape: tuple, message: str) -> None:
    with pytest.raises(InputShapeError, match=message):
        analyze(create_model("efficientnet_b0", device="meta"), shape)


def test_non_module_is_rejected() -> None:
    with pytest.raises(TypeError, match=r"analyze needs a torch\.nn\.Module; got function"):
        analyze(lambda x: x, (1, 3))  # type: ignore[arg-type]


def test_unknown_engine_is_rejected() -> None:
    with pytest.raises(ValueError, match="engine must be one of dispatch, analytic, fvcore, all"):
        analyze(nn.ReLU(), (1, 3), engine="thop")  # type: ignore[arg-type]


def test_failure_names_the_module_that_was_running() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.Sequential(nn.ReLU(), nn.Linear(5, 2)))
    with pytest.raises(AnalysisError, match=r"forward failed in '1.1' \(Linear\) on input \(\(2, 4\),\)"):
        analyze(model, (2, 4))


def test_resolution_too_small_is_named() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(5))
    with pytest.raises(InputShapeError, match="input resolution too small for this model"):
        analyze(model, (1, 3, 5, 5))


@pytest.mark.parametrize(("model", "shape", "needle"), [
    (nn.Conv3d(3, 4, (3, 7, 7)), (1, 3, 4, 5, 5), "window of 7 (kernel 7, dilation 1) is larger than the padded "
                                                  "input 5 + 2·0 = 5 along spatial axis 1"),
    (nn.Conv2d(3, 4, 3, dilation=3), (1, 3, 6, 6), "window of 7 (kernel 3, dilation 3)"),
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.AvgPool2d(4)), (1, 3, 4, 4), "aten::avg_pool2d: its window of 4"),
    (nn.Conv1d(3, 4, 5, padding=1), (1, 3, 2), "padded input 2 + 2·1 = 4"),
    (nn.Conv2d(3, 4, 5, padding="valid"), (1, 3, 3, 3), "aten::convolution: its window of 5"),
    (nn.Unfold(5), (1, 3, 3, 3), "aten::im2col: its window of 5 (kernel 5, dilation 1) is larger than the padded "
                                 "input 3 + 2·0 = 3 along spatial axis 0"),
    (nn.Fold((3, 3), 5), (1, 75, 1), "aten::col2im: its window of 5 (kernel 5, dilation 1) is larger than the padded "
                                     "input 3 + 2·0 = 3 along spatial axis 0"),
    (nn.MaxPool1d(5), (1, 3, 3), "max_pool1d: its window of 5 (kernel 5, dilation 1) is larger than the padded input "
                                 "3 + 2·0 = 3 along spatial axis 0"),
    (nn.MaxPool1d(5, return_indices=True), (1, 3, 3), "max_pool1d: its window of 5"),
    (nn.AvgPool1d(5), (1, 3, 3), "aten::avg_pool2d: its window of 5"),
    (nn.MaxPool3d(5), (1, 3, 3, 3, 3), "aten::max_pool3d_with_indices: its window of 5"),
    (nn.AvgPool3d(5), (1, 3, 3, 3, 3), "aten::avg_pool3d: its window of 5"),
    (nn.ConvTranspose2d(3, 3, 3, padding=3), (1, 3, 2, 2),
     "aten::convolution: its output would have -2 positions along spatial axis 0: input 2, stride 1, kernel 3, "
     "dilation 1 and output padding 0 do not make up for padding 2·3"),
    (nn.ReflectionPad2d(4), (1, 3, 3, 3), "pad: its reflect padding of 4 needs an input larger than 4 along "
                                          "dimension 3, which has 3"),
    (nn.Conv2d(3, 4, 9, padding=4, padding_mode="reflect"), (1, 3, 3, 3), "pad: its reflect padding of 4"),
    (nn.CircularPad2d(4), (1, 3, 3, 3), "pad: its circular padding of 4 needs an input at least 4 along "
                                        "dimension 3, which has 3"),
])
def test_too_small_is_decided_from_shapes(model: nn.Module, shape: tuple[int, ...], needle: str) -> None:
    with pytest.raises(InputShapeError, match="input resolution too small for this model") as raised:
        analyze(model, shape)
    assert needle in str(raised.value)


@pytest.mark.parametrize(("model", "shape"), [
    (nn.Unfold(3), (1, 3, 3, 3)), (nn.Fold((5, 5), 5), (1, 75, 1)), (nn.ReflectionPad2d(2), (1, 3, 3, 3)),
    (nn.CircularPad2d(3), (1, 3, 3, 3)), (nn.MaxPool1d(3), (1, 3, 3)), (nn.ConvTranspose2d(3, 3, 3, padding=1),
                                                                         (1, 3, 2, 2)),
])
def test_windows_that_just_fit_run(model: nn.Module, shape: tuple[int, ...]) -> None:
    assert analyze(model, shape).execution.value == "meta"


class SaysTooSmall(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("this batch is too small for my taste")


def test_words_alone_do_not_make_an_input_too_small() -> None:
    with pytest.raises(AnalysisError, match="too small for my taste") as raised:
        analyze(SaysTooSmall(), (1, 3, 8, 8))
    assert not isinstance(raised.value, InputShapeError)


def test_static_same_padding_at_another_size_fails_clearly() -> None:
    model = create_model("efficientnet_b0", padding="same_static", device="meta")
    with pytest.raises(AnalysisError, match="built for 224x224 inputs but got 240x240"):
        analyze(model, (1, 3, 240, 240))


class SharedTwice(nn.Module):
    """One conv registered under two names and called twice."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 3, 3, padding=1)
        self.b = self.a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


def test_module_registered_under_two_names_is_restored() -> None:
    model = SharedTwice()
    before = snapshot(model)
    analysis = analyze(model, (1, 3, 8, 8), engine="all")
    assert_unchanged(before, model)
    assert isinstance(model.a.weight, nn.Parameter) and model.a.weight.device.type == "cpu"
    # reported under its first name, called twice: 2 · 3·8·8 outputs · 27 MACs
    assert analysis.layer("a").calls == 2
    assert analysis.totals.macs == 2 * 192 * 27
    assert analysis.totals.params == 84  # 3·3·3·3 + 3, counted once
    assert analysis.disagreements == ()


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(self.embed(tokens))


def test_tied_weights_integer_inputs_and_a_clean_check() -> None:
    model = Tied()
    before = snapshot(model)
    analysis = analyze(model, torch.zeros(2, 5, dtype=torch.long))
    assert_unchanged(before, model)
    assert model.out.weight is model.embed.weight
    assert analysis.totals.params == 40  # the shared 10×4 table, once
    check = analysis.layer("out").check
    # 2·5 rows · 4 · 10 = 400 MACs; the layer computes with 40 weights
    assert check is not None and check.agrees and check.module_params == 40 and check.measured_macs == 400


def test_frozen_layers_still_agree_with_their_formula() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    model[0].requires_grad_(False)
    analysis = analyze(model, (1, 3, 8, 8), engine="all")
    layer = analysis.layer("0")
    assert layer.trainable_params == 0  # frozen: none an optimizer updates
    assert layer.params == layer.frozen_params == layer.check.module_params == 224  # 8·3·9 + 8, counted all the same
    totals = analysis.totals
    assert (totals.params, totals.trainable_params, totals.frozen_params) == (224 + 16, 16, 224)
    assert analysis.disagreements == ()


class CatchesItsOwnError(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 4), nn.Linear(3, 4), nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        try:
            y = self.b(x)  # wrong width: raises inside b
        except RuntimeError:
            y = self.a(x)
        return y + self.c(y)


def test_exception_caught_inside_the_model_keeps_attribution_right() -> None:
    analysis = analyze(CatchesItsOwnError(), (2, 4))
    assert analysis.layer("b").calls == 0
    assert analysis.layer("a").calls == 1 and analysis.layer("a").macs == 32  # 2·4·4
    assert analysis.layer("").flops_by_op == {"add": 8}  # the add runs in the root, not in b


def test_integer_input_divided_in_forward() -> None:
    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x / 255)

    analysis = analyze(Scale(), torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    # true division makes floats: 192 elements · 4 bytes
    assert analysis.layer("").output_bytes == 768
    assert analysis.totals.macs == 8 * 6 * 6 * 27


def test_registration_order_does_not_refuse_a_valid_model() -> None:
    class HeadFirst(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Conv2d(16, 10, 1)
            self.stem = nn.Conv2d(3, 16, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.stem(x))

    assert analyze(HeadFirst(), (1, 3, 8, 8)).totals.macs == 16 * 36 * 27 + 10 * 36 * 16


def test_fvcore_trace_failure_is_an_analysis_error_and_leaves_no_hook() -> None:
    from dataclasses import dataclass

    @dataclass
    class Out:
        value: torch.Tensor

    class ReturnsDataclass(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x: torch.Tensor) -> Out:
            return Out(self.conv(x))

    model = ReturnsDataclass()
    before = snapshot(model)
    assert analyze(model, (1, 3, 4, 4)).totals.macs == 144  # the dispatch engine needs no trace
    with pytest.raises(AnalysisError, match="the fvcore engine could not trace the model"):
        analyze(model, (1, 3, 4, 4), engine="all")
    assert_unchanged(before, model)
