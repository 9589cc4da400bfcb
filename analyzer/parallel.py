"""Run independent jobs in forked worker processes (results in input order), or in a freshly started one."""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
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


def start_worker(parent: int) -> None:
    """Worker initializer: :func:`die_with_parent`, and move every object inherited from the parent to the
    garbage collector's permanent generation, so the worker's collections never walk the parent's heap
    (torch's modules alone are about a million objects; this saves a fifth of an analysis's time)."""
    die_with_parent(parent)
    gc.freeze()


def parallel_map(function: Callable[[T], R], items: Sequence[T], jobs: int = 1) -> Iterator[R]:
    """``function`` over ``items`` in up to ``jobs`` worker processes, yielding results in order.

    Workers are forked (Linux only), so they start at once and re-import nothing; elsewhere,
    or with ``jobs <= 1``, everything runs in this process. Results must pickle. A forked
    worker must not use OpenMP (real tensor arithmetic) if this process already has: call
    it before any real tensor work, as the ``convcost`` command does, or use a :class:`FreshWorker`;
    ``meta`` tensors and matplotlib are safe at any time. Workers are killed when this process dies,
    even by SIGKILL (:func:`die_with_parent`).
    """
    with started_map(function, items, jobs) as results:
        yield from results


@contextmanager
def started_map(function: Callable[[T], R], items: Sequence[T], jobs: int = 1) -> Iterator[Iterator[R]]:
    """As :func:`parallel_map`, but the workers start on entering: the caller does other work in this
    process, then reads the results (in order) from the iterator given, inside the ``with`` block.
    With one job the work is done as the results are read."""
    if jobs <= 1 or len(items) <= 1 or not sys.platform.startswith("linux"):
        yield map(function, items)
        return
    with _pool(min(jobs, len(items))) as pool:
        yield pool.map(function, items)


def _pool(workers: int) -> ProcessPoolExecutor:
    """Forked workers that die with this process."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=start_worker,
                               initargs=(os.getpid(),))


class FreshWorker:
    """One worker process started as a new interpreter (``spawn``), not forked, that dies with this process.

    Real tensor arithmetic is safe in it whatever this process did before (a forked child's OpenMP can
    hang), and the memory it uses is its own. It calls ``warm_up`` (typically: import what the work
    will need) as soon as it starts, while this process goes on, so a caller that starts it early finds
    it ready. Use it as a context manager.
    """

    def __init__(self, warm_up: Callable[[], object] | None = None) -> None:
        self._executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=start_worker, initargs=(os.getpid(),))
        if warm_up is not None:
            self._executor.submit(warm_up)

    def run(self, function: Callable[[], R]) -> R:
        """``function()`` in the worker, once it is free; its result (or its exception) here."""
        return self.submit(function).result()

    def submit(self, function: Callable[[], R]) -> Future[R]:
        """``function()`` in the worker, once it is free, without waiting: its future."""
        return self._executor.submit(function)

    def close(self) -> None:
        """Stop the worker without waiting for it to exit (work not yet started is dropped)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> FreshWorker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
