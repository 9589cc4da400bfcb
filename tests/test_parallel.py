"""Forked workers give results in input order, and run everything here when one worker is asked for."""

from __future__ import annotations

import os

from convcost.analyzer.parallel import parallel_map


def _pid_and_square(value: int) -> tuple[int, int]:
    return os.getpid(), value * value


def test_parallel_map_keeps_the_order() -> None:
    results = list(parallel_map(_pid_and_square, list(range(7)), jobs=2))
    assert [square for _, square in results] == [0, 1, 4, 9, 16, 25, 36]


def test_one_job_runs_here() -> None:
    assert list(parallel_map(_pid_and_square, [3, 4], jobs=1)) == [(os.getpid(), 9), (os.getpid(), 16)]
