"""``StrEnum``: enum members that are their own string value (``str(OpKey.CONV) == "conv"``).

Keys that files and reports spell out (operator keys, engine names, output formats) are
enums of this kind, so a misspelled key fails where it is written instead of silently
matching nothing, and the value still reads as plain text in CSV, JSON and tables.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import TypeVar

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - Python 3.10

    class StrEnum(str, Enum):
        """A ``str`` enum whose ``str()`` and format are its value, as ``enum.StrEnum`` in 3.11."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, spec: str) -> str:
            return format(str(self.value), spec)


E = TypeVar("E", bound=StrEnum)


def parse_member(enum: type[E], value: object, what: str) -> E:
    """``value`` as a member of ``enum``.

    Raises:
        ValueError: ``value`` is not one of the members' values (the message lists them).
    """
    try:
        return enum(value)
    except ValueError:
        valid = ", ".join(member.value for member in enum)
        raise ValueError(f"{what} must be one of {valid}; got {value!r}") from None


__all__ = ["StrEnum", "parse_member"]


def ancestors(name: str) -> list[str]:
    """Dotted module ``name`` and every module above it, root ``""`` last."""
    parts = name.split(".") if name else []
    return [".".join(parts[:i]) for i in range(len(parts), -1, -1)]
