"""Engine names and the engine registry: what ``--engine`` and ``analyze(engine=...)`` take (importable
without torch).

An engine's module in this package is named after it (``dispatch.py`` registers
:attr:`EngineName.DISPATCH`), so the registry names the engines from the package's module
names before importing any of them (they import torch): the command line's ``--engine``
choices are the registered engines, and listing them loads nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from ..naming import StrEnum
from ..plugins import Registry

if TYPE_CHECKING:
    from .base import Engine


class EngineName(StrEnum):
    """The engines there may be, in the order reports list them (each registered by its module)."""

    DISPATCH = "dispatch"
    ANALYTIC = "analytic"
    FVCORE = "fvcore"


#: ``analyze(engine=ALL)``: every registered engine, the primary one's counts in the records.
ALL: Final = "all"
EngineSelection = EngineName | Literal["all"]
#: The engine whose counts fill the records when every engine runs.
PRIMARY: Final = EngineName.DISPATCH


def engine_of_module(module: str) -> EngineName | None:
    """The engine a module of this package registers: the one it is named after (None: ``base``, ``counts``...)."""
    return next((name for name in EngineName if name.value == module), None)


#: The registered engines (:func:`~.base.register_engine` adds to it), in :class:`EngineName` order.
ENGINES: Final[Registry[EngineName, Engine]] = Registry(
    "engine", lambda engine: engine.name, plugins=__package__, rank=list(EngineName).index,
    declared=engine_of_module)


def engine_choices() -> tuple[str, ...]:
    """Every registered engine's name, then ``all``: what ``--engine`` offers and ``analyze(engine=...)`` takes.
    Until an engine is needed, the names come from the engines' module names, so this imports no engine."""
    return (*(name.value for name in ENGINES.names()), ALL)


__all__ = ["ALL", "ENGINES", "PRIMARY", "EngineName", "EngineSelection", "engine_choices", "engine_of_module"]
