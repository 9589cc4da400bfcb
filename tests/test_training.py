"""The backward pass of a training step: exact grad-input and grad-weight MACs per layer, frozen parameters as
autograd treats them, whole networks, and a model left exactly as it was."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from convcost.analyzer import AnalysisError, analyze
from convcost.analyzer.formulas.backward import BackwardCost
from convcost.architectures import create_model, list_models


def backward_of(model: nn.Module, shape: tuple[int, ...], layer: str) -> BackwardCost:
    analysis = analyze(model, shape, training=True)
    assert analysis.training is not None and analysis.training.unsupported == {}
    return analysis.training.layers[layer]


#: (layer, input shape, forward MACs with the arithmetic): a layer whose input needs a gradient computes
#: grad-input and grad-weight products of exactly the forward MACs each.
LAYERS = {
    # out 16·10·10 = 1,600 elements, each 8·3·3 = 72 MACs
    "standard": (nn.Conv2d(8, 16, 3, padding=1), (1, 8, 10, 10), 115_200),
    # out 8·10·10 = 800 elements, each 1·3·3 = 9 MACs
    "depthwise": (nn.Conv2d(8, 8, 3, padding=1, groups=8), (1, 8, 10, 10), 7_200),
    # out 16·10·10 = 1,600 elements, each 8 MACs
    "pointwise": (nn.Conv2d(8, 16, 1), (1, 8, 10, 10), 12_800),
    # out 16·10·10 = 1,600 elements, each (8/4)·3·3 = 18 MACs
    "grouped": (nn.Conv2d(8, 16, 3, padding=1, groups=4), (1, 8, 10, 10), 28_800),
    # dilation 2, no padding: out 16·6·6 = 576 elements, each 72 MACs
    "dilated": (nn.Conv2d(8, 16, 3, dilation=2), (1, 8, 10, 10), 41_472),
    # stride 2, padding 1: out 16·5·5 = 400 elements, each 72 MACs
    "strided": (nn.Conv2d(8, 16, 3, stride=2, padding=1), (1, 8, 10, 10), 28_800),
    # transposed, stride 2: each of the 8·10·10 = 800 input elements meets 16·3·3 = 144 weights
    "transposed": (nn.ConvTranspose2d(8, 16, 3, stride=2), (1, 8, 10, 10), 115_200),
    # 2·5 rows of 8 inputs against 12 outputs: 2·5·8·12
    "linear": (nn.Linear(8, 12), (2, 5, 8), 960),
}


@pytest.mark.parametrize("kind", list(LAYERS))
def test_grad_input_and_grad_weight_each_equal_the_forward_macs(kind: str) -> None:
    layer, shape, forward_macs = LAYERS[kind]
    # a parameter-free scale before the layer, with a trainable weight, makes the layer's input need a gradient
    model = nn.Sequential(Scale(), copy.deepcopy(layer))
    analysis = analyze(model, shape, training=True)
    assert analysis.layer("1").macs == forward_macs
    assert analysis.training is not None and analysis.training.unsupported == {}
    cost = analysis.training.layers["1"]
    assert (cost.grad_input_macs, cost.grad_weight_macs) == (forward_macs, forward_macs)
    assert cost.flops >= 2 * cost.macs  # plus the bias gradient's sum
    # the first layer of a network computes no gradient of the image
    first = backward_of(copy.deepcopy(layer), shape, "")
    assert (first.grad_input_macs, first.grad_weight_macs) == (0, forward_macs)


class Scale(nn.Module):
    """x · w with one trainable scalar: the next layer's input then requires grad."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight


def test_conv_backward_flops() -> None:
    cost = backward_of(nn.Sequential(Scale(), nn.Conv2d(3, 4, 3, padding=1)), (2, 3, 8, 8), "1")
    # forward 2·4·8·8 = 512 outputs · 27 = 13,824 MACs; grad-input and grad-weight 2·13,824 FLOPs each,
    # and the bias gradient sums the 512 output-gradient elements
    assert (cost.grad_input_macs, cost.grad_weight_macs, cost.flops) == (13_824, 13_824, 55_808)


