"""Squeeze-and-Excitation (Hu et al., 2018): channel gates from globally pooled features."""

from __future__ import annotations

import torch
from torch import nn

from .activations import create_activation


def se_channels(block_in_channels: int, se_ratio: float) -> int:
    """Squeeze width ``max(1, int(C_in * se_ratio))``, from the block's *input* channels."""
    return max(1, int(block_in_channels * se_ratio))


class SqueezeExcite(nn.Module):
    """``x * sigmoid(fc2(act(fc1(pool(x)))))``: global average pool, 1×1 convs with bias (torchvision layout).

    Args:
        channels: channels of the tensor being gated (C).
        squeeze_channels: bottleneck width (C_r); see :func:`se_channels`.
    """

    def __init__(self, channels: int, squeeze_channels: int, activation: str = "silu") -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.act = create_activation(activation)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))
        return x * scale
