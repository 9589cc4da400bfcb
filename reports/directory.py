"""Replace a report directory as a whole: a reader, or a run killed at any instant, finds the previous complete
report or the new one, never a mix of the two.

A report is written into a staging directory beside its destination (same parent, hence the same file
system), then swapped in with one system call: Linux ``renameat2`` with ``RENAME_EXCHANGE`` exchanges the two
directories, and the old tree, now at the staging path, is deleted. While a report is being written,
``<parent>/.<name>.lock`` holds an exclusive ``flock`` and the writer's pid, so that a second writer fails at
once. Every report holds the marker file :data:`MARKER`, and a directory holding anything else is refused,
never deleted. Leftovers of a killed run (a staging directory, an old tree not yet deleted) are removed by the
next run.

Where ``renameat2`` is missing (other systems, some file systems) the old directory is renamed aside and the
new one into place: a run killed between these two renames leaves no directory at all, and the next run puts
the old one back. Where ``fcntl`` is missing (Windows) concurrent runs are not detected.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .atomic import write_text

if sys.platform != "win32":
    import fcntl

#: The file that makes a directory a convcost report (and so a directory that a report may replace).
MARKER = ".convcost-report"
MARKER_TEXT = ("This directory is a convcost report. Each run of convcost replaces it as a whole:\n"
               "files added here are deleted by the next run.\n")
#: Permission bits of a new report directory (a replaced one keeps its own).
DIR_MODE = 0o755
#: Entries of a report written before the marker existed (any of them; ``index.html`` always).
_LEGACY_ENTRIES = frozenset({"index.html", "summary.csv", "summary.json", "models", "charts", "sections"})
_LEGACY_TEMPORARY = re.compile(r"\..+\.tmp")
#: A writer that finds the lock taken tries again this many times, this many seconds apart, for a
#: :func:`check_report_directory` holds it for an instant.
_LOCK_RETRIES = 5
_LOCK_RETRY_DELAY = 0.02
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_EXCHANGE_UNSUPPORTED = frozenset({errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP})


class ReportDirectoryError(OSError):
    """A report cannot be written to a directory: another run is writing it, it is a file or holds other
    files than a report, or its parent is not a writable directory. The message is one line."""


@dataclass(frozen=True)
class ReportPaths:
    """A report directory and its companions, all in the directory's parent.

    Attributes:
        shown: the directory as given, for messages.
        out: the directory, symbolic links resolved (a link to a directory is written through).
    """

    shown: Path
    out: Path

    @classmethod
    def of(cls, out: str | os.PathLike[str]) -> ReportPaths:
        """The paths of report directory ``out``.

        Raises:
            ReportDirectoryError: ``out`` is the root directory (nothing beside it to stage in).
        """
        shown = Path(out)
        resolved = shown.resolve()
        if resolved.parent == resolved:
            raise ReportDirectoryError(f"cannot create the report directory {shown}: the root directory has no "
                                       "parent to stage it in")
        return cls(shown, resolved)

    @property
    def parent(self) -> Path:
        return self.out.parent

    @property
    def lock(self) -> Path:
        """The lock file, ``<parent>/.<name>.lock``."""
        return self.parent / f".{self.out.name}.lock"

    def companion(self, kind: str) -> Path:
        """A path ``<parent>/.<name>.<kind>-<8 hex digits>`` where nothing exists yet."""
        while True:
            path = self.parent / f".{self.out.name}.{kind}-{secrets.token_hex(4)}"
            if not os.path.lexists(path):
                return path

    def companions(self, kind: str) -> list[Path]:
        """Directories made by :meth:`companion` for ``kind`` that exist now (symbolic links excluded)."""
        pattern = re.compile(rf"\.{re.escape(self.out.name)}\.{re.escape(kind)}-[0-9a-f]{{8}}")
        return sorted(entry for entry in self.parent.iterdir()
                      if pattern.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink())


def is_report(entries: set[str]) -> bool:
    """Whether a directory holding ``entries`` (names, not paths) is a convcost report: it has the marker, or it
    is a report written before the marker existed."""
    if MARKER in entries:
        return True
    return "index.html" in entries and all(
        name in _LEGACY_ENTRIES or _LEGACY_TEMPORARY.fullmatch(name) for name in entries)


def check_report_directory(out: str | os.PathLike[str]) -> None:
    """Fail before any work when a report cannot be written to ``out``; creates and changes nothing.

    Raises:
        ReportDirectoryError: another run is writing ``out``; ``out`` is a file, or a directory that is not
            empty and not a report; or ``out`` cannot be created in its parent.
    """
    paths = ReportPaths.of(out)
    _check_parent(paths)
    _check_target(paths)
    try:
        descriptor = os.open(paths.lock, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        _lock(descriptor, paths, shared=True)
    finally:
        os.close(descriptor)


@contextmanager
def report_directory(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Lock report directory ``out``, yield an empty staging directory to write the new report into, and on
    leaving swap it into place as a whole (files of the old report that the new one lacks are gone).

    The staging directory is beside ``out``, readable by its owner only until the swap; ``out`` then has
    :data:`DIR_MODE`, or the permission bits it had. Missing parent directories are created. On an exception
    (KeyboardInterrupt included) the staging directory is deleted and ``out`` is left as it was.

    Raises:
        ReportDirectoryError: as :func:`check_report_directory`, on entering.
    """
    paths = ReportPaths.of(out)
    _check_parent(paths)
    paths.parent.mkdir(parents=True, exist_ok=True)
    with _locked(paths):
        _clear_leftovers(paths)
        _check_target(paths)
        mode = stat.S_IMODE(paths.out.stat().st_mode) if paths.out.is_dir() else DIR_MODE
        staging = paths.companion("staging")
        staging.mkdir(mode=0o700)
        try:
            yield staging
            write_text(staging / MARKER, MARKER_TEXT)
            os.chmod(staging, mode)
            _swap(staging, paths)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _check_parent(paths: ReportPaths) -> None:
    existing = paths.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ReportDirectoryError(f"cannot create the report directory {paths.shown}: {existing} is not a "
                                   "directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ReportDirectoryError(f"cannot create the report directory {paths.shown}: directory {existing} is "
                                   "not writable")


