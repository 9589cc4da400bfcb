"""Value kinds and their two renderings: human units on screen, plain values in files.

Counts use SI prefixes (K = 10³, M = 10⁶, G = 10⁹, T = 10¹²); bytes use binary prefixes
(KiB = 2¹⁰ B, MiB = 2²⁰ B, GiB = 2³⁰ B). Rounding happens here and nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

_COUNT_PREFIXES = ("", "K", "M", "G", "T", "P")
_BYTE_PREFIXES = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


class Unit(Enum):
    """What a column holds, which decides how it is shown."""

    TEXT = "text"
    INT = "int"  # a small integer shown as is (depth, pixels)
    COUNT = "count"  # parameters, MACs, FLOPs
    BYTES = "bytes"
    SHAPE = "shape"  # a tensor shape
    OPS = "ops"  # operator name → calls
    PERCENT = "percent"  # a number already in percent (a published top-1)
    SHARE = "share"  # a fraction of a whole, 0 to 1, shown as a percentage
    MS = "ms"  # a measured time in milliseconds
    RATIO = "ratio"  # one quantity over another, shown with three significant digits and ×
    CHANGE = "change"  # a signed relative difference (0.05 = 5% more), shown as a signed percentage
    FLOAT = "float"  # any other real number, shown with three significant digits


def _scaled(value: float, base: int, prefixes: Sequence[str]) -> tuple[float, str]:
    index = 0
    while index < len(prefixes) - 1 and round(abs(value), 2) >= min(base, 1000):
        value /= base
        index += 1
    return value, prefixes[index]


def _number(value: float, compact: bool) -> str:
    return f"{value:.3g}" if compact else f"{value:.2f}"


def human_count(value: float, compact: bool = False) -> str:
    """``5288548`` → ``5.29M`` (``compact``: ``5.29M``, ``2e7`` → ``20M``); below 1000 as is."""
    if abs(value) < 1000:
        return f"{value:g}"
    scaled, prefix = _scaled(value, 1000, _COUNT_PREFIXES)
    return f"{_number(scaled, compact)}{prefix}"


def human_bytes(value: float, compact: bool = False) -> str:
    """``88886016`` → ``84.77 MiB`` (``compact``: ``84.8 MiB``); below 1000 B as ``512 B``. A unit is left at
    1000 of it, so a value never shows four digits before the point: 1008 KiB is ``0.98 MiB``."""
    if abs(value) < 1000:
        return f"{value:g} B"
    scaled, prefix = _scaled(value, 1024, _BYTE_PREFIXES)
    return f"{_number(scaled, compact)} {prefix}"


def shape_text(shape: Sequence[int] | None) -> str:
    """``(1, 3, 224, 224)`` → ``1x3x224x224``; no shape → ``""``."""
    return "x".join(str(size) for size in shape) if shape else ""


def ops_text(ops: Mapping[str, int] | None) -> str:
    """``{"aten::foo": 3}`` → ``aten::foo×3``, several joined by ``; ``."""
    return "; ".join(f"{op}×{calls}" for op, calls in (ops or {}).items())


def human(unit: Unit, value: Any) -> str:
    """``value`` for a person to read: human units, zero counts and bytes as ``--``."""
    if unit in (Unit.COUNT, Unit.BYTES) and not value:
        return "--"
    if unit is Unit.COUNT:
        return human_count(value)
    if unit is Unit.BYTES:
        return human_bytes(value)
    if unit is Unit.SHARE:
        return "--" if not value else f"{value:.1%}" if value >= 0.0005 else "<0.1%"
    if unit is Unit.PERCENT:
        return f"{value:.1f}"
    if unit is Unit.MS:
        return human_ms(value)
    if unit is Unit.RATIO:
        return human_ratio(value)
    if unit is Unit.CHANGE:
        return human_change(value)
    if unit is Unit.FLOAT:
        return human_ms(value) if isinstance(value, float) else f"{value:,}"
    return str(plain(unit, value))


def human_change(value: float) -> str:
    """A signed relative difference as a percentage, to one decimal from 10% up and to two significant digits
    below, so a small difference keeps its size: ``0.123`` → ``+12.3%``, ``0.0512`` → ``+5.1%``, ``0.0026`` →
    ``+0.26%``, ``-0.00052`` → ``-0.052%``; zero → ``0%``."""
    if value == 0:
        return "0%"
    if abs(value) >= 0.1:
        return f"{value:+.1%}"
    rounded = float(f"{value * 100:.2g}")
    return f"{rounded:+.{max(1 - math.floor(math.log10(abs(rounded))), 0)}f}%"


def human_ratio(value: float) -> str:
    """A ratio to three significant digits, never in exponent form: ``96.93`` → ``96.9×``, ``0.1312`` →
    ``0.131×``, ``1234.5`` → ``1230×``."""
    return f"{human_ms(value)}×"


def human_ms(value: float | None) -> str:
    """Milliseconds to three significant digits, trailing zeros kept, never in exponent form: ``1315.8`` →
    ``1320``, ``1.5`` → ``1.50``, ``0.1`` → ``0.100``, ``0.01234`` → ``0.0123``; missing (None or NaN) as ``--``."""
    if value is None or value != value:
        return "--"
    rounded = float(f"{value:.3g}")
    if rounded == 0:
        return "0"
    return f"{rounded:.{max(2 - math.floor(math.log10(abs(rounded))), 0)}f}"


def plain(unit: Unit, value: Any) -> str | int:
    """``value`` for a file: integers stay raw, shapes and operator tallies become text."""
    if unit is Unit.SHAPE:
        return shape_text(value)
    if unit is Unit.OPS:
        return ops_text(value)
    if unit is Unit.TEXT:
        return "" if value is None else str(value)
    return value
