"""Argument types of the ``convcost`` command: each converts one value or says what would be valid."""

from __future__ import annotations

import argparse
import math

from convcost.studies.arguments import MAX_SIZE, batch_sizes, byte_size, index_list, non_negative_int, positive_int

__all__ = [
    "batch_sizes",
    "byte_size",
    "depth",
    "index_list",
    "input_shape",
    "non_negative_int",
    "positive_int",
    "resolution_or_native",
]


def input_shape(text: str) -> tuple[int, ...]:
    """``1x3x224x224`` → ``(1, 3, 224, 224)``."""
    parts = text.lower().split("x")
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape: give positive sizes joined by x, "
                                         "e.g. 1x3x224x224")
    shape = tuple(int(part) for part in parts)
    if math.prod(shape) > MAX_SIZE:
        raise argparse.ArgumentTypeError(f"{text!r} has {math.prod(shape):.3g} elements, more than a tensor can "
                                         "hold (2^63 - 1)")
    return shape


def depth(text: str) -> int:
    """A depth: 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a depth (0, 1, 2, ...)")
    return int(text)


def resolution_or_native(text: str) -> int | None:
    """``native`` → None, else a positive number of pixels."""
    return None if text == "native" else positive_int(text)
