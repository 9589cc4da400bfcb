"""Real tensors for the walks that need them: a copy of the model and inputs of the given shapes.

A forward whose shapes depend on values (``nonzero``, boolean masks, NMS, ``.item()``) cannot
run on ``meta`` tensors. Such a model is walked on real tensors instead, always on a copy:
the user's module is never run. The copy keeps the model's own weights; a model on ``meta``
is materialised on the CPU and initialised by each module's ``reset_parameters`` from a
fixed seed (its other buffers are left as allocated). Inputs the caller gave as real
tensors are used as they are; shapes become uniform random values in [0, 1) from a fixed
seed (integer tensors: zeros), so a repeated analysis sees the same data.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_map

from .preserve import plain_tensors, stand_in

#: Seed of the random inputs and of a materialised model's initialisation.
SEED = 0


def _is_meta(model: nn.Module) -> bool:
    return any(t.is_meta for t in itertools.chain(model.parameters(), model.buffers()))


def runnable_copy(model: nn.Module, *, initialise: bool = True) -> nn.Module:
    """A copy of ``model`` that runs on real tensors; ``model`` itself is not touched.

    Args:
        initialise: for a ``meta`` model, fill the copy's weights by ``reset_parameters`` (counts
            that depend on values need plausible ones); otherwise they stay uninitialised.
    """
    if not _is_meta(model):
        return model_copy(model)
    runnable = model_copy(model).to_empty(device="cpu")
    if initialise:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(SEED)
            for module in runnable.modules():
                reset = getattr(module, "reset_parameters", None)
                if callable(reset):
                    reset()
    return runnable


def model_copy(model: nn.Module) -> nn.Module:
    """``copy.deepcopy(model)``, also when a module holds a computed (non-leaf) tensor, which ``deepcopy`` refuses:
    old-style ``torch.nn.utils.spectral_norm`` and ``weight_norm`` keep the weight they compute in a plain
    attribute. Such a tensor is copied as a detached clone (the hooks that made it compute it again)."""
    registered = (t for module in model.modules() for table in (module._parameters, module._buffers)
                  for t in table.values() if t is not None)
    computed = {id(t): t for t in itertools.chain(registered, plain_tensors(model)) if not t.is_leaf}
    memo: dict[int, Any] = {key: stand_in(tensor).detach() for key, tensor in computed.items()}
    memo[id(memo)] = list(computed.values())  # deepcopy's keep-alive list: the originals outlive the copy's ids
    return copy.deepcopy(model, memo)


def real_inputs(inputs: tuple[Any, ...] | Mapping[str, Any], model: nn.Module,
                dtype: torch.dtype | None = None) -> Any:
    """``inputs`` with every ``meta`` tensor replaced by real values on the model's device.

    Floating tensors take ``dtype`` (default: the model's first parameter's dtype).
    """
    reference = next(itertools.chain(model.parameters(), model.buffers()), None)
    device = reference.device if reference is not None else torch.device("cpu")
    floating = dtype or (reference.dtype if reference is not None and reference.is_floating_point()
                         else torch.float32)
    generator = torch.Generator().manual_seed(SEED)

    def convert(value: Any) -> Any:
        if not isinstance(value, torch.Tensor) or not value.is_meta:
            return value
        if value.is_floating_point():
            return torch.rand(value.shape, generator=generator, dtype=floating).to(device)
        return torch.zeros(value.shape, dtype=value.dtype, device=device)

    return tree_map(convert, inputs)


@contextmanager
def intra_op_threads(threads: int | None) -> Iterator[int]:
    """Torch's intra-op CPU threads set to ``threads`` for the block (None: as they are), restored after; yields
    the count in use."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
