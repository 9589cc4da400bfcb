"""Activations by name: nn.SiLU (default), Swish written out, and a memory-efficient Swish."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


class Swish(nn.Module):
    """Swish written as ``x * sigmoid(x)``: autograd saves both ``x`` and ``sigmoid(x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class _SwishFunction(torch.autograd.Function):
    """Swish whose backward recomputes ``sigmoid(x)``, so only ``x`` is saved."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        sig = torch.sigmoid(x)
        return grad_output * (sig * (1 + x * (1 - sig)))


class MemoryEfficientSwish(nn.Module):
    """Swish as a custom autograd function that saves only its input for backward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SwishFunction.apply(x)


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "silu": nn.SiLU,
    "swish": Swish,
    "memory_efficient_swish": MemoryEfficientSwish,
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "hardswish": nn.Hardswish,
}


def check_activation(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a key of :data:`ACTIVATIONS`."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {name!r}")


def create_activation(name: str) -> nn.Module:
    """A fresh activation module for ``name`` (see :data:`ACTIVATIONS`)."""
    check_activation(name)
    return ACTIVATIONS[name]()
