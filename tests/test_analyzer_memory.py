"""Activation, training (saved-for-backward) and peak memory on tiny modules, in bytes."""

import torch
from torch import nn

from convcost.analyzer import analyze
from convcost.architectures.layers import MemoryEfficientSwish, Swish

SHAPE = (1, 3, 8, 8)  # input: 192 floats = 768 bytes


def test_conv_relu_memory() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.ReLU())
    analysis = analyze(model, SHAPE)
    # each output is 1·4·8·8 = 256 floats = 1,024 bytes
    assert analysis.layer("0").output_bytes == 1_024
    assert analysis.layer("1").output_bytes == 1_024
    assert analysis.totals.activation_bytes == 2_048
    # conv saves its input (768; its weight is a parameter, excluded), ReLU saves its output (1,024)
    assert analysis.layer("0").saved_bytes == 768
    assert analysis.layer("1").saved_bytes == 1_024
    assert analysis.totals.training_bytes == 1_792
    # peak while ReLU runs: input 768 (held by the caller) + conv output 1,024 + ReLU output 1,024
    assert analysis.totals.peak_bytes == 2_816
    assert analysis.totals.peak_module == "1"


def test_bytes_follow_dtype() -> None:
    model = nn.Conv2d(3, 4, 3, padding=1, bias=False)
    assert analyze(model, SHAPE, dtype=torch.float16).totals.activation_bytes == 512
    assert analyze(model, SHAPE, dtype=torch.float64).totals.activation_bytes == 2_048


def test_in_place_and_views_allocate_nothing() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.ReLU(inplace=True), nn.Flatten())
    analysis = analyze(model, SHAPE)
    assert analysis.layer("1").output_bytes == 0
    assert analysis.layer("2").output_bytes == 0
    assert analysis.totals.activation_bytes == 1_024


def test_swish_variants_saved_bytes() -> None:
    def saved_by_activation(activation: nn.Module) -> int:
        # a layer with weights in front, so autograd needs the activation's gradient
        analysis = analyze(nn.Sequential(nn.Linear(16, 16, bias=False), activation), (4, 16))
        return analysis.layer("1").saved_bytes

    # 4·16 floats = 256 bytes per tensor. x·sigmoid(x): sigmoid saves its output, the multiply saves
    # x and sigmoid(x); sigmoid(x) is already counted: 2 storages = 512 bytes
    assert saved_by_activation(Swish()) == 512
    # the custom autograd function and nn.SiLU save only x
    assert saved_by_activation(MemoryEfficientSwish()) == 256
    assert saved_by_activation(nn.SiLU()) == 256


def test_frozen_model_saves_nothing_for_its_weights() -> None:
    model = nn.Conv2d(3, 4, 3, bias=False).requires_grad_(False)
    assert analyze(model, SHAPE).totals.training_bytes == 0


def test_the_cpu_peak_adds_a_convolutions_scratch_space() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.ReLU())
    totals = analyze(model, SHAPE).totals
    # while the conv runs: input 768 + output 1,024, and oneDNN's copies of the larger of them (1,024) and of the
    # weight (4·3·3·3 floats = 432): 3,248, above the tensors' own peak of 2,816 (while ReLU runs)
    assert (totals.workspace_peak_bytes, totals.workspace_module) == (768 + 1_024 + 1_024 + 432, "0")
    assert totals.peak_bytes == 2_816
    # no convolution: the CPU peak is the tensors' peak
    linear = analyze(nn.Sequential(nn.Linear(8, 8), nn.ReLU()), (2, 8)).totals
    assert (linear.workspace_peak_bytes, linear.workspace_module) == (linear.peak_bytes, linear.peak_module)


def test_senet18_cpu_peak_is_its_measured_peak() -> None:
    from convcost.architectures import create_model

    totals = analyze(create_model("senet18", device="meta"), (2, 3, 224, 224)).totals
    # 64 channels at 224 × 224: one map is 2·64·224·224·4 = 25,690,112 bytes; the convolution holds one more
    # (measured: benchmarks/memory_truth.py, 148.1 MiB against 148.3 predicted; the tensors alone 123.6)
    assert totals.workspace_peak_bytes - totals.peak_bytes == 25_690_112 + 64 * 64 * 9 * 4
    assert totals.workspace_module == "stages.0.1.conv2"