def _check_target(paths: ReportPaths) -> None:
    if paths.out.exists() and not paths.out.is_dir():
        raise ReportDirectoryError(f"cannot create the report directory {paths.shown}: it exists and is not a "
                                   "directory")
    if paths.out.is_dir():
        entries = set(os.listdir(paths.out))
        if entries and not is_report(entries):
            raise ReportDirectoryError(f"{paths.shown} is not empty and is not a convcost report; choose an empty "
                                       "or new directory")


def _lock(descriptor: int, paths: ReportPaths, *, shared: bool = False) -> None:
    """Lock the open lock file without waiting (a shared lock only tests for a writer).

    Raises:
        ReportDirectoryError: another process holds the lock.
    """
    if sys.platform == "win32":
        return
    operation = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
    retries = 0 if shared else _LOCK_RETRIES
    while True:
        try:
            fcntl.flock(descriptor, operation)
            break
        except BlockingIOError:
            if retries == 0:
                holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
                pid = f" (pid {holder})" if holder.isdigit() else ""
                raise ReportDirectoryError(f"another convcost report is being written to {paths.shown}{pid}; wait "
                                           "for it or choose another directory") from None
            retries -= 1
            time.sleep(_LOCK_RETRY_DELAY)
    if shared:
        fcntl.flock(descriptor, fcntl.LOCK_UN)


@contextmanager
def _locked(paths: ReportPaths) -> Iterator[None]:
    """Hold the exclusive lock of ``paths``, with this process's pid in the lock file, which is deleted on leaving.

    A process that opened the file before it was deleted may lock it after: it then sees that the path names
    another file, or none, and locks again.
    """
    while True:
        descriptor = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(descriptor, paths)
            if _names(paths.lock, descriptor):
                break
        except BaseException:
            os.close(descriptor)
            raise
        os.close(descriptor)
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        paths.lock.unlink(missing_ok=True)
        if sys.platform != "win32":
            fcntl.flock(descriptor, fcntl.LOCK_UN)  # forked children holding the descriptor keep no lock
        os.close(descriptor)


def _names(path: Path, descriptor: int) -> bool:
    """Whether ``path`` is the file open as ``descriptor``."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(descriptor))
    except FileNotFoundError:
        return False


def _clear_leftovers(paths: ReportPaths) -> None:
    """Undo what a killed run left (called with the lock held, so no run is writing): put an old report set
    aside back when nothing replaced it, delete the other old trees and every staging directory."""
    for old in paths.companions("old"):
        if os.path.lexists(paths.out):
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(old, paths.out)
    for staging in paths.companions("staging"):
        shutil.rmtree(staging, ignore_errors=True)


def _swap(staging: Path, paths: ReportPaths) -> None:
    """Put ``staging`` at ``paths.out`` in one step and delete what was there."""
    if not os.path.lexists(paths.out):
        os.rename(staging, paths.out)
    elif _exchange(staging, paths.out):
        shutil.rmtree(staging, ignore_errors=True)
    else:
        aside = paths.companion("old")
        os.rename(paths.out, aside)
        try:
            os.rename(staging, paths.out)
        except BaseException:
            os.rename(aside, paths.out)
            raise
        shutil.rmtree(aside, ignore_errors=True)


@cache
def _renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


def _exchange(first: Path, second: Path) -> bool:
    """Exchange two existing paths in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False where the
    system or the file system cannot.

    Raises:
        OSError: the exchange failed for another reason (nothing changed).
    """
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _EXCHANGE_UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(second))
