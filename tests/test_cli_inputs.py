"""Every input gets a clear answer: exit 0, 2 (one line naming the problem and a valid alternative) or 130."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

import pytest

from convcost import load_model
from convcost.cli import app
from convcost.cli.app import attach_negative_values, main
from convcost.loading import ModelLoadError


def usage_error(capsys, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err, (code, out, err)
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(("argv", "needle"), [
    (["analyze", "efficientnet_b0", "--input", "-1x3x224x224"], "'-1x3x224x224' is not a shape"),
    (["analyze", "efficientnet_b0", "--input", "1x3x4000000000x4000000000"], "more than a tensor can hold"),
    (["analyze", "efficientnet_b0", "--resolution", "99999999999999999999"], "larger than any size PyTorch takes"),
    (["analyze", "efficientnet_b0", "--resolution", "-5"], "'-5' is not a positive integer"),
    (["plan", "efficientnet_b0", "--budget", "-1GB"], "cannot read '-1GB' as a size"),
    (["analyze", "efficientnet_bo"], "closest: efficientnet_b0,"),
    (["compare", "resnet1..9"], "range 'resnet1..9' matches no registered model; models named resnet<number>"),
])
def test_bad_values_are_named(capsys, argv: list[str], needle: str) -> None:
    assert needle in usage_error(capsys, *argv)


def test_negative_values_reach_their_option() -> None:
    assert attach_negative_values(["analyze", "m", "--input", "-1x3", "--depth", "2"]) == [
        "analyze", "m", "--input=-1x3", "--depth", "2"]
    assert attach_negative_values(["--input=-1", "-o", "-"]) == ["--input=-1", "-o", "-"]


def test_ranges_resolve_against_the_registry(capsys) -> None:
    assert main(["compare", "mobilenet_v2_035..140", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == ["mobilenet_v2_035", "mobilenet_v2_050", "mobilenet_v2_075",
                                                   "mobilenet_v2_130", "mobilenet_v2_140"]


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def test_user_code_that_exits_at_import_is_contained(capsys, tmp_path) -> None:
    exits = write(tmp_path, "exits.py", "import sys\nsys.exit(0)\n")
    assert "importing" in usage_error(capsys, "analyze", f"{exits}:build")
    message = usage_error(capsys, "analyze", f"{exits}:build")
    assert "called sys.exit(0)" in message and 'if __name__ == "__main__":' in message
    parses = write(tmp_path, "parses.py", """
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("--data", required=True)
        parser.parse_args()
    """)
    message = usage_error(capsys, "analyze", f"{parses}:build")
    assert "called sys.exit(2) after printing: usage:" in message and "--data" in message


def test_a_file_without_its_factory_names_the_callables(capsys, tmp_path) -> None:
    models = write(tmp_path, "mymodels.py", """
        from torch import nn

        def build():
            return nn.Linear(2, 2)

        def small():
            return nn.Linear(1, 1)
    """)
    message = usage_error(capsys, "analyze", str(models))
    assert f"{models}: add the factory that builds the model, e.g. {models}:build" in message
    assert "callables defined there: build, small" in message


def test_a_module_off_the_path_gets_a_hint(capsys) -> None:
    message = usage_error(capsys, "analyze", "no_such_package_xyz.models:build")
    assert "is its folder on PYTHONPATH?" in message and "path/to/no_such_package_xyz/models.py:factory" in message


def test_a_missing_dependency_of_the_users_code_is_not_blamed_on_the_path(tmp_path) -> None:
    needs = write(tmp_path, "needs.py", "import not_installed_dependency_xyz\n")
    with pytest.raises(ModelLoadError, match="No module named 'not_installed_dependency_xyz'") as raised:
        load_model(f"{needs}:build")
    assert "PYTHONPATH" not in str(raised.value)


def test_lazy_modules_are_counted(capsys, tmp_path) -> None:
    lazy = write(tmp_path, "lazy.py", """
        from torch import nn

        def build():
            return nn.Sequential(nn.LazyConv2d(8, 3), nn.Flatten(), nn.LazyLinear(4))
    """)
    assert main(["analyze", f"{lazy}:build", "--input", "1x3x8x8", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert sum(int(row.split(",")[5]) for row in rows[1:]) == 8 * 27 + 8 + 4 * 288 + 4


def test_ctrl_c_exits_130_with_one_line(capsys, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module("convcost.cli.models"), "analyze_loaded", interrupted)
    assert main(["analyze", "efficientnet_b0"]) == 130
    out, err = capsys.readouterr()
    assert out == "" and err == "convcost: interrupted\n"
    assert app.EXIT_INTERRUPTED == 130
