"""Engine names: what ``--engine`` and ``analyze(engine=...)`` take (importable without torch)."""

from __future__ import annotations

from typing import Final, Literal

from ..naming import StrEnum


class EngineName(StrEnum):
    """The registered engines, in the order reports list them."""

    DISPATCH = "dispatch"
    ANALYTIC = "analytic"
    FVCORE = "fvcore"


#: ``analyze(engine=ALL)``: every registered engine, the primary one's counts in the records.
ALL: Final = "all"
EngineSelection = EngineName | Literal["all"]
#: The engine whose counts fill the records when every engine runs.
PRIMARY: Final = EngineName.DISPATCH


def engine_choices() -> tuple[str, ...]:
    """Every engine name, then ``all``: what ``--engine`` offers (each is checked against the registry when
    it runs)."""
    return (*(name.value for name in EngineName), ALL)


__all__ = ["ALL", "PRIMARY", "EngineName", "EngineSelection", "engine_choices"]
