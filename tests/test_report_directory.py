"""A report directory is replaced as a whole: after a rebuild, a failure, a kill -9 or a concurrent run it holds
exactly the previous report or exactly the new one; and chart workers die with their parent."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from torch import nn

from convcost.analyzer import Analysis
from convcost.analyzer.parallel import die_with_parent
from convcost.api import analyze
from convcost.reports import build as build_module
from convcost.reports import directory as directory_module
from convcost.reports.build import build_report
from convcost.reports.directory import (
    MARKER,
    MARKER_TEXT,
    ReportDirectoryError,
    check_report_directory,
    report_directory,
)
from convcost.reports.sections import Section

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork, flock and prctl are Linux's")

#: A report with no analysis: no chart to draw, so it is built in a few milliseconds.
TINY = Section("Tiny", "One row.", pd.DataFrame({"x": [1]}))
BUSY = "another convcost report is being written to {out} (pid {pid}); wait for it or choose another directory"
#: Seconds a forked child may take to reach its pause point or finish before the test gives up (a hang guard).
HANG_GUARD = 120.0


@pytest.fixture(autouse=True)
def fixed_date(monkeypatch) -> None:
    """Reports compared byte for byte carry one "generated" stamp, even when built on either side of a minute."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


@pytest.fixture(scope="module")
def models() -> list[Analysis]:
    """Two tiny analyses, ``first`` and ``second``."""
    return [analyze(nn.Sequential(nn.Conv2d(3, 4, 3)), (1, 3, 8, 8), name="first"),
            analyze(nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU()), (1, 3, 8, 8), name="second")]


def contents(directory: Path) -> dict[str, bytes | None]:
    """Every entry under ``directory`` by relative path: a file's bytes, None for a directory."""
    return {path.relative_to(directory).as_posix(): None if path.is_dir() else path.read_bytes()
            for path in directory.rglob("*")}


# --- rebuilds and failures ----------------------------------------------------------------


def test_a_rebuild_holds_exactly_the_new_report(tmp_path, models) -> None:
    out = tmp_path / "report"
    build_report(models, out)
    assert {"models/first.csv", "models/second.json", "charts/stages-second.svg"} <= contents(out).keys()
    index = build_report(models[:1], out)
    assert index == out / "index.html"
    build_report(models[:1], tmp_path / "fresh")
    assert contents(out) == contents(tmp_path / "fresh")
    assert not any("second" in name for name in contents(out))
    assert (out / MARKER).read_text() == MARKER_TEXT
    assert sorted(os.listdir(tmp_path)) == ["fresh", "report"]  # no lock file, no staging directory


def test_a_new_directory_is_0o755_and_a_replaced_one_keeps_its_mode(tmp_path) -> None:
    out = tmp_path / "made" / "report"
    build_report([], out, sections=[TINY])
    assert oct(out.stat().st_mode & 0o777) == oct(0o755)
    out.chmod(0o750)
    build_report([], out, sections=[TINY])
    assert oct(out.stat().st_mode & 0o777) == oct(0o750)


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()], ids=["OSError", "KeyboardInterrupt"])
def test_a_failed_build_leaves_the_previous_report(tmp_path, models, monkeypatch, error) -> None:
    out = tmp_path / "report"
    build_report(models, out)
    before = contents(out)

    def fail(*_args: Any) -> None:
        raise error

    monkeypatch.setattr(build_module, "write_bytes", fail)
    with pytest.raises(type(error)):
        build_report(models[:1], out)
    assert contents(out) == before
    assert os.listdir(tmp_path) == ["report"]


def test_an_exchange_the_file_system_refuses_falls_back_to_two_renames(tmp_path, monkeypatch) -> None:
    out = tmp_path / "report"
    build_report([], out, sections=[Section("Old", "Old.", pd.DataFrame({"x": [1]}))])
    monkeypatch.setattr(directory_module, "_exchange", lambda *_paths: False)
    build_report([], out, sections=[TINY])
    build_report([], tmp_path / "fresh", sections=[TINY])
    assert contents(out) == contents(tmp_path / "fresh")
    assert sorted(os.listdir(tmp_path)) == ["fresh", "report"]


# --- refused destinations -----------------------------------------------------------------


def test_a_directory_that_is_not_a_report_is_refused_and_left_alone(tmp_path, monkeypatch) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    monkeypatch.setattr(build_module, "_draw", lambda *_args: pytest.fail("drew charts for a refused directory"))
    message = f"{out} is not empty and is not a convcost report; choose an empty or new directory"
    with pytest.raises(ReportDirectoryError) as refused:
        build_report([], out)
    assert str(refused.value) == message
    with pytest.raises(ReportDirectoryError) as checked:
        check_report_directory(out)
    assert str(checked.value) == message
    assert contents(out) == {"notes.txt": b"keep me"}
    assert os.listdir(tmp_path) == ["mine"]


