"""Analysis never changes the user's model: everything a forward could touch is put back, whatever happens.

Parameters and buffers are never written (the walk swaps them for ``meta`` stand-ins, and a
walk on real tensors runs on a copy); what a forward may still change in place is each
module's own ``__dict__``: the training flag, plain tensor attributes a forward assigns
(torchvision's ``AnchorGenerator`` caches ``cell_anchors`` there), lists and dicts of them,
and hook tables. :func:`preserved_model` records every module's ``__dict__`` entries and the
contents of its lists and dicts, puts the model in eval mode, and restores all of them on the
way out — after a success, an exception or a ``KeyboardInterrupt`` alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from torch import nn


@dataclass(frozen=True)
class _ModuleState:
    """One module's ``__dict__`` entries, shallow copies of the non-empty lists and dicts among them, and the
    names of the empty ones (most of a module's hook and parameter tables)."""

    module: nn.Module
    entries: dict[str, Any]
    lists: dict[str, list[Any]]
    dicts: dict[str, dict[Any, Any]]
    empty: tuple[str, ...]

    @classmethod
    def of(cls, module: nn.Module) -> _ModuleState:
        entries = dict(module.__dict__)
        lists: dict[str, list[Any]] = {}
        dicts: dict[str, dict[Any, Any]] = {}
        empty: list[str] = []
        for key, value in entries.items():
            if isinstance(value, dict):
                if value:
                    dicts[key] = dict(value)
                else:
                    empty.append(key)
            elif isinstance(value, list):
                if value:
                    lists[key] = list(value)
                else:
                    empty.append(key)
        return cls(module, entries, lists, dicts, tuple(empty))

    def restore(self) -> None:
        state = self.module.__dict__
        entries = self.entries
        if len(state) != len(entries) or not all(key in entries for key in state):
            for key in [key for key in state if key not in entries]:
                del state[key]
        for key, value in entries.items():
            if state.get(key, self) is not value:
                state[key] = value
        for key in self.empty:
            container = entries[key]
            if container:
                container.clear()
        for key, items in self.lists.items():
            current = entries[key]
            if len(current) != len(items) or any(a is not b for a, b in zip(current, items, strict=True)):
                current[:] = items
        for key, mapping in self.dicts.items():
            current = entries[key]
            if current.keys() != mapping.keys() or any(current[k] is not v for k, v in mapping.items()):
                current.clear()
                current.update(mapping)


@contextmanager
def preserved_model(model: nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode for the block and restore every submodule's state after it (see the module
    docstring)."""
    states = [_ModuleState.of(module) for module in model.modules()]
    try:
        model.eval()
        yield
    finally:
        for state in states:
            state.restore()
