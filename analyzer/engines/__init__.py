"""Counting engines: independent sources of per-module operator costs, one plug-in module each.

Every module here that calls :func:`~.base.register_engine` is an engine; the registry imports
them all the first time it is read (see :mod:`convcost.analyzer.plugins`). Names are imported
on first use, so naming an engine (:mod:`.names`) does not load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .base import (
        Engine,
        EngineContext,
        get_engine,
        parse_selection,
        register_engine,
        registered_engines,
        selection_choices,
        unregister_engine,
    )
    from .counts import EngineCounts, OpTally
    from .names import ALL, PRIMARY, EngineName, EngineSelection, engine_choices

__all__ = [
    "ALL",
    "PRIMARY",
    "Engine",
    "EngineContext",
    "EngineCounts",
    "EngineName",
    "EngineSelection",
    "OpTally",
    "engine_choices",
    "get_engine",
    "parse_selection",
    "register_engine",
    "registered_engines",
    "selection_choices",
    "unregister_engine",
]
_SOURCES = {name: ".names" for name in ("ALL", "PRIMARY", "EngineName", "EngineSelection", "engine_choices")}
_SOURCES |= {name: ".counts" for name in ("EngineCounts", "OpTally")}
_SOURCES |= {name: ".base" for name in __all__ if name not in _SOURCES}
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
