"""Module attribution: which module is running, and what each module was called with.

Attribution rule: every operator belongs to the innermost module whose ``forward`` is
running when it executes (its *own* cost); a module's inclusive cost adds its
descendants'. A module called twice is counted twice. A module reachable under two names
is reported under the first name ``named_modules`` gives it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.utils._pytree import tree_leaves
from torch.utils.hooks import RemovableHandle

Shape = tuple[int, ...]


def tensor_shapes(value: Any) -> tuple[Shape, ...]:
    """Shapes of every tensor inside a (nested) tuple, list or dict."""
    if isinstance(value, torch.Tensor):
        return (tuple(value.shape),)
    if isinstance(value, tuple) and all(isinstance(v, torch.Tensor) for v in value):
        return tuple(tuple(v.shape) for v in value)
    return tuple(tuple(leaf.shape) for leaf in tree_leaves(value) if isinstance(leaf, torch.Tensor))


@dataclass
class ModuleCalls:
    """What a module was called with, call by call."""

    inputs: list[tuple[Shape, ...]] = field(default_factory=list)
    outputs: list[tuple[Shape, ...]] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Number of calls."""
        return len(self.inputs)


class ModuleTracker:
    """Keeps the stack of running module names through global forward hooks.

    Use as a context manager: the hooks are registered on entry and always removed on exit.
    Global hooks (two handles) rather than one pair per submodule keep big models cheap;
    modules outside ``model`` are ignored. The exit hook runs even when a forward raises, so
    the stack stays right when a model catches an exception from a submodule; a call that
    raised is not recorded in :attr:`calls`, and :meth:`failed_in` names where an exception
    started.
    """

    def __init__(self, model: nn.Module, *, record_shapes: bool = True) -> None:
        self.names: dict[int, str] = {}
        for name, module in model.named_modules():
            self.names.setdefault(id(module), name)
        self._record_shapes = record_shapes
        self.stack: list[str] = []
        self._call_inputs: list[tuple[Shape, ...]] = []
        self.calls: dict[str, ModuleCalls] = {}
        self._origins: dict[int, tuple[BaseException, str]] = {}
        self._handles: list[RemovableHandle] = []

    @property
    def current(self) -> str:
        """Name of the innermost running module (``""`` is the root)."""
        return self.stack[-1] if self.stack else ""

    def failed_in(self, error: BaseException) -> str | None:
        """The innermost module whose forward ``error`` propagated out of, if any."""
        origin = self._origins.get(id(error))
        return origin[1] if origin is not None and origin[0] is error else None

    def __enter__(self) -> ModuleTracker:
        self._handles = [
            register_module_forward_pre_hook(self._enter_hook),
            register_module_forward_hook(self._exit_hook, always_call=True),
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _enter_hook(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        name = self.names.get(id(module))
        if name is None:
            return
        self.stack.append(name)
        if self._record_shapes:
            self._call_inputs.append(tensor_shapes(args))

    def _exit_hook(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        name = self.names.get(id(module))
        if name is None:
            return
        self.stack.pop()
        inputs = self._call_inputs.pop() if self._record_shapes else ()
        error = sys.exc_info()[1]
        if output is None and error is not None:  # the forward raised: _call_impl runs this hook from `except`
            self._origins.setdefault(id(error), (error, name))
            return
        if self._record_shapes:
            calls = self.calls.get(name)
            if calls is None:
                self.calls[name] = calls = ModuleCalls()
            calls.inputs.append(inputs)
            calls.outputs.append(tensor_shapes(output))


@contextmanager
def preserved_training_flags(model: nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode for the block and restore every submodule's own flag after."""
    flags = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        yield
    finally:
        for module, training in flags:
            module.training = training