def test_a_file_is_refused_and_left_alone(tmp_path) -> None:
    out = tmp_path / "report"
    out.write_text("data")
    with pytest.raises(ReportDirectoryError) as refused:
        build_report([], out, sections=[TINY])
    assert str(refused.value) == f"cannot create the report directory {out}: it exists and is not a directory"
    with pytest.raises(ReportDirectoryError) as under_a_file:
        check_report_directory(out / "sub")
    assert str(under_a_file.value) == f"cannot create the report directory {out / 'sub'}: {out} is not a directory"
    assert out.read_text() == "data"
    assert os.listdir(tmp_path) == ["report"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_parent_is_refused(tmp_path) -> None:
    parent = tmp_path / "locked"
    parent.mkdir(mode=0o555)
    with pytest.raises(ReportDirectoryError) as refused:
        check_report_directory(parent / "report")
    assert str(refused.value) == (f"cannot create the report directory {parent / 'report'}: directory {parent} "
                                  "is not writable")


def test_a_report_written_before_the_marker_is_replaced(tmp_path) -> None:
    out = tmp_path / "report"
    (out / "models").mkdir(parents=True)
    for name in ("index.html", "summary.csv", "models/gone.csv"):
        (out / name).write_text("old")
    check_report_directory(out)
    build_report([], out, sections=[TINY])
    assert "models/gone.csv" not in contents(out) and (out / MARKER).exists()


def test_an_empty_directory_and_a_new_path_are_accepted(tmp_path) -> None:
    check_report_directory(tmp_path)
    check_report_directory(tmp_path / "new" / "report")
    assert os.listdir(tmp_path) == []


# --- killed runs (forked children killed with SIGKILL) ------------------------------------


@dataclass(frozen=True)
class Hook:
    """A function a forked child counts the calls of: ``owner.name``."""

    owner: ModuleType
    name: str


#: Every call that changes the file system, and the exchange of the two directories.
STEPS = (*(Hook(os, name) for name in ("mkdir", "replace", "rename", "unlink", "rmdir")),
         Hook(directory_module, "_exchange"))


@dataclass(frozen=True)
class Outcome:
    """How a forked child ended: ``killed`` where it paused, or finished with exit status ``status``."""

    killed: bool
    status: int


def fork(work: Callable[[], object]) -> int:
    """Run ``work`` in a forked child, which exits with status 0 when it returns, 2 when it raises; its pid."""
    pid = os.fork()
    if pid == 0:
        status = 2
        try:
            work()
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    return pid


def wait_for(pipe: int) -> bytes:
    """One byte from ``pipe``, b"" when every writer has closed it."""
    readable, _, _ = select.select([pipe], [], [], HANG_GUARD)
    if not readable:
        pytest.fail(f"a forked child sent nothing in {HANG_GUARD} s")
    return os.read(pipe, 1)


def pause_before(step: int, hooks: Sequence[Hook], pipe: int) -> None:
    """Make this (forked) process write to ``pipe`` and wait to be killed before its ``step``-th call of ``hooks``."""
    calls = 0

    def counted(function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == step:
                os.write(pipe, b"p")
                while True:
                    signal.pause()
            return function(*args, **kwargs)

        return call

    for hook in hooks:
        setattr(hook.owner, hook.name, counted(getattr(hook.owner, hook.name)))


def run_killed(work: Callable[[], object], step: int, hooks: Sequence[Hook] = STEPS) -> Outcome:
    """Run ``work`` in a forked child, SIGKILLed where it pauses before its ``step``-th call of ``hooks``."""
    paused, told = os.pipe()

    def child() -> None:
        os.close(paused)
        pause_before(step, hooks, told)
        work()

    pid = fork(child)
    os.close(told)
    try:
        killed = wait_for(paused) == b"p"
        if killed:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(paused)
    return Outcome(killed, os.waitstatus_to_exitcode(status))


def rebuild_tiny(out: Path) -> Callable[[], object]:
    return lambda: build_report([], out, sections=[TINY])


@linux_only
def test_a_run_killed_at_any_step_leaves_the_old_or_the_new_report(tmp_path, models) -> None:
    build_report(models, tmp_path / "old" / "report")
    build_report([], tmp_path / "new" / "report", sections=[TINY])
    old, new = contents(tmp_path / "old" / "report"), contents(tmp_path / "new" / "report")
    work = tmp_path / "work"
    out = work / "report"
    seen: list[str] = []
    for step in range(1, 200):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(tmp_path / "old", work)
        outcome = run_killed(rebuild_tiny(out), step)
        if not outcome.killed:
            assert outcome.status == 0
            break
        state = contents(out)
        assert state in (old, new), f"killed before step {step}: neither the old report nor the new one"
        seen.append("old" if state == old else "new")
    assert contents(out) == new
    assert seen.count("old") >= 5 and seen.count("new") >= 5  # killed while writing and while deleting the old
    assert seen == sorted(seen, key=["old", "new"].index)  # one switch, from the old to the new


@linux_only
def test_leftovers_of_a_killed_run_are_removed_by_the_next(tmp_path, models) -> None:
    out = tmp_path / "report"
    build_report(models, out)
    assert run_killed(rebuild_tiny(out), 6).killed  # staging made, its first file being written
    assert {name.split("-")[0] for name in os.listdir(tmp_path)} == {"report", ".report.lock", ".report.staging"}
    build_report([], out, sections=[TINY])
    build_report([], tmp_path / "fresh", sections=[TINY])
    assert contents(out) == contents(tmp_path / "fresh")
    assert sorted(os.listdir(tmp_path)) == ["fresh", "report"]


@linux_only
def test_a_run_killed_between_the_renames_of_the_fallback_is_undone_by_the_next(tmp_path, monkeypatch) -> None:
    out = tmp_path / "report"
    build_report([], out, sections=[Section("Old", "Old.", pd.DataFrame({"x": [1]}))])
    old = contents(out)
    monkeypatch.setattr(directory_module, "_exchange", lambda *_paths: False)
    assert run_killed(rebuild_tiny(out), 2, [Hook(os, "rename")]).killed  # the old set aside, the new not in place
    assert not out.exists()
    assert {name.split("-")[0] for name in os.listdir(tmp_path)} == {".report.lock", ".report.old", ".report.staging"}
    with pytest.raises(RuntimeError, match="stop"), report_directory(out):
        raise RuntimeError("stop")
    assert contents(out) == old
    assert os.listdir(tmp_path) == ["report"]


# --- concurrent runs ----------------------------------------------------------------------


@linux_only
def test_a_second_writer_fails_at_once_and_the_first_completes(tmp_path, models) -> None:
    out = tmp_path / "report"
    build_report([], out, sections=[TINY])
    before = contents(out)
    held, tell_held = os.pipe()
    go, tell_go = os.pipe()

    def first() -> None:
        with report_directory(out) as staging:
            (staging / "first.txt").write_text("first")
            os.write(tell_held, b"l")
            os.read(go, 1)

    pid = fork(first)
    try:
        assert wait_for(held) == b"l"
        with pytest.raises(ReportDirectoryError) as refused:
            build_report(models, out)
        assert str(refused.value) == BUSY.format(out=out, pid=pid)
        with pytest.raises(ReportDirectoryError) as checked:
            check_report_directory(out)
        assert str(checked.value) == BUSY.format(out=out, pid=pid)
        assert contents(out) == before
    finally:
        os.write(tell_go, b"g")
        _, status = os.waitpid(pid, 0)
        for pipe in (held, tell_held, go, tell_go):
            os.close(pipe)
    assert os.waitstatus_to_exitcode(status) == 0
    assert contents(out) == {"first.txt": b"first", MARKER: MARKER_TEXT.encode()}
    assert os.listdir(tmp_path) == ["report"]
    build_report([], out, sections=[TINY])  # the lock is free again
    assert "first.txt" not in contents(out)


# --- chart workers die with their parent --------------------------------------------------

NAPPING_WORKERS = textwrap.dedent("""
    import os
    import sys
    import time

    from convcost.analyzer.parallel import parallel_map


    def nap(path: str) -> int:
        with open(path + ".tmp", "w") as file:
            file.write(str(os.getpid()))
        os.replace(path + ".tmp", path)
        time.sleep(600)
        return 0


    if __name__ == "__main__":
        list(parallel_map(nap, [os.path.join(sys.argv[1], "a"), os.path.join(sys.argv[1], "b")], 2))
""")


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state, ppid, ...); None if there is no process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def poll(condition: Callable[[], bool], seconds: float) -> bool:
    """Whether ``condition`` holds within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@linux_only
def test_parallel_map_workers_die_with_their_parent(tmp_path) -> None:
    script = tmp_path / "napping_workers.py"
    script.write_text(NAPPING_WORKERS)
    pid_files = [tmp_path / "a", tmp_path / "b"]
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)])
    workers: list[int] = []
    try:
        assert poll(lambda: all(path.exists() for path in pid_files) or parent.poll() is not None, HANG_GUARD)
        assert parent.poll() is None
        workers = [int(path.read_text()) for path in pid_files]
        assert [(_stat(pid) or ["?", "?"])[1] for pid in workers] == [str(parent.pid)] * 2
        parent.kill()
        parent.wait()
        poll(lambda: not any(alive(pid) for pid in workers), 20)
        assert [pid for pid in workers if alive(pid)] == []
    finally:
        parent.kill()
        parent.wait()
        for pid in workers:
            if alive(pid) and str(script) in Path(f"/proc/{pid}/cmdline").read_text():
                os.kill(pid, signal.SIGKILL)


@linux_only
@pytest.mark.parametrize(("parent_died", "status"), [(False, 0), (True, 1)])
def test_a_worker_exits_when_its_parent_died_before_it_started(parent_died: bool, status: int) -> None:
    parent = os.getpid() + (1 if parent_died else 0)  # not its parent's pid: as if it had been adopted
    _, child_status = os.waitpid(fork(lambda: die_with_parent(parent)), 0)
    assert os.waitstatus_to_exitcode(child_status) == status