def test_frozen_layers_follow_autograd() -> None:
    first, middle, last = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 4, 1)
    for frozen in (first, last):
        frozen.requires_grad_(False)
    analysis = analyze(nn.Sequential(first, middle, last), (1, 3, 8, 8), training=True)
    assert analysis.training is not None
    layers = analysis.training.layers
    # first: frozen, nothing before it needs a gradient: no backward products at all
    assert layers["0"].macs == 0
    # middle: trainable, but its input needs no gradient: grad-weight only, 8·8·8 outputs · 8·9
    assert (layers["1"].grad_input_macs, layers["1"].grad_weight_macs) == (0, 36_864)
    # last: frozen, but the middle layer below it needs the gradient: grad-input only, 4·8·8 outputs · 8
    assert (layers["2"].grad_input_macs, layers["2"].grad_weight_macs) == (2_048, 0)
    assert analysis.training.total.macs == 38_912


def test_resnet50_backward_macs() -> None:
    analysis = analyze(create_model("resnet50"), (1, 3, 224, 224), training=True)
    assert analysis.totals.macs == 4_089_184_256
    assert analysis.training is not None
    total = analysis.training.total
    # every layer's grad-weight, and every grad-input but the stem's (118,013,952 MACs: the image needs none)
    assert (total.grad_weight_macs, total.grad_input_macs) == (4_089_184_256, 3_971_170_304)
    assert total.macs == 8_060_354_560
    assert analysis.training.subtree("stem").macs == 118_013_952


def test_a_frozen_backbone_saves_its_grad_weight_and_grad_input() -> None:
    model = create_model("efficientnet_b0")
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    model.get_submodule("fc").requires_grad_(True)
    analysis = analyze(model, (1, 3, 224, 224), training=True)
    assert analysis.training is not None
    # only the classifier's weight gradient is computed: 1280 · 1000 MACs
    assert analysis.training.total.macs == 1_280_000
    assert analysis.training.total.grad_input_macs == 0


@pytest.mark.parametrize("name", list_models())
def test_every_built_in_model_backward_is_twice_the_forward_but_the_stem(name: str) -> None:
    analysis = analyze(create_model(name), (1, 3, 64, 64), training=True)
    assert analysis.training is not None and analysis.training.unsupported == {}
    total = analysis.training.total
    assert total.grad_weight_macs == analysis.totals.macs
    # the only grad-input not computed is the first layer's (the image needs no gradient)
    first = next(layer for layer in analysis.layers if layer.macs)
    assert total.grad_input_macs == analysis.totals.macs - first.macs
    assert analysis.training.disagreements == ()  # every conv/linear layer's backward fits its closed form


def test_the_model_is_left_as_it_was() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5), nn.ReLU())
    model.eval()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    analyze(model, (2, 3, 8, 8), training=True)
    assert not model.training and not any(module.training for module in model.modules())
    assert all(parameter.grad is None for parameter in model.parameters())
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[name], before[name]) for name in before)  # running stats, num_batches_tracked
    assert all(not module._forward_hooks and not module._forward_pre_hooks for module in model.modules())
    assert all(parameter.device.type == "cpu" for parameter in model.parameters())


def test_json_carries_the_backward_per_layer_and_in_total() -> None:
    from convcost.reports.export import analysis_json

    data = analysis_json(analyze(nn.Sequential(Scale(), nn.Linear(8, 12)), (2, 8), training=True))
    assert (data["grad_input_macs"], data["grad_weight_macs"], data["backward_macs"]) == (192, 192, 384)
    row = next(layer for layer in data["layers"] if layer["name"] == "1")
    assert (row["grad_input_macs"], row["grad_weight_macs"], row["backward_macs"]) == (192, 192, 384)
    plain = analysis_json(analyze(nn.Linear(8, 12), (2, 8)))
    assert "backward_macs" not in plain and "backward_macs" not in plain["layers"][0]


