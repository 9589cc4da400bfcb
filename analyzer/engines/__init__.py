"""Counting engines: independent sources of per-module operator costs, one plug-in module each.

Every module here that calls :func:`~.base.register_engine` is an engine, and is named after it
(``fvcore.py`` registers ``fvcore``); the registry imports them all the first time an engine is
needed (see :mod:`convcost.analyzer.plugins`), and names them from their module names before
that. Names are imported on first use, so naming an engine (:mod:`.names`) does not load torch.
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
    from .names import ALL, ENGINES, PRIMARY, EngineName, EngineSelection, engine_choices, engine_of_module

__all__ = [
    "ALL",
    "ENGINES",
    "PRIMARY",
    "Engine",
    "EngineContext",
    "EngineCounts",
    "EngineName",
    "EngineSelection",
    "OpTally",
    "engine_choices",
    "engine_of_module",
    "get_engine",
    "parse_selection",
    "register_engine",
    "registered_engines",
    "selection_choices",
    "unregister_engine",
]
_SOURCES = {name: ".names" for name in ("ALL", "ENGINES", "PRIMARY", "EngineName", "EngineSelection", "engine_choices",
                                         "engine_of_module")}
_SOURCES |= {name: ".counts" for name in ("EngineCounts", "OpTally")}
_SOURCES |= {name: ".base" for name in __all__ if name not in _SOURCES}
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
