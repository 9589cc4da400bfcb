"""Exact counts on tiny modules, with the arithmetic in comments."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convcost.analyzer import analyze


def test_textbook_standard_vs_depthwise_separable_params() -> None:
    standard = analyze(nn.Conv2d(3, 4, 3, bias=False), (1, 3, 8, 8))
    # 4 · 3 · 3 · 3 = 108 weights
    assert standard.totals.params == 108
    separable = analyze(
        nn.Sequential(nn.Conv2d(3, 3, 3, groups=3, bias=False), nn.Conv2d(3, 4, 1, bias=False)), (1, 3, 8, 8)
    )
    # depthwise 3 · 1 · 3 · 3 = 27, pointwise 4 · 3 = 12: 39 in total
    assert separable.layer("0").params == 27
    assert separable.layer("1").params == 12
    assert separable.totals.params == 39
    assert separable.layer("0").kind == "depthwise"
    assert separable.layer("1").kind == "pointwise"
    assert standard.layer("").kind == "standard"


def test_conv_macs_and_flops() -> None:
    analysis = analyze(nn.Conv2d(3, 4, 3, padding=1), (2, 3, 8, 8))
    # out 2·4·8·8 = 512 elements, each 3·3·3 = 27 MACs: 13,824 MACs
    assert analysis.totals.macs == 13_824
    # 2 · 13,824 + 512 bias adds
    assert analysis.totals.flops == 28_160
    check = analysis.layer("").check
    assert check is not None and check.agrees and check.analytic_macs == 13_824 and check.analytic_params == 112


def test_linear_macs() -> None:
    analysis = analyze(nn.Linear(10, 5), (3, 10))
    # 3 · 10 · 5 = 150 MACs, flops 2 · 150 + 15 bias adds
    assert (analysis.totals.macs, analysis.totals.flops, analysis.totals.params) == (150, 315, 55)
    assert analysis.layer("").kind == "linear"


def test_grouped_dilated_strided_transposed() -> None:
    grouped = analyze(nn.Conv2d(8, 12, 3, stride=2, dilation=2, groups=4, bias=False), (1, 8, 11, 11))
    # out (11 - 4 - 1) // 2 + 1 = 4 → 12·4·4 = 192 outputs · (8/4)·9 = 18 MACs = 3,456
    assert grouped.totals.macs == 3_456
    assert grouped.layer("").kind == "grouped"
    transposed = analyze(nn.ConvTranspose2d(4, 6, 3, stride=2, bias=False), (1, 4, 5, 5))
    # every input element 4·5·5 = 100 scatters through 6·9 = 54 weights: 5,400 MACs
    assert transposed.totals.macs == 5_400
    assert transposed.layer("").kind == "transposed"


class TwoCalls(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.conv(x)) + x


def test_module_called_twice_is_counted_twice() -> None:
    analysis = analyze(TwoCalls(), (1, 4, 5, 5))
    layer = analysis.layer("conv")
    assert layer.calls == 2
    # two calls · 4·5·5 outputs · 4 MACs = 800
    assert layer.macs == 800
    assert layer.check is not None and layer.check.analytic_macs == 800 and layer.check.agrees
    # the residual add runs in the root's own forward: 100 elements, 1 FLOP each
    assert analysis.layer("").flops_by_op == {"add": 100}


class SameConv(nn.Conv2d):
    """A conv subclass that pads inside forward and calls F.conv2d (TF "same")."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (0, 1, 0, 1)), self.weight, self.bias, self.stride)


def test_conv_subclass_calling_functional_conv_is_still_a_conv() -> None:
    analysis = analyze(SameConv(3, 4, 3, stride=2, bias=False), (1, 3, 8, 8))
    # padded 9×9 → (9 - 3) // 2 + 1 = 4 → 4·4·4 = 64 outputs · 27 MACs = 1,728
    assert analysis.totals.macs == 1_728
    check = analysis.layer("").check
    assert check is not None and check.output_size_from == "measured" and check.agrees


class DictModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 2)
        self.b = nn.Linear(3, 2)

    def forward(self, image: torch.Tensor, extra: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"sum": self.a(image) + self.b(extra), "pair": (image, extra)}  # type: ignore[dict-item]


def test_tuple_and_dict_inputs_and_outputs() -> None:
    positional = analyze(DictModel(), (torch.zeros(2, 4), torch.zeros(2, 3)))
    keyword = analyze(DictModel(), {"image": torch.zeros(2, 4), "extra": torch.zeros(2, 3)})
    # a: 2·4·2 = 16 MACs, b: 2·3·2 = 12 MACs
    assert positional.totals.macs == keyword.totals.macs == 28
    assert positional.layer("a").macs == 16
    assert positional.input_shapes == ((2, 4), (2, 3))


