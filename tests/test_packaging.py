"""One import namespace: ``convcost`` and nothing generic, from an editable install and from a wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

import convcost
from convcost.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
PUBLIC = "from convcost import analyze, create_model, list_models; print(len(list_models()))"
GENERIC = ("analyzer", "architectures", "reports")


def python(code: str, cwd: Path, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in ``cwd`` (``path`` first on its import path)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if path is not None:
        env["PYTHONPATH"] = str(path)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)


def package_folders() -> dict[str, Path]:
    """Every Python package in the source folders → its folder, named as installed (``convcost.reports.formats``)."""
    found = {}
    for package, folder in CONFIG["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            found[".".join([package, *init.parent.relative_to(ROOT / folder).parts])] = init.parent
    return found


def test_every_package_folder_is_listed() -> None:
    listed = set(CONFIG["packages"])
    missing = set(package_folders()) - listed
    assert not missing, f"add to [tool.setuptools] packages, or the wheel lacks them: {sorted(missing)}"
    assert "convcost.reports.templates" in listed  # a data folder, listed so its files ship


def test_one_version() -> None:
    assert convcost.__version__ == version("convcost")


def test_version_and_module_entry_point(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"convcost {convcost.__version__}"
    run = subprocess.run([sys.executable, "-m", "convcost", "--version"], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0 and run.stdout.strip() == f"convcost {convcost.__version__}"


def test_editable_install_exposes_only_convcost(tmp_path: Path) -> None:
    run = python(PUBLIC, tmp_path)
    assert run.returncode == 0 and int(run.stdout) > 0, run.stderr
    for name in GENERIC:
        run = python(f"import {name}", tmp_path)
        assert run.returncode != 0 and "No module named" in run.stderr, name


@pytest.mark.slow
def test_wheel_holds_only_convcost(tmp_path: Path) -> None:
    # built from a copy of the sources alone: a build/ folder left by an earlier build would put its stale files
    # (a renamed module) into the wheel
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info",
                                                                "__pycache__", ".*_cache", "convcost-report"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(source)], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("convcost-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"convcost", f"convcost-{convcost.__version__}.dist-info"}
    for expected in ("convcost/analyzer/measure.py", "convcost/architectures/registry.py",
                     "convcost/reports/templates/report.html.j2", "convcost/reports/formats/base.py",
                     "convcost/studies/scaling.py", "convcost/cli/app.py", "convcost/py.typed"):
        assert expected in names, expected
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                              str(wheel)], capture_output=True, text=True, check=False)
    assert install.returncode == 0, install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = python(f"import convcost; assert convcost.__file__.startswith({str(site)!r}); {PUBLIC}", elsewhere, site)
    assert run.returncode == 0 and int(run.stdout) > 0, run.stderr
    for name in GENERIC:
        assert python(f"import {name}", elsewhere, site).returncode != 0, name


def test_importing_convcost_loads_no_torch(tmp_path: Path) -> None:
    # the public names load on first use, so `import convcost` (and reading its version) stays light
    run = python("import sys, convcost; convcost.__version__; print('torch' in sys.modules)", tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == "False", run.stderr
    run = python("import sys, convcost; convcost.analyze; print('torch' in sys.modules)", tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == "True", run.stderr
    with pytest.raises(AttributeError, match="no attribute 'analyse'"):
        _ = convcost.analyse  # type: ignore[attr-defined]