def test_the_command_line_counts_the_backward_with_train(tmp_path) -> None:
    import json

    from convcost.cli import main

    out = tmp_path / "b0.json"
    assert main(["analyze", "efficientnet_b0", "--train", "-o", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    # every grad-weight (the forward's 385,814,752 MACs) and every grad-input but the stem's 10,838,016
    assert (data["grad_weight_macs"], data["grad_input_macs"]) == (385_814_752, 374_976_736)
    assert data["backward_macs"] == 760_791_488
    table = tmp_path / "b0.txt"
    assert main(["analyze", "efficientnet_b0", "--train", "--depth", "0", "-o", str(table), "--quiet"]) == 0
    assert "Backward MACs" in table.read_text() and "760.79M" in table.read_text()


def test_a_training_step_on_a_tiny_network_by_hand() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    analysis = analyze(model, (3, 4), training=True, optimizer="adam")
    step = analysis.training
    assert step is not None
    # forward in train mode: 2·(3·4·8) + 24 bias adds; ReLU 24; 2·(3·8·2) + 6
    assert dict(step.forward_flops) == {"": 0, "0": 216, "1": 24, "2": 102}
    # 58 trainable elements (32 + 8 + 16 + 2), Adam's 13 FLOPs each; two moments kept
    assert (step.trainable_params, step.optimizer_flops) == (58, 754)
    assert (step.parameter_bytes, step.gradient_bytes, step.state_bytes) == (232, 232, 464)
    # live bytes peak in the ReLU's backward: the input 48, the ReLU's saved output 96, the network's output 24
    # and its gradient 24, the second layer's gradients (input 96, weight 64, bias 8) and the ReLU's input
    # gradient 96
    assert (step.live_peak_bytes, step.live_peak_phase.value, step.live_peak_module) == (456, "backward", "1")
    assert step.peak_bytes == 232 + 464 + 456
    assert step.peak_moment == "backward of 1"
    # backward: 2 · (3·8·2) grad-input and grad-weight MACs of the second layer, grad-weight 3·4·8 of the first
    assert step.total.macs == 48 + 48 + 96
    assert step.training_flops == 342 + step.total.flops + 754


@pytest.mark.parametrize(("optimizer", "flops", "slots"), [("sgd", 2, 0), ("sgd-momentum", 4, 1), ("adam", 13, 2),
                                                            ("adamw", 14, 2)])
def test_optimizer_steps_count_trainable_elements_only(optimizer: str, flops: int, slots: int) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 1))
    model[0].requires_grad_(False)  # 112 frozen elements
    step = analyze(model, (1, 3, 8, 8), training=True, optimizer=optimizer).training
    assert step is not None
    # the second conv's 4·4 + 4 = 20 trainable elements
    assert (step.trainable_params, step.optimizer_flops, step.state_bytes) == (20, 20 * flops, 20 * 4 * slots)
    assert step.parameter_bytes == (112 + 20) * 4 and step.gradient_bytes == 80


def test_an_unknown_optimizer_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown optimizer 'lamb'; choose one of sgd, sgd-momentum, adam, adamw"):
        analyze(nn.Linear(2, 2), (1, 2), training=True, optimizer="lamb")


def test_optimizer_needs_train_on_the_command_line(capsys) -> None:
    from convcost.cli import main

    assert main(["analyze", "resnet50", "--optimizer", "adam"]) == 2
    assert capsys.readouterr().err.strip() == ("convcost: error: --optimizer chooses the optimizer of a training "
                                               "step; add --train")


def test_summary_and_layers_carry_the_step() -> None:
    from convcost.reports.frames import layer_frame, summary_frame

    analysis = analyze(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), (3, 4), training=True,
                       optimizer="sgd-momentum")
    summary = summary_frame([analysis]).iloc[0]
    assert (summary["optimizer"], summary["optimizer_flops"], summary["training_peak_bytes"]) == (
        "sgd-momentum", 4 * 58, 232 + 232 + 456)
    assert summary["training_peak_at"] == "backward of 1"
    layers = layer_frame(analysis).set_index("name")
    assert layers.loc["0", "optimizer_flops"] == 4 * 40 and layers.loc["2", "optimizer_flops"] == 4 * 18


def _flop_counter_mode_step(model: nn.Module, x: torch.Tensor) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    model.train()
    with FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    return int(counter.get_total_flops())


def test_flop_counter_mode_training_total_is_reproduced_exactly() -> None:
    from convcost.analyzer.conventions import flopcounter_training_total

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 16, 3), nn.Conv2d(16, 16, 3, groups=16), nn.Conv2d(16, 32, 3, groups=4),
                          nn.ConvTranspose2d(32, 8, 3, stride=2, groups=2), nn.Flatten(), nn.Linear(8 * 13 * 13, 10))
    x = torch.randn(2, 3, 12, 12)
    analysis = analyze(model, tuple(x.shape), training=True)
    assert analysis.training is not None
    assert flopcounter_training_total(analysis).total == _flop_counter_mode_step(model, x) == 2_830_272
    true_flops = 2 * (analysis.totals.macs + analysis.training.total.macs)
    assert true_flops < 2_830_272  # its weight gradients of grouped layers count `groups` times


