"""Stochastic depth (Huang et al., 2016) applied per sample to a residual branch."""

from __future__ import annotations

import torch
from torch import nn


class DropPath(nn.Module):
    """Zero a whole sample's branch with probability ``rate`` in training, else scale by 1/keep.

    The identity in eval mode and when ``rate`` is 0.
    """

    def __init__(self, rate: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"drop path rate must be in [0, 1); got {rate}")
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self) -> str:
        return f"rate={self.rate}"
