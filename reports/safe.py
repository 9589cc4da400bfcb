"""Names are user data: shown safely on a terminal and written safely into a spreadsheet.

- A terminal interprets control characters and escape sequences, and bidirectional
  overrides reorder what it shows: :func:`printable` shows every such character escaped
  (``\\x1b``, ``\\u202e``), so a module name cannot recolour, move or disguise the table.
- Very long names are clipped with an ellipsis on screen (:func:`clipped`); files keep them whole.
- A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return
  as a formula: :func:`csv_cell` prefixes such a text with ``'`` (the OWASP rule).
"""

from __future__ import annotations

import unicodedata
from typing import Any

#: Characters that change the direction text is shown in (they are format characters, category Cf).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ELLIPSIS = "…"


def _escaped(char: str) -> str:
    return char.encode("unicode_escape").decode("ascii")


def printable(text: str) -> str:
    """``text`` with control, format and bidirectional-override characters shown as escapes."""
    if text.isprintable() and not BIDI_CONTROLS.intersection(text):
        return text
    return "".join(_escaped(char) if char in BIDI_CONTROLS or unicodedata.category(char)[0] == "C" else char
                   for char in text)


def clipped(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when it was longer."""
    return text if len(text) <= width else text[:width - 1] + ELLIPSIS


def csv_cell(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula, prefixed with ``'``; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