@pytest.mark.parametrize("name", list_models())
def test_flop_counter_mode_training_total_on_every_built_in_model(name: str) -> None:
    from convcost.analyzer.conventions import flopcounter_training_total
    from convcost.architectures import model_info

    side = model_info(name).resolution
    model = create_model(name, device="meta")
    x = torch.empty(2, 3, side, side, device="meta")  # FlopCounterMode counts shapes: meta tensors suffice
    analysis = analyze(model, tuple(x.shape), training=True)
    assert analysis.training is not None
    reproduced = flopcounter_training_total(analysis).total
    assert reproduced == _flop_counter_mode_step(model, x)
    true_flops = 2 * (analysis.totals.macs + analysis.training.total.macs)
    grouped = any(layer.check is not None and layer.check.groups > 1 for layer in analysis.layers)
    # right without grouped convolutions; with them, every grouped layer's weight gradient counts `groups` times
    assert (reproduced > true_flops) if grouped else (reproduced == true_flops)


def test_flop_counter_mode_needs_a_training_step() -> None:
    from convcost.analyzer.conventions import flopcounter_training_total

    with pytest.raises(ValueError, match="needs a training step"):
        flopcounter_training_total(analyze(nn.Linear(2, 2), (1, 2)))


def test_freeze_and_trainable_patterns_on_the_command_line(tmp_path, capsys) -> None:
    import json

    from convcost.cli import main

    out = tmp_path / "head.json"
    assert main(["analyze", "efficientnet_b0", "--train", "--trainable", "fc.*", "-o", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    # only the classifier trains: its 1,281,000 parameters, and one grad-weight product of 1280·1000 MACs
    assert (data["trainable_params"], data["frozen_params"]) == (1_281_000, 5_288_548 - 1_281_000)
    assert (data["grad_weight_macs"], data["grad_input_macs"]) == (1_280_000, 0)
    out = tmp_path / "stem.json"
    assert main(["analyze", "efficientnet_b0", "--train", "--freeze", "stem.*", "-o", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    # the stem's conv (864) and batch norm (64) are frozen: its conv computes no gradient at all (10,838,016
    # MACs forward), and the next layer, the first depthwise conv (32·112·112·9 = 3,612,672 MACs), needs no
    # gradient of its input, which nothing trainable produced
    assert data["frozen_params"] == 928
    assert (data["grad_weight_macs"], data["grad_input_macs"]) == (385_814_752 - 10_838_016,
                                                                   374_976_736 - 3_612_672)
    assert main(["analyze", "efficientnet_b0", "--freeze", "head.x*"]) == 2
    assert "--freeze 'head.x*' matches no parameter; names look like: stem.conv.weight" in capsys.readouterr().err


def test_the_backward_check_catches_a_product_that_does_not_fit_the_formula() -> None:
    from dataclasses import replace

    from convcost.analyzer.crosscheck import backward_check

    analysis = analyze(nn.Sequential(Scale(), nn.Conv2d(3, 4, 3)), (1, 3, 8, 8), training=True)
    step = analysis.training
    assert step is not None and step.disagreements == ()
    wrong = dict(step.layers)
    # forward: 4·6·6 = 144 outputs · 27 = 3,888 MACs; twice the weight's gradient, half the input's
    wrong["1"] = BackwardCost(grad_input_macs=1_944, grad_weight_macs=7_776, flops=0)
    found = backward_check(analysis.layers, replace(step, layers=wrong))
    assert [(d.layer, d.quantity, d.values) for d in found] == [
        ("1", "grad_weight_macs", {"formula": 3_888, "dispatch": 7_776}),
        ("1", "grad_input_macs", {"formula": 3_888, "dispatch": 1_944})]
    frozen = nn.Sequential(Scale(), nn.Conv2d(3, 4, 3).requires_grad_(False))
    frozen_analysis = analyze(frozen, (1, 3, 8, 8), training=True)
    assert frozen_analysis.training is not None and frozen_analysis.training.disagreements == ()
    counted = dict(frozen_analysis.training.layers)
    counted["1"] = BackwardCost(grad_input_macs=3_888, grad_weight_macs=3_888, flops=0)  # a frozen weight's
    assert [d.quantity for d in backward_check(frozen_analysis.layers,
                                               replace(frozen_analysis.training, layers=counted))] == [
        "grad_weight_macs"]


def ancestors(name: str) -> list[str]:
    """``a.b.c`` → ``["a.b", "a", ""]``."""
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(len(parts) - 1, 0, -1)] + [""]


def _flop_counter_by_module(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """FlopCounterMode's convolution_backward FLOPs of a train-mode forward and backward, by module path (each
    module's figure includes its children's), keyed by convcost's module names (``""``: the root)."""
    from torch.utils.flop_counter import FlopCounterMode

    model.train()
    with FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    prefix = type(model).__name__
    found = {}
    for path, flops in counter.get_flop_counts().items():
        if path == prefix or path.startswith(prefix + "."):
            found[path[len(prefix) + 1:]] = sum(n for op, n in flops.items() if str(op) == "aten.convolution_backward")
    return found


@pytest.mark.parametrize("name", list_models())
def test_flop_counter_mode_agrees_layer_by_layer_where_it_is_right(name: str) -> None:
    """Three engines on every built-in model: the dispatch count, the closed forms (``disagreements`` empty) and
    FlopCounterMode, whose convolution_backward is right for ungrouped layers and counts a grouped layer's weight
    gradient ``groups`` times (depthwise: C times). Its module tracking in backward charges a projection
    shortcut's backward to the block's first convolution (they share the input): there the layers differ and the
    block agrees."""
    model = create_model(name, device="meta")
    x = torch.empty(2, 3, 64, 64, device="meta")  # FlopCounterMode counts shapes: meta tensors give its numbers
    analysis = analyze(model, tuple(x.shape), training=True)
    step = analysis.training
    assert step is not None and step.disagreements == ()
    theirs = _flop_counter_by_module(model, x)
    convs = [layer for layer in analysis.layers if layer.check is not None and layer.check.kind != "linear"]

    def expected(prefix: str) -> int:  # FlopCounterMode's figure, from convcost's per-layer split
        return sum(2 * (step.layers[layer.name].grad_input_macs
                        + layer.check.groups * step.layers[layer.name].grad_weight_macs)
                   for layer in convs if layer.check is not None
                   and (layer.name == prefix or layer.name.startswith(prefix + ".") or not prefix))

    misattributed = [layer.name for layer in convs if theirs.get(layer.name, 0) != expected(layer.name)]
    for layer in convs:
        if layer.check is not None and layer.check.groups == 1 and layer.name not in misattributed:
            assert theirs.get(layer.name, 0) == 2 * step.layers[layer.name].macs  # the truth, where it is right
    for layer_name in misattributed:
        # the smallest module around the layer on which FlopCounterMode agrees: its residual block
        block = next(prefix for prefix in ancestors(layer_name) if theirs.get(prefix, 0) == expected(prefix))
        inside = [layer.name for layer in convs if layer.name.startswith(block + ".")]
        assert block and layer_name.count(".") - block.count(".") <= 2, f"{layer_name}: agrees only at {block!r}"
        assert any(part in ("shortcut", "downsample") for name in inside for part in name.split(".")), inside
    assert theirs[""] == expected("")
    assert len(convs) - len(misattributed) > 20


def test_flop_counter_mode_counts_a_real_step_as_it_counts_meta() -> None:
    """FlopCounterMode on a real forward and backward (CPU tensors) gives the numbers the meta run gives."""
    torch.manual_seed(0)
    real = create_model("mobilenet_v2")
    meta = create_model("mobilenet_v2", device="meta")
    assert _flop_counter_by_module(real, torch.randn(2, 3, 64, 64)) == _flop_counter_by_module(
        meta, torch.empty(2, 3, 64, 64, device="meta"))


def test_compare_gains_training_columns(tmp_path) -> None:
    import csv

    from convcost.cli import main

    out = tmp_path / "family.csv"
    assert main(["compare", "efficientnet_b0", "resnet50", "--train", "--optimizer", "adam", "-o", str(out),
                 "--quiet"]) == 0
    rows = {row["model"]: row for row in csv.DictReader(out.read_text().splitlines())}
    assert int(rows["resnet50"]["backward_macs"]) == 8_060_354_560
    assert int(rows["efficientnet_b0"]["backward_macs"]) == 760_791_488
    # Adam: 13 FLOPs per trainable element (ResNet-50: 25,557,032)
    assert int(rows["resnet50"]["optimizer_flops"]) == 13 * 25_557_032
    assert rows["resnet50"]["optimizer"] == "adam" and int(rows["resnet50"]["training_peak_bytes"]) > 0


def test_the_html_page_shows_the_training_step() -> None:
    from convcost.reports.build import render_page

    page = render_page([analyze(create_model("resnet50"), (1, 3, 224, 224), training=True, optimizer="adam")])
    for needle in ("Backward MACs", "grad-input 3,971,170,304, grad-weight 4,089,184,256", "Training FLOPs",
                   "the adam step (332,241,416)", "Training peak"):
        assert needle in page
    assert "Backward MACs" not in render_page([analyze(nn.Linear(2, 2), (1, 2))])


class Tokens(nn.Module):
    """A transformer-style block: layer norm, a linear layer, the class token selected, a slice."""

    def __init__(self) -> None:
        super().__init__()
        self.norm, self.proj = nn.LayerNorm(8), nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(self.norm(x))
        return y[:, 0] + y[:, 1:3].sum(1)


def test_layer_norm_select_and_slice_backward_are_counted() -> None:
    analysis = analyze(nn.Sequential(Scale(), Tokens()), (2, 5, 8), training=True)
    step = analysis.training
    assert step is not None and step.unsupported == {}
    # layer norm's backward: 9 FLOPs per input element, 2·5·8 = 80 elements
    assert step.layers["1.norm"].flops == 720
    # select and slice place the gradient (free): the root module's own backward is the sum's and the add's
    assert step.layers["1.proj"].macs == 2 * 2 * 5 * 8 * 4


def test_a_failing_train_mode_forward_names_the_module_and_leaves_the_model() -> None:
    from convcost.analyzer import AnalysisError

    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)).eval()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    analyze(model, (1, 3, 1, 1))  # eval mode: one value per channel is fine
    with pytest.raises(AnalysisError) as failed:
        analyze(model, (1, 3, 1, 1), training=True)  # batch statistics of one value: PyTorch refuses to train
    assert str(failed.value).startswith("Sequential: the train-mode forward failed in '1': Expected more than 1 "
                                        "value per channel when training")
    assert not model.training and all(torch.equal(model.state_dict()[k], v) for k, v in before.items())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    from torch.nn.modules import module as module_hooks

    assert not module_hooks._global_forward_hooks and not module_hooks._global_forward_pre_hooks


class Twice(nn.Module):
    """One linear layer called twice: its weight's gradient sums both calls'."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(self.lin(x))


class Tied(nn.Module):
    """Two linear layers sharing one weight."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 8)
        self.b.weight = self.a.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)))


