"""Where command output goes: ``--format``/``-o``, the renderer they pick, writing, progress and logging.

``-o FILE`` picks the format from the file's suffix (each renderer declares its own suffixes)
unless ``--format`` says otherwise; ``-o -`` is stdout. A regular file is replaced atomically
(a reader sees the old file or the whole new one); a symlink is written through to its target;
a device or FIFO (``/dev/stdout``, ``/dev/null``) is written in place, never replaced by a
regular file.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from convcost.reports.atomic import write_text
from convcost.reports.formats import Format, get_renderer, registered_renderers, suffix_formats

if TYPE_CHECKING:
    from convcost.reports.formats import Renderer

from .errors import UsageError

T = TypeVar("T")
#: ``-o -``: write to stdout.
STDOUT = "-"
log = logging.getLogger("convcost")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` and ``--verbose``, which every command takes."""
    chatter = parser.add_mutually_exclusive_group()
    chatter.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no 'wrote FILE' line")
    chatter.add_argument("-v", "--verbose", action="store_true", help="say what is being done, step by step")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--format`` (every registered format), ``-o/--output``, ``--quiet`` and ``--verbose``."""
    formats = [renderer.format.value for renderer in registered_renderers()]
    suffixes = ", ".join(f"{suffix} {fmt}" for suffix, fmt in suffix_formats().items())
    parser.add_argument("--format", choices=formats, default=None,
                        help=f"output format (default: from -o's suffix: {suffixes}; else {Format.TABLE})")
    parser.add_argument("-o", "--output", metavar="FILE", help=f"write to FILE instead of stdout ({STDOUT}: stdout)")
    add_common_options(parser)


def configure_logging(args: argparse.Namespace) -> None:
    """Log steps to stderr with ``--verbose``; only warnings otherwise."""
    level = logging.INFO if getattr(args, "verbose", False) else logging.WARNING
    logging.basicConfig(level=level, format="convcost: %(message)s", stream=sys.stderr, force=True)


def output_format(args: argparse.Namespace) -> Format:
    """``--format``, else the format of the renderer that claims ``-o``'s suffix, else ``table``."""
    if args.format is not None:
        return Format(args.format)
    output = getattr(args, "output", None)
    if output and output != STDOUT:
        return suffix_formats().get(Path(output).suffix.lower(), Format.TABLE)
    return Format.TABLE


def renderer(args: argparse.Namespace) -> Renderer:
    """The renderer the options chose.

    Raises:
        UsageError: no renderer is registered for it.
    """
    try:
        return get_renderer(output_format(args))
    except ValueError as error:
        raise UsageError(str(error)) from None


def output_path(args: argparse.Namespace) -> Path | None:
    """The file ``-o`` names, None for stdout."""
    output = getattr(args, "output", None)
    return None if output in (None, STDOUT) else Path(output)


def check_writable(path: Path) -> None:
    """Fail before any work when ``path`` cannot be written.

    Raises:
        UsageError: its directory is missing or read-only (for a file to be replaced), or it is a directory.
    """
    target = path.resolve() if path.is_symlink() else path
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    if target.exists() and not target.is_file():  # a device or FIFO, written in place
        if not os.access(target, os.W_OK):
            raise UsageError(f"cannot write {path}: it is not writable")
        return
    directory = target.parent
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"cannot write {path}: directory {directory} is not writable")


def write_output(path: Path, text: str) -> None:
    """``text`` into ``path``: a regular file replaced atomically, a symlink's target likewise, a device or FIFO
    written in place."""
    target = path.resolve() if path.is_symlink() else path
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        write_text(target, text)


def emit(text: str, args: argparse.Namespace, what: str) -> None:
    """``text`` to stdout or to ``-o``'s file; for a file, ``wrote FILE (what)`` on stderr unless ``--quiet``."""
    path = output_path(args)
    if path is None:
        sys.stdout.write(text)
        return
    write_output(path, text)
    if not getattr(args, "quiet", False):
        print(f"wrote {path} ({output_format(args)}, {what})", file=sys.stderr)


def progress(items: Iterable[T], total: int, what: str, unit: str = "model", *, quiet: bool = False) -> Iterable[T]:
    """A progress bar on stderr when it is a terminal, there is more than one item and not ``quiet``."""
    from tqdm import tqdm  # only commands that show progress pay for it

    hidden = quiet or total < 2 or not sys.stderr.isatty()
    return tqdm(items, total=total, desc=what, unit=unit, disable=hidden, file=sys.stderr)
