"""A real training step's saved-for-backward bytes, to check the ``meta`` count against.

:func:`real_saved_bytes` runs a train-mode forward and its backward on real CPU tensors, on a copy
of the model (:func:`~convcost.analyzer.real_run.runnable_copy`; the user's module is never run),
and lets autograd itself report what it saves: a saved-tensor hook sees every tensor the graph
keeps, and each storage is counted once, parameters and buffers excluded. That is the quantity
:attr:`~convcost.analyzer.records.TrainingCounts.saved_bytes` predicts, so the two must be equal
to the byte.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .engines.dispatch import call_model, meta_inputs, storage_key
from .real_run import real_inputs, runnable_copy

__all__ = ["real_saved_bytes"]


def real_saved_bytes(model: nn.Module, inputs: tuple[Any, ...] | Mapping[str, Any],
                     dtype: torch.dtype = torch.float32) -> int:
    """Bytes autograd saves for backward in a real train-mode step of a copy of ``model`` (CPU tensors).

    Args:
        inputs: a tuple of positional or a dict of keyword arguments, as tensors or ``meta`` stand-ins (those
            become random values of their shape, floating ones of ``dtype``).

    Raises:
        ValueError: the output holds no floating tensor that requires grad.
    """
    runnable = runnable_copy(model).to(dtype=dtype).train()
    args = real_inputs(meta_inputs(inputs, dtype), runnable, dtype)
    weights = {storage_key(t) for t in itertools.chain(runnable.parameters(), runnable.buffers())}
    seen: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        key = storage_key(tensor)
        if key not in weights:
            seen[key] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, _unpack):
        output = call_model(runnable, args)
    roots = [t for t in torch.utils._pytree.tree_leaves(output)
             if isinstance(t, torch.Tensor) and t.requires_grad and t.is_floating_point()]
    if not roots:
        raise ValueError("the output holds no floating-point tensor that requires grad: nothing to differentiate")
    torch.autograd.backward(roots, grad_tensors=[torch.ones_like(t) for t in roots])
    return sum(seen.values())


def _unpack(tensor: torch.Tensor) -> torch.Tensor:
    return tensor
