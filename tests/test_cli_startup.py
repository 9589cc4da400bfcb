"""The command line starts light: ``--help``, ``--version``, the command list and argument errors load no torch,
pandas, matplotlib, numpy or fvcore. Each check runs ``convcost.cli.app.main`` in a fresh interpreter, since in
this one the heavy modules are long loaded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "pandas", "matplotlib", "numpy", "fvcore")
#: The last line a child prints: its exit status and the heavy modules it loaded.
MARKER = "@@startup@@"
COMMANDS = ("list", "analyze", "explain", "plan", "compare", "report")


def study_command_studies() -> tuple[str, ...]:
    """The studies ``convcost study NAME`` runs, in report order (from the registry: a new study is listed without
    touching this file)."""
    from convcost.studies import Invocation, registered_studies

    return tuple(study.name for study in registered_studies() if study.invocation is Invocation.STUDY_COMMAND)


#: A one-line usage error: ``convcost: error: ...`` or argparse's ``convcost <command>: error: ...``.
ERROR_LINE = re.compile(r"^convcost(?: [a-z]+)?: error: ")

CHILD = """
import json, sys
from convcost.cli.app import main
try:
    code = main({argv!r})
except SystemExit as exit_:
    code = ("SystemExit", exit_.code)
print()
print({marker!r} + json.dumps({{"code": code, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def run_main(argv: list[str]) -> tuple[int, list[str], str, str]:
    """``main(argv)`` in a fresh interpreter: its exit status, the heavy modules loaded, stdout and stderr."""
    done = subprocess.run([sys.executable, "-c", CHILD.format(argv=argv, marker=MARKER, heavy=HEAVY)], cwd=ROOT,
                          env={**os.environ, "COLUMNS": "200"}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out, _, last = done.stdout.rstrip("\n").rpartition("\n")
    assert last.startswith(MARKER), done.stdout
    report = json.loads(last[len(MARKER):])
    return report["code"], report["heavy"], out, done.stderr


def assert_one_error_line(err: str, *needles: str) -> str:
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if ERROR_LINE.match(line)]
    assert len(errors) == 1, err
    assert err.rstrip("\n").splitlines()[-1] == errors[0]  # the usage above it, the error last
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


# --- exit 0: the command list, --help, --version -----------------------------------------------


def test_no_arguments_lists_the_commands_without_torch() -> None:
    code, heavy, out, err = run_main([])
    assert (code, heavy, err) == (0, [], "")
    for command in (*COMMANDS, "study"):
        assert re.search(rf"^[ \t]+{command}[ \t]+\S", out, re.MULTILINE), command  # one line each, with its help


def test_help_loads_nothing_heavy() -> None:
    code, heavy, out, err = run_main(["--help"])
    assert (code, heavy, err) == (0, [], "")
    assert out.startswith("usage: convcost") and "analyze" in out and "Exit status" in out


def test_version_loads_nothing_heavy() -> None:
    from convcost import __version__

    code, heavy, out, err = run_main(["--version"])
    assert (code, heavy, err) == (0, [], "")
    assert out.strip() == f"convcost {__version__}"


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_loads_nothing_heavy(command: str) -> None:
    code, heavy, out, err = run_main([command, "--help"])
    assert (code, heavy, err) == (0, [], "")
    assert out.startswith(f"usage: convcost {command}")
    assert "--quiet" in out  # the command's own arguments, not just its name


# --- exit 2: argument errors ------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "needles"), [
    (["bogus"], ("argument COMMAND: invalid choice: 'bogus'",)),
    (["list", "--bogus"], ("unrecognized arguments: --bogus",)),
    (["analyze", "m", "--input", "1xfoo"], ("argument --input", "'1xfoo' is not a shape")),
    (["analyze", "m", "--depth", "-1"], ("argument --depth", "'-1' is not a depth")),
    (["analyze", "m", "--input", "1x5:int65"], ("argument --input", "'int65'")),
    (["analyze", "m", "--dtype", "int8"], ("argument --dtype: invalid choice: 'int8'",)),
    (["analyze", "m", "--kw", "novalue"], ("argument --kw", "'novalue' is not name=value")),
    (["analyze"], ("required: MODEL",)),
    (["explain", "m"], ("required: --vs",)),
    (["explain", "m", "--vs", "nosuchtool"], ("argument --vs: invalid choice: 'nosuchtool'",)),
    (["plan", "m", "--budget", "3", "gigs"], ("unrecognized arguments: gigs",)),
    (["plan", "m", "--budget", "3gigs"], ("argument --budget", "cannot read '3gigs' as a size")),
    (["plan", "m", "--batches", "1,0"], ("argument --batches", "'1,0' is not a list of batch sizes")),
    (["compare"], ("required: MODEL",)),
    (["compare", "m", "--resolution", "big"], ("argument --resolution", "'big' is not a positive integer")),
    (["report", "--jobs", "0"], ("argument --jobs", "'0' is not a positive integer")),
])
def test_argument_errors_load_nothing_heavy(argv: list[str], needles: tuple[str, ...]) -> None:
    code, heavy, out, err = run_main(argv)
    assert (code, heavy) == (2, [])
    assert out.strip() == ""
    line = assert_one_error_line(err, *needles)
    if argv[0] in COMMANDS and "unrecognized" not in line:
        assert line.startswith(f"convcost {argv[0]}: error: ")  # the command's parser names itself


# --- study: its parser imports the studies (and torch) --------------------------------------------


def test_study_help_lists_every_study() -> None:
    code, _, out, err = run_main(["study", "--help"])  # allowed to load torch: studies declare their options
    assert (code, err) == (0, "")
    assert out.startswith("usage: convcost study")
    names = re.search(r"^  NAME[ \t]+(.+)$", out, re.MULTILINE)
    assert names is not None, out
    # conventions (and plan) are report-only studies (README: "appear only in the report, as conventions does";
    # explain is the per-model command behind it), so convcost study does not offer them
    offered = study_command_studies()
    assert {"scaling", "dwsep", "se", "swish", "fused"} <= set(offered) and "conventions" not in offered
    assert [name.strip() for name in names[1].split(",")] == [*offered]
    description = " ".join(out.split())
    for name in offered:
        assert f" {name}: " in description, name  # each with its title
    code, _, _, err = run_main(["study", "conventions"])
    assert code == 2
    assert_one_error_line(err, "argument NAME: invalid choice: 'conventions'")


# --- light modules ------------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["convcost.cli.app", "convcost.reports.formats", "convcost.analyzer.engines.names",
                                    "convcost.analyzer.time_records", "convcost.cli.commands.profile_command",
                                    "convcost.studies.arguments"])
def test_light_modules_import_nothing_heavy(module: str) -> None:
    code = f"import sys, {module}\nprint([m for m in {HEAVY!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
