"""Small helpers for the prose of report sections: figures in the tables' units, ranges, lists.

Prose writes a count or a size as the tables beside it show it (``5.29M``, ``1.93 GiB``), so a figure in the
text is found in a table as written; the CSV and JSON files hold the exact integers.
"""

from __future__ import annotations

from collections.abc import Sequence

from .units import human_bytes, human_change, human_count, human_ms


def bytes_text(value: int) -> str:
    """Bytes as the tables show them: ``2069696448`` → ``1.93 GiB``."""
    return human_bytes(value)


def count_text(value: int) -> str:
    """A count (parameters, MACs, FLOPs) as the tables show it: ``5288548`` → ``5.29M``; below 1000 as is."""
    return human_count(value)


def span(values: Sequence[float]) -> str:
    """Ratios as a range to three significant digits: ``[1.5, 6.52]`` → ``1.50–6.52×``; values that look alike
    → ``1.50×``."""
    low, high = human_ms(min(values)), human_ms(max(values))
    return f"{low}×" if low == high else f"{low}–{high}×"


def change_span(values: Sequence[float]) -> str:
    """Signed relative differences as a range of percentages: ``[-0.112, 0.047]`` → ``-11.2% to +4.7%``."""
    low, high = human_change(min(values)), human_change(max(values))
    return low if low == high else f"{low} to {high}"


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1, "run"`` → ``1 run``; ``3, "run"`` → ``3 runs``; ``plural_form`` when it is not ``noun + "s"``."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"


def names(items: Sequence[str]) -> str:
    """``["a", "b", "c"]`` → ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def verb(subjects: Sequence[str]) -> str:
    """``count`` for several subjects, ``counts`` for one."""
    return "counts" if len(subjects) == 1 else "count"
