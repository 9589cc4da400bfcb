"""Command-line value types shared by study options and the ``convcost`` command.

Each converts one argument's text and raises ``argparse.ArgumentTypeError`` with a message
that says what would be valid, which argparse prints as a one-line usage error.
"""

from __future__ import annotations

import argparse
import math

from .sizes import parse_bytes

#: The largest size PyTorch takes (its sizes are signed 64-bit integers).
MAX_SIZE = 2**63 - 1


def positive_int(text: str) -> int:
    """A positive integer a tensor size can hold."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    if int(text) > MAX_SIZE:
        raise argparse.ArgumentTypeError(f"{text} is larger than any size PyTorch takes (2^63 - 1)")
    return int(text)


def non_negative_int(text: str) -> int:
    """0 or a positive integer."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (0, 1, 2, ...)")
    return int(text)


def seconds(text: str) -> float:
    """0 or a positive, finite number of seconds (``2``, ``0.5``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 <= value < math.inf):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more, such as 2 or 0.5)")
    return value


def byte_size(text: str) -> int:
    """Bytes in ``16GiB``, ``512MiB``, ``8GB`` … (see :func:`~convcost.studies.sizes.parse_bytes`)."""
    try:
        return parse_bytes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def batch_sizes(text: str) -> tuple[int, ...]:
    """``1,2,8,24`` → ``(1, 2, 8, 24)``."""
    parts = text.split(",")
    if not all(part.strip().isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of batch sizes: give positive integers joined "
                                         "by commas, e.g. 1,2,8,24")
    return tuple(int(part) for part in parts)


def model_names(text: str) -> tuple[str, ...]:
    """``mobilenet_v2,efficientnet_b0`` → the registry names, each checked."""
    from convcost.architectures import list_models

    known = list_models()
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in known]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"{', '.join(unknown) or repr(text)}: not a registry model; "
                                         "convcost list shows them")
    return names


def index_list(text: str) -> tuple[int, ...]:
    """``0,2,5`` → ``(0, 2, 5)``: indices, 0 or more."""
    parts = text.split(",")
    if not all(part.strip().isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of indices: give whole numbers joined by commas, "
                                         "e.g. 0,1,2")
    return tuple(int(part) for part in parts)
