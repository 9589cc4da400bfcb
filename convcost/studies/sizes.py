"""Memory sizes as people write them: ``16GiB``, ``512 MiB``, ``8GB``."""

from __future__ import annotations

import re
from decimal import Decimal

#: Size units :func:`parse_bytes` accepts (case-insensitive) → bytes.
UNITS: dict[str, int] = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*$")


def parse_bytes(text: str | int) -> int:
    """Bytes in a size such as ``"16GiB"``, ``"512 MiB"``, ``"8GB"`` or ``"1000000B"`` (rounded down).

    Binary units (KiB, MiB, GiB, TiB) are powers of 1024; decimal ones (KB, MB, GB, TB)
    powers of 1000; units are case-insensitive. An integer (or a bare number) is bytes.

    Raises:
        ValueError: the text is not a non-negative number followed by one of :data:`UNITS`.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"a size cannot be negative; got {text}")
        return text
    match = _SIZE.match(text) if isinstance(text, str) else None
    units = {unit.lower(): factor for unit, factor in UNITS.items()}
    if match is None or match.group(2).lower() not in {"", *units}:
        raise ValueError(f"cannot read {text!r} as a size; write a number and a unit, e.g. 16GiB, 512MiB, "
                         f"8GB or 1000B (units: {', '.join(UNITS)})")
    number, unit = match.groups()
    return int(Decimal(number) * units.get(unit.lower(), 1))
