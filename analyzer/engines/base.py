"""The engine plug-in seam: what an engine is, and the registry ``analyze`` reads.

An engine is an independent source of per-module operator costs. Every analysis walks the
model once on ``meta`` tensors (the dispatch walk, which also measures shapes and memory);
an engine turns that walk, or its own pass over the model, into :class:`EngineCounts`.
``analyze(engine=...)``, the cross-check, the verdict and the command line's ``--engine``
choices all read the registry (:data:`~.names.ENGINES`). A new engine is one module in this
package, named after the engine, that calls :func:`register_engine`, plus a member of
:class:`~.names.EngineName`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from ..formulas.ops import OpKey
from ..formulas.table import DEFAULT_OPS, OpTable
from ..plugins import NotRegisteredError
from .counts import EngineCounts, OpTally
from .names import ALL, ENGINES, EngineName, EngineSelection, engine_choices
from .tracker import ModuleCalls


@dataclass(frozen=True)
class EngineContext:
    """What an engine may read.

    Attributes:
        model: the user's model, in eval mode; an engine must leave it as it found it.
        inputs: example inputs (positional tuple or keyword dict); tensors may be ``meta``.
        dtype: dtype of floating inputs and parameters.
        calls: per module name, the input and output shapes of every call in the dispatch walk.
        reference: the dispatch walk's own counts.
        functions: per module name, the matrix-product torch functions it called, costed by their own
            formulas (recorded when an engine that ``reads_functions`` was chosen; else empty).
        unread_functions: per module name, such functions whose arguments no formula could read → calls.
        ops: the operator formulas of this analysis (the registry's, or its own overrides).
    """

    model: nn.Module
    inputs: tuple[Any, ...] | Mapping[str, Any]
    dtype: torch.dtype
    calls: Mapping[str, ModuleCalls]
    reference: EngineCounts
    functions: Mapping[str, Mapping[OpKey, OpTally]] = field(default_factory=dict)
    unread_functions: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    ops: OpTable = DEFAULT_OPS


class Engine(Protocol):
    """An engine plug-in.

    Attributes:
        name: its registry key.
        label: how prose names it (``the analytic engine``, ``fvcore``).
        description: one line on how it counts (shown in ``--help`` and reports).
        keyword_inputs: whether it can count a model called with keyword arguments.
        reads_functions: whether it needs the walk to cost every matrix-product torch function
            (:attr:`EngineContext.functions`).
        blind_spot: why it may attribute no conv/linear operator to a module that runs some
            (the cross-check's reason when only this engine sees zero), or ``""``.
        lone_reason: what it means when this engine alone differs from the others, or ``""``
            for the default ("a counting bug in <engine>").
    """

    name: EngineName
    label: str
    description: str
    keyword_inputs: bool
    reads_functions: bool
    blind_spot: str
    lone_reason: str

    def count(self, context: EngineContext) -> EngineCounts:
        """Per-module own operator costs, in convcost's units."""
        ...


def register_engine(engine: Engine) -> Engine:
    """Add ``engine`` to the registry.

    Raises:
        ValueError: its name is not an :class:`EngineName`, or already registered.
    """
    if not isinstance(engine.name, EngineName):
        raise ValueError(f"an engine's name must be an EngineName member; got {engine.name!r}")
    return ENGINES.register(engine)


def unregister_engine(name: EngineName) -> Engine | None:
    """Remove and return the engine registered as ``name`` (for tests that stand another in its place)."""
    return ENGINES.unregister(name)


def registered_engines() -> tuple[Engine, ...]:
    """Every registered engine, in :class:`EngineName` order."""
    return tuple(ENGINES)


def get_engine(name: EngineName | str) -> Engine:
    """The engine registered as ``name``.

    Raises:
        NotRegisteredError: no such engine registered (the message lists them).
    """
    valid = [engine.name.value for engine in registered_engines()]
    if name not in valid:
        raise NotRegisteredError(f"engine must be one of {', '.join(valid)}; got {name!r}")
    return ENGINES.get(EngineName(name))


def parse_selection(value: EngineSelection | str) -> EngineSelection:
    """``value`` as a registered engine name or ``"all"``.

    Raises:
        NotRegisteredError: neither (the message lists the valid choices).
    """
    if value == ALL:
        return ALL
    valid = [*(engine.name.value for engine in registered_engines()), ALL]
    if value not in valid:
        raise NotRegisteredError(f"engine must be one of {', '.join(valid)}; got {value!r}")
    return EngineName(value)


#: Every value :func:`parse_selection` accepts: the registered engines, then ``all``.
selection_choices = engine_choices
