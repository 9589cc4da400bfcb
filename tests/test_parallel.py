"""Forked workers: results in order, a job alone in a process of its own, and this process left as it was."""

from __future__ import annotations

import os
import sys

import pytest

from convcost.analyzer.parallel import parallel_map, run_alone


def _pid_and_square(value: int) -> tuple[int, int]:
    return os.getpid(), value * value


def _grow(megabytes: int) -> int:
    block = bytearray(b"\x01") * (megabytes * 2**20)  # written, so resident
    return len(block)


def test_parallel_map_keeps_the_order() -> None:
    results = list(parallel_map(_pid_and_square, list(range(7)), jobs=2))
    assert [square for _, square in results] == [0, 1, 4, 9, 16, 25, 36]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_run_alone_runs_in_another_process() -> None:
    pid, square = run_alone(_pid_and_square, 12)
    assert square == 144 and pid != os.getpid()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_run_alone_leaves_its_memory_in_the_worker() -> None:
    def resident_kib() -> int:
        with open("/proc/self/status", encoding="utf-8") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

    before = resident_kib()
    assert run_alone(_grow, 200) == 200 * 2**20
    assert resident_kib() - before < 100 * 1024  # the 200 MiB were the worker's, not this process's
