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
