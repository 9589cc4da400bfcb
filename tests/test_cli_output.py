"""Where command output goes: format from ``-o``'s suffix, ``-o -``, special files, symlinks, the
``wrote FILE`` line, markdown, ``--quiet``/``--verbose`` and ``convcost`` with no arguments."""

import contextlib
import csv
import io
import json
import os
import stat
import threading

import pytest

from convcost.cli.app import main
from convcost.reports.formats import AnalysisView, Format, get_renderer

TINY_MODEL = """
from torch import nn

def build():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 10))
"""
TINY_PARAMS = 3 * 8 * 9 + 8 + 8 * 10 + 10
TINY_MACS = 3 * 8 * 9 * 32 * 32 + 8 * 10


@pytest.fixture
def tiny(tmp_path) -> str:
    path = tmp_path / "tiny.py"
    path.write_text(TINY_MODEL)
    return f"{path}:build"


def analyze(capsys, tiny: str, *options: str) -> tuple[int, str, str]:
    code = main(["analyze", tiny, "--input", "1x3x32x32", *options])
    out, err = capsys.readouterr()
    return code, out, err


def csv_total_params(text: str) -> int:
    rows = list(csv.DictReader(io.StringIO(text)))
    return sum(int(row["params"]) for row in rows if row["name"] and "." not in row["name"])


@pytest.mark.parametrize("suffix", [".csv", ".CSV"])
def test_a_csv_suffix_writes_csv(capsys, tmp_path, tiny: str, suffix: str) -> None:
    path = tmp_path / f"tiny{suffix}"
    code, out, err = analyze(capsys, tiny, "-o", str(path))
    assert (code, out) == (0, "")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert rows[0]["name"] == "" and int(rows[0]["subtree_params"]) == TINY_PARAMS
    assert int(rows[0]["subtree_macs"]) == TINY_MACS
    assert err == f"wrote {path} (csv, {len(rows)} modules)\n"


def test_each_suffix_picks_its_format(capsys, tmp_path, tiny: str) -> None:
    written = {}
    for suffix in (".json", ".html", ".md", ".txt", ".unknown"):
        path = tmp_path / f"tiny{suffix}"
        assert analyze(capsys, tiny, "-o", str(path))[0] == 0
        written[suffix] = path.read_text()
    assert json.loads(written[".json"])["params"] == TINY_PARAMS
    assert written[".html"].lstrip().lower().startswith("<!doctype html>")
    assert written[".md"].startswith("# ") and "|--" in written[".md"].replace(":", "-")
    assert "└─" in written[".txt"] and "<" not in written[".txt"]
    assert written[".txt"] == written[".unknown"]  # no known suffix: the terminal table


def test_format_overrides_the_suffix(capsys, tmp_path, tiny: str) -> None:
    path = tmp_path / "tiny.csv"
    code, _, err = analyze(capsys, tiny, "-o", str(path), "--format", "json")
    assert code == 0 and "(json," in err
    assert json.loads(path.read_text())["macs"] == TINY_MACS


def test_dash_is_stdout(capsys, tiny: str) -> None:
    code, out, err = analyze(capsys, tiny, "-o", "-", "--format", "json")
    assert code == 0 and err == ""
    assert json.loads(out)["params"] == TINY_PARAMS


def test_quiet_says_nothing(capsys, tmp_path, tiny: str) -> None:
    path = tmp_path / "tiny.csv"
    assert analyze(capsys, tiny, "-o", str(path), "--quiet") == (0, "", "")
    assert path.stat().st_size > 0


def test_verbose_logs_the_steps(capsys, tiny: str) -> None:
    code, _, err = analyze(capsys, tiny, "--verbose")
    assert code == 0
    assert "convcost: analysing" in err and "input 1x3x32x32" in err and "convcost: counted in" in err


def test_quiet_and_verbose_exclude_each_other(capsys, tiny: str) -> None:
    code, _, err = analyze(capsys, tiny, "--quiet", "--verbose")
    assert code == 2 and "not allowed with argument" in err and "Traceback" not in err


def test_dev_null_stays_a_device(capsys, tiny: str) -> None:
    assert analyze(capsys, tiny, "-o", os.devnull)[0] == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_symlink_is_written_through(capsys, tmp_path, tiny: str) -> None:
    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert analyze(capsys, tiny, "-o", str(link))[0] == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("name,")


def test_a_dangling_symlink_creates_its_target(capsys, tmp_path, tiny: str) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "new.json")
    assert analyze(capsys, tiny, "-o", str(link))[0] == 0
    assert link.is_symlink() and json.loads((tmp_path / "new.json").read_text())["params"] == TINY_PARAMS


def test_a_fifo_is_written_in_place(capsys, tmp_path, tiny: str) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    try:
        code = analyze(capsys, tiny, "-o", str(fifo))[0]
    finally:
        reader.join(timeout=30)
        if reader.is_alive():  # the write never came: a non-blocking open releases the reader still in open()
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            reader.join(timeout=30)
    assert code == 0
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])["macs"] == TINY_MACS


def test_a_regular_file_is_replaced_whole(capsys, tmp_path, tiny: str) -> None:
    path = tmp_path / "tiny.txt"
    path.write_text("x" * 100_000)
    assert analyze(capsys, tiny, "-o", str(path))[0] == 0
    assert "x" not in path.read_text()[:10] and len(path.read_text()) < 100_000
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_a_directory_is_refused_before_any_work(capsys, tmp_path, tiny: str) -> None:
    code, _, err = analyze(capsys, tiny, "-o", str(tmp_path))
    assert code == 2 and err.strip() == f"convcost: error: cannot write {tmp_path}: it is a directory"


def test_markdown_is_a_github_table(capsys, tiny: str) -> None:
    code, out, _ = analyze(capsys, tiny, "--format", "markdown")
    assert code == 0
    lines = out.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 6  # header, rule, the model and its five children
    assert all(line.count("|") == table[0].count("|") for line in table)


def test_markdown_cells_cannot_break_the_table() -> None:
    from torch import nn

    from convcost.api import analyze as analyze_model

    model = nn.Sequential()
    model.add_module("a|b\nc", nn.Conv2d(3, 4, 1))
    text = get_renderer(Format.MARKDOWN).analysis(AnalysisView(analyze_model(model, (1, 3, 8, 8)), None))
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 4
    assert "a\\|b\\\\nc" in text  # shown escaped, as in the terminal
    assert all(line.count("|") - line.count("\\|") == table[0].count("|") for line in table)


def test_markdown_comparison_and_study(capsys) -> None:
    code = main(["compare", "efficientnet_b0", "mobilenet_v2", "--format", "markdown"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("# Comparison") and "## MACs per stage" in out


def test_no_arguments_prints_the_commands(capsys) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in ("list", "analyze", "explain", "study", "compare", "report"):
        assert command in out


def test_a_second_report_into_a_directory_being_written_fails_at_once(capsys, tmp_path) -> None:
    from convcost.reports.directory import report_directory

    out = tmp_path / "report"
    with report_directory(out):  # another run holds it
        code = main(["report", "--out", str(out), "--models", "mobilenet_v2_035", "--studies", "none", "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.strip() == (f"convcost: error: another convcost report is being written to {out} (pid {os.getpid()}); "
                           "wait for it or choose another directory")
