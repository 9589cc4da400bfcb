"""Analysis never changes the user's model: everything a forward could touch is put back, whatever happens.

Parameters and buffers are never written (the walk swaps them for ``meta`` stand-ins, and a
walk on real tensors runs on a copy); what a forward may still change is each module's own
``__dict__``: the training flag, plain tensor attributes (torchvision's ``AnchorGenerator``
reassigns ``cell_anchors``; a step counter or an exponential moving average kept in a plain
tensor is updated in place), lists, tuples and dicts of them, nested ones too, and hook tables.

:func:`preserved_model` records every module's ``__dict__`` entries and the contents of every
list, dict and set reachable from them (nested ones included), puts the model in eval mode, and
restores all of them on the way out — after a success, an exception or a ``KeyboardInterrupt``
alike: each entry is the same object again, and each container the same object with its original
items (so what a forward appended or inserted is gone). When the block runs the model's own
forward (``stand_ins``), every plain tensor reachable that way is also replaced, for the block
only, by a clone of it, so that an in-place update (``self.step += 1``, ``self.avg.mul_(0.9)``)
changes the clone, and the original keeps its values and its ``_version``. Parameters and buffers
(by identity, wherever they also appear) are not cloned: the walk gives them stand-ins of its own.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

#: ``__dict__`` entries every module has (its registered tensors and children, hook tables, the training flag):
#: their contents are restored (a forward that registers a parameter, a child or a hook is undone), but nothing in
#: them is cloned or walked.
_SLOTS = frozenset(nn.Module().__dict__)
_Container = list[Any] | dict[Any, Any] | set[Any]


def _containers(roots: list[Any]) -> list[tuple[_Container, _Container]]:
    """Every list, dict and set reachable from ``roots`` through lists, tuples, dicts and sets (each once), with a
    shallow copy of its items."""
    found: list[tuple[_Container, _Container]] = []
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        value = stack.pop()
        if not isinstance(value, (list, tuple, dict, set)) or id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, dict):
            found.append((value, dict(value)))
            stack.extend(value.values())
        elif isinstance(value, list):
            found.append((value, list(value)))
            stack.extend(value)
        elif isinstance(value, set):
            found.append((value, set(value)))
        else:
            stack.extend(value)
    return found


def plain_tensors(model: nn.Module) -> Iterator[torch.Tensor]:
    """Every tensor in a module's ``__dict__`` outside its parameter, buffer and child tables, those in (nested)
    lists, tuples, dicts and sets included (each container once)."""
    seen: set[int] = set()
    stack: list[Any] = [value for module in model.modules() for key, value in module.__dict__.items()
                        if key not in _SLOTS]
    while stack:
        value = stack.pop()
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, (list, tuple, dict, set)) and id(value) not in seen:
            seen.add(id(value))
            stack.extend(value.values() if isinstance(value, dict) else value)


def stand_in(tensor: torch.Tensor) -> torch.Tensor:
    """A clone of ``tensor`` with its own storage and version counter: same values, dtype, device and strides, and
    the same ``requires_grad`` and leaf-ness (no link to the original's autograd graph)."""
    clone = tensor.detach().clone()
    if tensor.requires_grad:
        clone.requires_grad_()
        if not tensor.is_leaf:  # a computed tensor (old-style spectral norm's weight) stays a non-leaf
            with torch.enable_grad():
                clone = clone.clone()
    if isinstance(tensor, nn.Parameter):
        clone = nn.Parameter(clone, requires_grad=tensor.requires_grad)
    return clone


class _StandIns:
    """Replaces plain tensors inside a module's ``__dict__`` values by clones: lists and dicts in place, a tuple
    holding one by a new tuple of the same type. One clone per tensor, so aliases stay aliases."""

    def __init__(self, registered: set[int]) -> None:
        self.registered = registered
        self.done: dict[int, Any] = {}

    def swap(self, value: Any) -> Any:
        """``value`` with every plain tensor in it replaced (lists and dicts are changed in place)."""
        key = id(value)
        if key in self.done:
            return self.done[key]
        if isinstance(value, torch.Tensor):
            new: Any = value if key in self.registered else stand_in(value)
            self.done[key] = new
            return new
        if isinstance(value, list):
            self.done[key] = value
            for index, item in enumerate(value):
                replaced = self.swap(item)
                if replaced is not item:
                    value[index] = replaced
            return value
        if isinstance(value, dict):
            self.done[key] = value
            for name, item in list(value.items()):
                replaced = self.swap(item)
                if replaced is not item:
                    value[name] = replaced
            return value
        if isinstance(value, tuple):
            self.done[key] = value  # a tuple reached again inside itself stays as it is
            items = [self.swap(item) for item in value]
            if any(new_item is not item for new_item, item in zip(items, value, strict=True)):
                rebuilt = _rebuilt(value, items)
                self.done[key] = rebuilt
                return rebuilt
            return value
        return value


def _rebuilt(value: tuple[Any, ...], items: list[Any]) -> tuple[Any, ...]:
    """A tuple like ``value`` (a named tuple keeps its type) holding ``items``; ``value`` itself when its type cannot
    be rebuilt from items."""
    kind = type(value)
    if kind is tuple:
        return tuple(items)
    make = getattr(kind, "_make", None)
    if callable(make):
        rebuilt = make(items)
        if isinstance(rebuilt, tuple):
            return rebuilt
    return value


class _ModelState:
    """Every module's ``__dict__`` entries and the containers reachable from them, as they were."""

    def __init__(self, model: nn.Module) -> None:
        self.modules = list(model.modules())
        self.entries = [dict(module.__dict__) for module in self.modules]
        #: containers that were empty (most hook and parameter tables): emptied again if something was added
        self.empty: list[_Container] = []
        self.slots: list[tuple[_Container, _Container]] = []
        roots: list[Any] = []
        for entries in self.entries:
            for key, value in entries.items():
                if not isinstance(value, (dict, list, tuple, set)):
                    continue
                if not value:
                    if not isinstance(value, tuple):
                        self.empty.append(value)
                elif key in _SLOTS:
                    if not isinstance(value, tuple):
                        self.slots.append((value, copy.copy(value)))  # restored, its items not walked
                else:
                    roots.append(value)
        self.containers = _containers(roots)

    def stand_in_tensors(self) -> None:
        """Replace every plain tensor attribute, in (nested) containers too, by a clone (see the module docstring)."""
        registered = {id(t) for module in self.modules for table in (module._parameters, module._buffers)
                      for t in table.values() if t is not None}
        swapper = _StandIns(registered)
        for module in self.modules:
            state = module.__dict__
            for key, value in list(state.items()):
                if key in _SLOTS or not (isinstance(value, torch.Tensor)
                                         or (isinstance(value, (list, tuple, dict)) and value)):
                    continue
                replaced = swapper.swap(value)
                if replaced is not value:
                    state[key] = replaced

    def restore(self) -> None:
        """Every entry and every container's contents as they were."""
        for module, entries in zip(self.modules, self.entries, strict=True):
            state = module.__dict__
            if len(state) != len(entries) or not all(key in entries for key in state):
                for key in [key for key in state if key not in entries]:
                    del state[key]
            for key, value in entries.items():
                if state.get(key, self) is not value:
                    state[key] = value
        for container in self.empty:
            if container:
                container.clear()
        for container, items in self.slots:
            _refill(container, items)
        for container, items in self.containers:
            _refill(container, items)


def _refill(container: _Container, items: _Container) -> None:
    """``container`` holding ``items`` again (only written when something differs)."""
    if isinstance(container, list):
        assert isinstance(items, list)
        if len(container) != len(items) or any(a is not b for a, b in zip(container, items, strict=True)):
            container[:] = items
    elif isinstance(container, dict):
        assert isinstance(items, dict)
        if container.keys() != items.keys() or any(container[k] is not v for k, v in items.items()):
            container.clear()
            container.update(items)
    elif container != items:
        container.clear()
        container.update(items)


@contextmanager
def preserved_model(model: nn.Module, *, stand_ins: bool = False) -> Iterator[None]:
    """Put ``model`` in eval mode for the block and restore every submodule's state after it (see the module
    docstring).

    Args:
        stand_ins: the block runs the model's own forward: plain tensor attributes are clones for the block.
    """
    state = _ModelState(model)
    try:
        if stand_ins:
            state.stand_in_tensors()
        model.eval()
        yield
    finally:
        state.restore()
