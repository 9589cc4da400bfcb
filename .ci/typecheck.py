"""Type-check the package as it is installed: ``convcost`` with the card's folders as its subpackages.

mypy cannot follow setuptools' editable-install finder, and run on the folders themselves it
would see ``analyzer`` as a top-level package. This builds ``build/typecheck/convcost`` from
symbolic links, laid out as ``[tool.setuptools.package-dir]`` installs it, and runs mypy on it;
reported paths are mapped back to the repository's files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
STAGE = ROOT / "build" / "typecheck"


def stage() -> dict[str, Path]:
    """Lay the package out under :data:`STAGE`; returns staged path prefix → source folder."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-dir"]
    shutil.rmtree(STAGE, ignore_errors=True)
    prefixes = {}
    for package, folder in sorted(mapping.items(), key=lambda item: item[0].count(".")):
        target = STAGE.joinpath(*package.split("."))
        source = ROOT / folder
        if package.count(".") == 0:
            target.mkdir(parents=True)
            for entry in source.iterdir():
                if entry.name != "__pycache__":
                    (target / entry.name).symlink_to(entry)
        else:
            target.symlink_to(source, target_is_directory=True)
        prefixes[str(target.relative_to(ROOT))] = source
    return prefixes


def main() -> int:
    """Run mypy on the staged package; its exit status."""
    prefixes = stage()
    run = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                          str((STAGE / "convcost").relative_to(ROOT))], cwd=ROOT, capture_output=True, text=True,
                         check=False)
    for line in (run.stdout + run.stderr).splitlines():
        for prefix, source in sorted(prefixes.items(), key=lambda item: -len(item[0])):
            if line.startswith(prefix + "/"):
                line = str(source.relative_to(ROOT)) + line[len(prefix):]
                break
        print(line)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
