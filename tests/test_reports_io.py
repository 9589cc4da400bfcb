"""Atomic writes and parallel jobs."""

import os

import pytest

from convcost.analyzer.parallel import parallel_map
from convcost.reports.atomic import write_text


def test_write_replaces_the_whole_file(tmp_path) -> None:
    path = tmp_path / "out.csv"
    write_text(path, "old\n")
    write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert os.listdir(tmp_path) == ["out.csv"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch) -> None:
    path = tmp_path / "out.csv"
    write_text(path, "old\n")

    def fail(*_args) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_text(path, "half")
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_write_into_a_missing_directory_fails(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        write_text(tmp_path / "missing" / "out.csv", "x")


def _square(value: int) -> int:
    return value * value


@pytest.mark.parametrize("jobs", [1, 2])
def test_parallel_map_keeps_order(jobs: int) -> None:
    assert list(parallel_map(_square, list(range(7)), jobs)) == [0, 1, 4, 9, 16, 25, 36]
