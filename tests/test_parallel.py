"""Forked workers give results in input order, and run everything here when one worker is asked for; a fresh
worker is a new interpreter, safe for arithmetic whatever this process did."""

from __future__ import annotations

import functools
import importlib
import os
import sys

import pytest

from convcost.analyzer.parallel import FreshWorker, parallel_map


def _pid_and_square(value: int) -> tuple[int, int]:
    return os.getpid(), value * value


def test_parallel_map_keeps_the_order() -> None:
    results = list(parallel_map(_pid_and_square, list(range(7)), jobs=2))
    assert [square for _, square in results] == [0, 1, 4, 9, 16, 25, 36]


def test_one_job_runs_here() -> None:
    assert list(parallel_map(_pid_and_square, [3, 4], jobs=1)) == [(os.getpid(), 9), (os.getpid(), 16)]


def _loaded(module: str) -> tuple[int, bool]:
    return os.getpid(), module in sys.modules


def _product() -> float:
    import torch

    return float((torch.ones(64, 64) @ torch.ones(64, 64)).sum())


def _fail() -> None:
    raise ValueError("from the worker")


def test_a_fresh_worker_is_a_new_process_that_warms_up_first() -> None:
    import torch

    torch.ones(256, 256) @ torch.ones(256, 256)  # this process's OpenMP pool exists: a fork's arithmetic could hang
    with FreshWorker(functools.partial(importlib.import_module, "wave")) as worker:
        pid, warmed = worker.run(functools.partial(_loaded, "wave"))
        assert pid != os.getpid() and warmed
        assert worker.run(_product) == 64.0 ** 3
        with pytest.raises(ValueError, match="from the worker"):
            worker.run(_fail)
        assert worker.run(functools.partial(_loaded, "matplotlib")) == (pid, False)  # its memory is its own