def test_a_weight_used_twice_gets_both_weight_gradients() -> None:
    # one call: 3·8·8 = 192 MACs; autograd sums the two weight gradients before they reach the parameter
    twice = analyze(Twice(), (3, 8), training=True).training
    assert twice is not None and twice.disagreements == ()
    # both calls' grad-weight; grad-input only for the second call (the first one's input is the data)
    assert (twice.layers["lin"].grad_weight_macs, twice.layers["lin"].grad_input_macs) == (384, 192)
    tied = analyze(Tied(), (3, 8), training=True).training
    assert tied is not None and tied.disagreements == ()
    assert (tied.layers["a"].grad_weight_macs, tied.layers["a"].grad_input_macs) == (192, 0)
    assert (tied.layers["b"].grad_weight_macs, tied.layers["b"].grad_input_macs) == (192, 192)


class Block(nn.Module):
    """Its own sigmoid sits between two children."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.sigmoid(self.a(x)))


class Positions(nn.Module):
    """Token embedding plus a learned position table, then residual MLP blocks: at batch 1 a gradient reaches the
    position table unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(4, 8)
        self.pos = nn.Parameter(torch.zeros(1, 5, 8))
        self.fc1, self.fc2 = nn.Linear(8, 8), nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x) + self.pos
        return h + self.fc2(torch.relu(self.fc1(h)))


