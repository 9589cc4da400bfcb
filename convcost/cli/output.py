"""Where command output goes: the ``--format``/``-o`` options, the renderer they pick, writing, progress."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

from convcost.reports.atomic import write_text
from convcost.reports.formats import Format, Renderer, get_renderer, registered_renderers

from .errors import UsageError

T = TypeVar("T")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--format`` (every registered format) and ``-o/--output``."""
    formats = [renderer.format.value for renderer in registered_renderers()]
    parser.add_argument("--format", choices=formats, default=Format.TABLE.value,
                        help=f"output format (default: {Format.TABLE.value})")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")


def renderer(args: argparse.Namespace) -> Renderer:
    """The renderer ``--format`` chose."""
    return get_renderer(args.format)


def check_writable(path: Path) -> None:
    """Fail before any work when ``path`` cannot be written.

    Raises:
        UsageError: its directory is missing or read-only, or it is a directory.
    """
    directory = path.parent
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"cannot write {path}: directory {directory} is not writable")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")


def emit(text: str, output: Path | None) -> None:
    """``text`` to stdout, or atomically to ``output``."""
    if output is None:
        sys.stdout.write(text)
    else:
        write_text(output, text)


def progress(items: Iterable[T], total: int, what: str, unit: str = "model") -> Iterable[T]:
    """A progress bar on stderr when it is a terminal and there is more than one item."""
    quiet = total < 2 or not sys.stderr.isatty()
    return tqdm(items, total=total, desc=what, unit=unit, disable=quiet, file=sys.stderr, leave=False)