def test_elementwise_conventions() -> None:
    x_shape = (1, 2, 4, 4)  # 32 elements
    assert analyze(nn.SiLU(), x_shape).totals.flops == 64  # sigmoid + multiply
    assert analyze(nn.ReLU6(), x_shape).totals.flops == 32
    assert analyze(nn.Sigmoid(), x_shape).totals.flops == 32
    assert analyze(nn.BatchNorm2d(2), x_shape).totals.flops == 64  # eval: one multiply-add per element
    assert analyze(nn.AdaptiveAvgPool2d(1), x_shape).totals.flops == 32  # one per input element
    assert analyze(nn.MaxPool2d(2), x_shape).totals.flops == 8 * 4  # 8 outputs · 2·2 window


class Mean(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3), keepdim=True)


def test_count_does_not_depend_on_how_the_pool_is_written() -> None:
    shape = (2, 3, 7, 7)
    assert analyze(Mean(), shape).totals.flops == analyze(nn.AdaptiveAvgPool2d(1), shape).totals.flops == 294


class Unsupported(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumsum(x, 1) + x


def test_op_without_formula_is_reported_not_zeroed_silently() -> None:
    analysis = analyze(Unsupported(), (1, 8))
    assert analysis.unsupported_ops() == {"aten::cumsum": 1}
    assert analysis.totals.flops == 8  # the add only; cumsum is listed as unsupported


def test_views_are_free_and_listed() -> None:
    analysis = analyze(nn.Flatten(), (2, 3, 4))
    assert analysis.totals.flops == 0
    assert analysis.free_ops == {"aten::view": 1}


@pytest.mark.parametrize("engine", ["dispatch", "analytic", "fvcore", "all"])
def test_every_engine_gives_the_same_small_model_counts(engine: str) -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.SiLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(8, 10))
    analysis = analyze(model, (2, 3, 6, 6), engine=engine)
    # conv 2·8·6·6 = 576 outputs · 27 = 15,552 MACs; linear 2·8·10 = 160 MACs
    assert analysis.totals.macs == 15_712
    # conv 2·15,552 + 576 bias, BN 2·576, SiLU 2·576, pool 576, linear 2·160 + 20
    assert analysis.totals.flops == 31_104 + 576 + 1_152 + 1_152 + 576 + 340
    assert analysis.disagreements == ()


class PadsInConvForward(nn.Conv2d):
    """Pads inside ``_conv_forward`` rather than ``forward``."""

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        return F.conv2d(F.pad(x, (1, 1, 1, 1)), weight, bias, self.stride)


def test_conv_subclass_overriding_conv_forward_is_measured() -> None:
    analysis = analyze(PadsInConvForward(3, 4, 3, bias=False), (1, 3, 8, 8), engine="all")
    # padded to 10×10 → 8×8 outputs: 4·64 · 27 = 6,912 MACs
    assert analysis.totals.macs == 6_912
    assert analysis.layer("").check.output_size_from == "measured"
    assert analysis.disagreements == ()


@pytest.mark.parametrize(
    ("conv", "shape", "macs"),
    [
        (nn.Conv1d(4, 6, 3, stride=2, groups=2, bias=False), (2, 4, 11), 2 * 6 * 5 * 2 * 3),  # out length 5
        (nn.Conv3d(2, 3, 3, padding=1, bias=False), (1, 2, 4, 4, 4), 3 * 64 * 2 * 27),
        (nn.ConvTranspose1d(3, 2, 4, stride=2, bias=False), (1, 3, 5), 3 * 5 * 2 * 4),
    ],
)
def test_one_and_three_dimensional_convs(conv: nn.Module, shape: tuple[int, ...], macs: int) -> None:
    analysis = analyze(conv, shape, engine="all")
    assert analysis.totals.macs == macs
    assert analysis.disagreements == ()


def test_functional_conv_schema_reads_groups_not_transposed() -> None:
    from convcost.analyzer.formulas.ops import OP_FORMULAS, OpCall, TensorArg

    # aten::conv2d(input, weight, bias, stride, padding, dilation, groups): argument 6 is groups
    call = OpCall((TensorArg((1, 8, 8, 8)), TensorArg((8, 2, 3, 3)), None, [2, 2], [1, 1], [1, 1], 4),
                  ((1, 8, 4, 4),))
    # 8·4·4 outputs · 2·9 = 2,304 MACs
    assert OP_FORMULAS["aten::conv2d"].cost(call).macs == 2_304