class Expanded(nn.Module):
    """A weight used through a transpose and an expand in a batched product."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(4, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.bmm(x, self.weight.t().expand(2, 8, 4))


def test_a_parents_own_operations_between_its_children_are_its_own() -> None:
    step = analyze(nn.Sequential(Block()), (3, 8), training=True).training
    assert step is not None
    # the sigmoid's backward, 3 FLOPs for each of 3·8 elements, belongs to the block, not to the root
    assert (step.layers["0"].flops, step.layers[""].flops) == (72, 0)


def test_a_gradient_reaching_a_parameter_unchanged_does_not_make_products_weight_gradients() -> None:
    step = analyze(Positions(), (1, 5, 4), training=True).training
    assert step is not None and step.disagreements == ()
    # every linear layer: 5 tokens · in · out MACs forward; fc1 and fc2 compute both gradients, embed only its weight's
    assert (step.layers["fc1"].grad_input_macs, step.layers["fc1"].grad_weight_macs) == (320, 320)
    assert (step.layers["embed"].grad_input_macs, step.layers["embed"].grad_weight_macs) == (0, 160)


def test_a_weight_seen_through_a_transpose_and_an_expand_gets_its_weight_gradient() -> None:
    step = analyze(nn.Sequential(Scale(), Expanded()), (2, 5, 8), training=True).training
    assert step is not None
    # 2·5·8·4 = 320 MACs forward: the same for the input's gradient and the weight's
    assert (step.layers["1"].grad_input_macs, step.layers["1"].grad_weight_macs) == (320, 320)


def test_ignored_backward_operators_and_a_one_size_pool_window() -> None:
    import torch.nn.functional as F

    class Pool(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.avg_pool2d(torch.relu(x), [3])

    model = nn.Sequential(Scale(), Pool())
    step = analyze(model, (1, 1, 6, 6), training=True).training
    assert step is not None
    # the average pool's backward spreads each of 2·2 output gradients over its 3·3 window: 36 FLOPs
    relu_and_pool = step.layers["1"].flops
    ignored = analyze(model, (1, 1, 6, 6), training=True, ignore=["aten::avg_pool2d_backward"]).training
    assert ignored is not None and relu_and_pool - ignored.layers["1"].flops == 36


def test_an_output_with_nothing_to_differentiate_is_an_error() -> None:
    from dataclasses import dataclass as record

    from convcost.analyzer import AnalysisError

    @record
    class Out:
        logits: torch.Tensor

    class Wrapped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> Out:
            return Out(self.lin(x))

    with pytest.raises(AnalysisError, match="the output holds no floating-point tensor that requires grad"):
        analyze(Wrapped(), (2, 4), training=True)


def test_a_parameter_that_gets_no_gradient_is_not_stepped() -> None:
    class Half(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used, self.unused = nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.unused(x).detach()
            return self.used(x)

    step = analyze(Half(), (2, 4), training=True, optimizer="adam").training
    assert step is not None and step.disagreements == ()
    # only `used` (16 + 4 elements) receives a gradient: torch.optim skips the rest
    assert (step.trainable_params, step.optimizer_flops, step.gradient_bytes) == (20, 13 * 20, 80)


def test_outputs_a_forward_discards_are_freed_as_in_eager() -> None:
    class Discarding(nn.Module):
        def __init__(self, discarded: int) -> None:
            super().__init__()
            self.lin, self.discarded = nn.Linear(8, 100), discarded

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for _ in range(self.discarded):
                torch.relu(self.lin(x))  # computed and dropped: its graph and saved output go with it
            return torch.relu(self.lin(x))

    peaks = set()
    for discarded in (0, 1, 3):
        step = analyze(Discarding(discarded), (10, 8), training=True).training
        assert step is not None
        peaks.add(step.live_peak_bytes)
    assert len(peaks) == 1


def test_a_child_called_with_a_keyword_tensor_takes_only_its_own_nodes() -> None:
    class Child(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(8, 8)

        def forward(self, *, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x)

    class Parent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale, self.child = Scale(), Child()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.child(x=torch.sigmoid(self.scale(x)))

    step = analyze(Parent(), (3, 8), training=True).training
    assert step is not None
    # the sigmoid between the two children is the parent's, 3 FLOPs per element of 3·8; the child runs none itself
    assert (step.layers[""].flops, step.layers["child"].flops) == (72, 0)
    assert (step.layers["child.lin"].grad_input_macs, step.layers["child.lin"].grad_weight_macs) == (192, 192)


def test_weight_norm_backward_is_counted() -> None:
    from torch.nn.utils.parametrizations import weight_norm

    model = nn.Sequential(nn.Conv2d(3, 4, 3), weight_norm(nn.Conv2d(4, 4, 3)))
    step = analyze(model, (1, 3, 8, 8), training=True).training
    assert step is not None and step.unsupported == {} and step.disagreements == ()
    # 4·4·4 outputs · 4·9 = 2,304 MACs each way; weight norm's own backward, 6 FLOPs per weight element (144)
    assert (step.layers["1"].grad_input_macs, step.layers["1"].grad_weight_macs) == (2_304, 2_304)
    assert step.layers["1.parametrizations.weight.0"].flops >= 6 * 144


def test_json_and_repr_carry_the_backward_check() -> None:
    from convcost.reports.export import analysis_json

    analysis = analyze(nn.Sequential(Scale(), nn.Linear(8, 12)), (2, 8), training=True)
    assert analysis_json(analysis)["training_disagreements"] == []
    assert "0 backward disagreements" in repr(analysis)
    assert "training_disagreements" not in analysis_json(analyze(nn.Linear(8, 12), (2, 8)))


def test_flop_counter_mode_gaps_say_where_and_why() -> None:
    from convcost.analyzer.conventions import flopcounter_backward_gaps, flopcounter_training_total
    from convcost.reports.table import convention_text

    analysis = analyze(create_model("efficientnet_b0", device="meta"), (2, 3, 64, 64), training=True)
    assert analysis.training is not None
    gaps = flopcounter_backward_gaps(analysis)
    assert len(gaps) == 16 and all(gap.groups > 1 for gap in gaps)  # B0's sixteen depthwise convolutions
    true_flops = 2 * (analysis.totals.macs + analysis.training.total.macs)
    # the gaps are the whole difference between FlopCounterMode's training total and the truth
    assert flopcounter_training_total(analysis).total - true_flops == sum(g.tool_flops - g.convcost_flops
                                                                          for g in gaps)
    text = convention_text(flopcounter_training_total(analysis), analysis)
    assert "FlopCounterMode miscounts the backward of 16 grouped convolutions" in text
    assert f"ignores groups={gaps[0].groups} for the weight's gradient" in text.replace("\n    ", " ")
    assert flopcounter_backward_gaps(analyze(create_model("resnet50", device="meta"), (1, 3, 64, 64),
                                             training=True)) == ()


def test_batch_norm_with_a_cumulative_average_trains_and_keeps_its_counter() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, momentum=None))
    step = analyze(model, (2, 3, 8, 8), training=True).training  # its forward reads num_batches_tracked as a number
    assert step is not None
    # the conv's weight gradient: 2·4·6·6 outputs · 27 = 7,776 MACs
    assert step.total.grad_weight_macs == 7_776
    assert model[1].num_batches_tracked.item() == 0 and model[1].num_batches_tracked.device.type == "cpu"


def test_a_saved_tensor_modified_in_place_fails_as_in_eager() -> None:
    """Counting saved bytes must not switch off autograd's check: eager training of this model raises."""

    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.sigmoid(self.conv(x))
            y.mul_(2)  # sigmoid saved its output for backward
            return y

    with pytest.raises(AnalysisError, match="modified by an inplace operation"):
        analyze(Scaled(), (2, 3, 8, 8), training=True)


