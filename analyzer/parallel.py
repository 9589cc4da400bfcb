"""Run independent jobs in forked worker processes, results in input order."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: ``prctl`` option: the signal a process receives when the thread that forked it ends (Linux).
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Worker initializer (Linux): SIGKILL this process when its parent dies, and exit now if it already has.

    ``parent`` is the pid of the forking process, read before forking: had the parent died before the
    ``prctl`` call, this process would already have a new parent and no signal would ever come.
    Elsewhere, or where ``prctl`` cannot be called, a no-op.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    prctl.restype = ctypes.c_int
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def parallel_map(function: Callable[[T], R], items: Sequence[T], jobs: int = 1) -> Iterator[R]:
    """``function`` over ``items`` in up to ``jobs`` worker processes, yielding results in order.

    Workers are forked (Linux only), so they start at once and re-import nothing; elsewhere,
    or with ``jobs <= 1``, everything runs in this process. Results must pickle. A forked
    worker must not use OpenMP (real tensor arithmetic) if this process already has: call
    it before any real tensor work, as the ``convcost`` command does; ``meta`` tensors and
    matplotlib are safe at any time. Workers are killed when this process dies, even by SIGKILL
    (:func:`die_with_parent`).
    """
    if jobs <= 1 or len(items) <= 1 or not sys.platform.startswith("linux"):
        yield from map(function, items)
        return
    with _pool(min(jobs, len(items))) as pool:
        yield from pool.map(function, items)


def _pool(workers: int) -> ProcessPoolExecutor:
    """Forked workers that die with this process."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=die_with_parent,
                               initargs=(os.getpid(),))
