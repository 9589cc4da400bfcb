"""Counting engines: independent sources of per-module operator costs, one plug-in module each.

Every module here that calls :func:`~.base.register_engine` is an engine; importing this
package imports them all (see :mod:`convcost.analyzer.plugins`).
"""

from ..plugins import load_plugins
from .base import (
    ALL,
    PRIMARY,
    Engine,
    EngineContext,
    EngineName,
    EngineSelection,
    get_engine,
    parse_selection,
    register_engine,
    registered_engines,
    selection_choices,
    unregister_engine,
)
from .counts import EngineCounts, OpTally

load_plugins(__name__)

__all__ = [
    "ALL",
    "PRIMARY",
    "Engine",
    "EngineContext",
    "EngineCounts",
    "EngineName",
    "EngineSelection",
    "OpTally",
    "get_engine",
    "parse_selection",
    "register_engine",
    "registered_engines",
    "selection_choices",
    "unregister_engine",
]