def test_a_plain_tensor_attribute_a_product_saves_is_not_an_activation() -> None:
    class Table(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.table = torch.ones(4, 6, 6)  # neither parameter nor buffer: the module holds it throughout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x) * self.table

    step = analyze(Table(), (2, 3, 8, 8), training=True).training
    plain = analyze(nn.Conv2d(3, 4, 3), (2, 3, 8, 8), training=True).training
    assert step is not None and plain is not None
    # the multiply saves the table (the conv output's gradient is the table's elements): counted as saved, but
    # never allocated nor freed by the step; what is held is the input and the output
    assert step.saved[""] == 4 * 6 * 6 * 4
    assert sum(held.bytes for held in step.held.values()) == 2 * 3 * 8 * 8 * 4 + 2 * 4 * 6 * 6 * 4
    assert step.held.keys() == plain.held.keys() == {""}


def test_per_layer_parameter_gradient_and_state_bytes() -> None:
    from convcost.reports.frames import layer_frame

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    model[0].requires_grad_(False)  # a frozen conv: held, but no gradient and no state
    analysis = analyze(model, (2, 3, 8, 8), training=True, optimizer="adam")
    step = analysis.training
    assert step is not None
    conv, bn, fc = (step.layer_bytes[name] for name in ("0", "1", "3"))
    assert (conv.parameter_bytes, conv.gradient_bytes, conv.state_bytes) == ((108 + 4) * 4, 0, 0)
    # BatchNorm: weight and bias train (8 floats); running mean and var (8 floats) and the int64 counter are held
    assert (bn.parameter_bytes, bn.gradient_bytes, bn.state_bytes) == (16 * 4 + 8, 8 * 4, 2 * 8 * 4)
    assert (fc.parameter_bytes, fc.gradient_bytes, fc.state_bytes) == (1_450 * 4, 1_450 * 4, 2 * 1_450 * 4)
    assert sum(b.parameter_bytes for b in step.layer_bytes.values()) == step.parameter_bytes
    assert sum(b.state_bytes for b in step.layer_bytes.values()) == step.state_bytes
    layers = layer_frame(analysis).set_index("name")
    assert list(layers.loc[["0", "1", "3"], "gradient_bytes"]) == [0, 32, 5_800]
    assert list(layers.loc[["0", "1", "3"], "optimizer_flops"]) == [0, 13 * 8, 13 * 1_450]  # Adam: 13 per element
