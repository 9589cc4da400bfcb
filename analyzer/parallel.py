"""Run independent jobs in forked worker processes, results in input order."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def parallel_map(function: Callable[[T], R], items: Sequence[T], jobs: int = 1) -> Iterator[R]:
    """``function`` over ``items`` in up to ``jobs`` worker processes, yielding results in order.

    Workers are forked (Linux only), so they start at once and re-import nothing; elsewhere,
    or with ``jobs <= 1``, everything runs in this process. Results must pickle. A forked
    worker must not use OpenMP (real tensor arithmetic) if this process already has: call
    it before any real tensor work, as the ``convcost`` command does; ``meta`` tensors and
    matplotlib are safe at any time.
    """
    if jobs <= 1 or len(items) <= 1 or not sys.platform.startswith("linux"):
        yield from map(function, items)
        return
    with ProcessPoolExecutor(min(jobs, len(items)), mp_context=multiprocessing.get_context("fork")) as pool:
        yield from pool.map(function, items)
