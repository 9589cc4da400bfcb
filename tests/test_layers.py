"""Activations, stochastic depth and squeeze-and-excitation."""

import pytest
import torch
from torch import nn

from convcost.architectures.layers import DropPath, MemoryEfficientSwish, SqueezeExcite, Swish, se_channels


def saved_tensor_count(module: nn.Module, x: torch.Tensor) -> int:
    saved: list[torch.Tensor] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        module(x)
    return len(saved)


def test_memory_efficient_swish_gradient_matches_autograd() -> None:
    x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(MemoryEfficientSwish(), (x,))
    (grad_reference,) = torch.autograd.grad((x * torch.sigmoid(x)).sum(), x)
    (grad_efficient,) = torch.autograd.grad(MemoryEfficientSwish()(x).sum(), x)
    torch.testing.assert_close(grad_efficient, grad_reference)


def test_memory_efficient_swish_saves_only_its_input() -> None:
    x = torch.randn(2, 8, requires_grad=True)
    assert saved_tensor_count(MemoryEfficientSwish(), x) == 1
    assert saved_tensor_count(Swish(), x) > 1  # sigmoid saves its output, mul saves both operands


def test_swish_equals_silu() -> None:
    x = torch.randn(4, 4)
    torch.testing.assert_close(Swish()(x), nn.SiLU()(x))
    torch.testing.assert_close(MemoryEfficientSwish()(x), nn.SiLU()(x))


def test_drop_path_is_identity_in_eval() -> None:
    layer = DropPath(0.5).eval()
    x = torch.randn(8, 3, 4, 4)
    assert layer(x) is x


def test_drop_path_drops_whole_samples_and_rescales() -> None:
    torch.manual_seed(0)
    layer = DropPath(0.5).train()
    x = torch.randn(64, 3, 4, 4)
    out = layer(x)
    dropped = kept = 0
    for sample_in, sample_out in zip(x, out, strict=True):
        if torch.count_nonzero(sample_out) == 0:
            dropped += 1
        else:
            torch.testing.assert_close(sample_out, sample_in / 0.5)
            kept += 1
    assert dropped > 0 and kept > 0


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_drop_path_rejects_rates_outside_unit_interval(rate: float) -> None:
    with pytest.raises(ValueError, match=r"drop path rate must be in \[0, 1\)"):
        DropPath(rate)


def test_se_width_comes_from_block_input() -> None:
    assert se_channels(16, 0.25) == 4
    assert se_channels(2, 0.25) == 1
    se = SqueezeExcite(96, se_channels(16, 0.25))
    # fc1 96·4 + 4, fc2 4·96 + 96 = 868
    assert sum(p.numel() for p in se.parameters()) == 868
