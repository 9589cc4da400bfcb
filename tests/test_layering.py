"""The package's layers, enforced: every import of every module is checked against the layer it may use.

Layers, lowest first (a layer may import itself and the layers its rule names, nothing else of convcost):

- ``convcost.architectures``: the zoo; imports nothing of convcost.
- ``convcost.analyzer``: engines, formulas, records, analysis; neither the zoo nor the reports.
- ``convcost.reports``: renders records; imports the analyzer's records, never the analyzer's modules that run,
  hook or time a model (:data:`MEASURING`), nor the zoo, the studies or torch.
- ``convcost.studies``: the study plug-ins; the zoo, the analyzer and the reports.
- ``convcost`` itself (the public API, ``__main__``, ``convcost.cli``): everything.

Imports are read from the source (``import``, ``from``, relative ones resolved, those under
``TYPE_CHECKING`` and inside functions included), so a back-edge fails here even if no test runs it. A name
imported from a package that exports it lazily (``from convcost.analyzer import analyze``) counts as an import of
the module that defines it.
"""

from __future__ import annotations

import ast
import functools
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "convcost"
#: Layer → the other layers it may import.
ALLOWED: dict[str, frozenset[str]] = {
    "convcost.architectures": frozenset(),
    "convcost.analyzer": frozenset(),
    "convcost.reports": frozenset({"convcost.analyzer"}),
    "convcost.studies": frozenset({"convcost.analyzer", "convcost.architectures", "convcost.reports"}),
    "convcost": frozenset({"convcost.analyzer", "convcost.architectures", "convcost.reports", "convcost.studies"}),
}
#: Third-party packages a layer must not import.
FORBIDDEN_PACKAGES: dict[str, frozenset[str]] = {"convcost.reports": frozenset({"torch"})}
#: The analyzer's modules that run a model, hook it, or time something (or fit on timings), and everything under
#: them: a report renders the records they produce (``records``, ``analysis``, ``time_records``, ``conventions``,
#: ``engines.counts``, ``engines.names`` ...) and never imports them, so no measurement starts inside a renderer.
MEASURING: frozenset[str] = frozenset({
    "convcost.analyzer.engines",  # the engines and their walks (but see MEASURING_EXCEPT)
    "convcost.analyzer.measure",  # analyze(): the dispatch walk and the engines
    "convcost.analyzer.training",  # the backward walk
    "convcost.analyzer.step_memory",  # the training step's allocations, from the walk
    "convcost.analyzer.peak_curve",  # analyses at several batch sizes
    "convcost.analyzer.real_run",  # real tensors and a runnable copy of the model
    "convcost.analyzer.real_step",  # a real training step
    "convcost.analyzer.preserve",  # guards the user's model while a forward runs
    "convcost.analyzer.profiling",  # timed forwards with per-module hooks
    "convcost.analyzer.timed",  # a profile with its prediction
    "convcost.analyzer.roofline",  # the machine's peaks, measured
    "convcost.analyzer.microbench",  # single-layer timings
    "convcost.analyzer.latency_model",  # fitted on the micro-benchmarks
    "convcost.analyzer.machine_cache",  # where measured figures are kept
    "convcost.analyzer.allocator",  # changes how the process reuses memory, for timing
})
#: Data modules under a :data:`MEASURING` package that reports may read (the engines' names and count records; the
#: package itself only exports names lazily).
MEASURING_EXCEPT: frozenset[str] = frozenset({"convcost.analyzer.engines", "convcost.analyzer.engines.names",
                                              "convcost.analyzer.engines.counts"})
#: Layer → the modules (and everything under them) it must not import.
FORBIDDEN_MODULES: dict[str, frozenset[str]] = {"convcost.reports": MEASURING}


@dataclass(frozen=True)
class Import:
    """One import statement: the module that makes it, what it imports, and where."""

    module: str
    target: str
    path: Path
    line: int
    name: str | None = None  # ``from target import name``: the name, when it is not a module

def package_dirs() -> dict[str, Path]:
    """Installed package name → source folder, as ``pyproject.toml`` maps them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {name: ROOT / folder for name, folder in config["tool"]["setuptools"]["package-dir"].items()}


@functools.cache
def modules() -> dict[str, Path]:
    """Every module of the installed package → its source file."""
    found: dict[str, Path] = {}
    dirs = package_dirs()
    for package, folder in dirs.items():
        nested = [other for name, other in dirs.items() if name != package and other.is_relative_to(folder)]
        for path in folder.rglob("*.py"):
            if any(path.is_relative_to(other) for other in nested):
                continue
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str, path: Path) -> list[Import]:
    """Every import ``module`` makes, with relative ones resolved to absolute names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, path, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path.name == "__init__.py", node)
            found += [Import(module, f"{target}.{alias.name}", path, node.lineno) if node.module is None
                      else Import(module, target, path, node.lineno, alias.name) for alias in node.names]
    return found


def defining_module(item: Import) -> str:
    """The convcost module ``item`` really imports: ``from package import name`` reads the module ``name`` is
    (a submodule) or the one that defines it (a lazily exported class or function); else the target itself."""
    if item.name is None or not item.target.startswith(PACKAGE + "."):
        return item.target
    candidate = f"{item.target}.{item.name}"
    if candidate in modules():
        return candidate
    value = getattr(importlib.import_module(item.target), item.name, None)
    source = getattr(value, "__module__", None)
    return source if isinstance(source, str) and source.startswith(PACKAGE + ".") else item.target


def _under(name: str, modules_: frozenset[str]) -> bool:
    return any(name == module or name.startswith(module + ".") for module in modules_)


def layer_of(name: str) -> str | None:
    """The layer of a convcost module name (None outside convcost)."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    return next((layer for layer in sorted(ALLOWED, key=len, reverse=True)
                 if name == layer or name.startswith(layer + ".")), PACKAGE)


def violations(found: list[Import]) -> list[str]:
    """Every import that crosses a layer boundary the wrong way, as ``file:line: module imports target``."""
    bad = []
    for item in found:
        source = layer_of(item.module)
        assert source is not None
        target = layer_of(item.target)
        top = item.target.split(".")[0]
        if top in FORBIDDEN_PACKAGES.get(source, frozenset()):
            bad.append(f"{item.path.relative_to(ROOT)}:{item.line}: {item.module} imports {item.target}")
        forbidden = FORBIDDEN_MODULES.get(source, frozenset())
        if forbidden and target not in (None, source):
            # the module imported (it runs when imported), and the one defining a lazily exported name
            real = next((name for name in (item.target, defining_module(item))
                         if _under(name, forbidden) and name not in MEASURING_EXCEPT), None)
            if real is not None:
                bad.append(f"{item.path.relative_to(ROOT)}:{item.line}: {item.module} imports {real}, which runs, "
                           "hooks or times a model")
        # the bare package `convcost` (its lazy public API) re-exports everything: only the top layer may use it
        if target is None or target == source or (item.target == PACKAGE and source == PACKAGE):
            continue
        if target == PACKAGE and item.target.startswith(PACKAGE + "._version"):
            continue  # the version string is a leaf every layer may read
        if target not in ALLOWED[source]:
            bad.append(f"{item.path.relative_to(ROOT)}:{item.line}: {item.module} imports {item.target}")
    return bad


def test_every_card_folder_is_a_subpackage_of_convcost() -> None:
    assert package_dirs() == {"convcost": ROOT / "convcost", "convcost.analyzer": ROOT / "analyzer",
                              "convcost.architectures": ROOT / "architectures", "convcost.reports": ROOT / "reports"}


def test_no_import_crosses_a_layer_the_wrong_way() -> None:
    found = [item for module, path in modules().items() for item in imports_of(module, path)]
    assert len(found) > 300  # the scan sees the whole package
    assert violations(found) == []


def test_the_layers_form_no_cycle() -> None:
    def reaches(layer: str, seen: frozenset[str]) -> bool:
        return any(other in seen or reaches(other, seen | {other}) for other in ALLOWED[layer])

    assert not any(reaches(layer, frozenset({layer})) for layer in ALLOWED)


@pytest.mark.parametrize(("module", "source", "target"), [
    ("convcost.architectures.resnet", "from convcost.analyzer import analyze", "convcost.analyzer"),
    ("convcost.analyzer.analyze", "from ..reports import table", "convcost.reports"),
    ("convcost.analyzer.engines.dispatch", "from ...architectures import create_model", "convcost.architectures"),
    ("convcost.reports.frames", "import torch", "torch"),
    ("convcost.reports.html", "from convcost.studies.se import se_study", "convcost.studies.se"),
    ("convcost.studies.se", "from convcost.cli import main", "convcost.cli"),
    ("convcost.studies.se", "import convcost", "convcost"),
])
def test_a_back_edge_is_caught(tmp_path: Path, module: str, source: str, target: str) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source + "\n", encoding="utf-8")
    found = [Import(module, item.target, ROOT / "x.py", item.line, item.name) for item in imports_of(module, path)]
    assert [item.target for item in found] == [target]
    assert len(violations(found)) == 1


@pytest.mark.parametrize(("module", "source"), [
    ("convcost.reports.frames", "from convcost.analyzer.profiling import profile"),
    ("convcost.reports.profile_section", "from convcost.analyzer.profiling import Profile"),  # a record, from there
    ("convcost.reports.charts", "from convcost.analyzer import analyze"),  # lazily exported from measure
    ("convcost.reports.table", "from convcost.analyzer.engines import dispatch"),
    ("convcost.reports.table", "from convcost.analyzer.engines.tracker import ModuleTracker"),
    ("convcost.reports.formats.html_format", "from ...analyzer.timed import measure_time"),
    ("convcost.reports.build", "import convcost.analyzer.microbench"),
    ("convcost.reports.html", "from convcost.analyzer.latency_model import fit_latency_model"),
    ("convcost.reports.verdict", "from convcost.analyzer.roofline import machine_roofline"),
    ("convcost.reports.export", "from convcost.analyzer.training import count_training_step"),
])
def test_a_report_importing_a_measuring_module_is_caught(tmp_path: Path, module: str, source: str) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source + "\n", encoding="utf-8")
    found = [Import(module, item.target, ROOT / "x.py", item.line, item.name) for item in imports_of(module, path)]
    (line,) = violations(found)
    assert line.endswith("which runs, hooks or times a model")
    assert line.split(": ", 1)[1].split(",")[0] in (f"{module} imports {found[0].target}",
                                                     f"{module} imports {defining_module(found[0])}")


def test_the_measuring_modules_exist() -> None:
    """Every module :data:`MEASURING` names is one (a renamed one would silently stop being forbidden)."""
    assert set(modules()) >= MEASURING | MEASURING_EXCEPT


def test_allowed_edges_pass() -> None:
    edges = [Import("convcost.reports.frames", "convcost.analyzer", ROOT / "x.py", 1),
             Import("convcost.studies.se", "convcost.reports.sections", ROOT / "x.py", 1),
             Import("convcost.cli.app", "convcost.studies", ROOT / "x.py", 1),
             Import("convcost.analyzer.records", "convcost.analyzer.engines.base", ROOT / "x.py", 1),
             Import("convcost.reports.profile_section", "convcost.analyzer.time_records", ROOT / "x.py", 1, "Profile"),
             Import("convcost.reports.table", "convcost.analyzer", ROOT / "x.py", 1, "Analysis"),
             Import("convcost.reports.verdict", "convcost.analyzer", ROOT / "x.py", 1, "ALL"),
             Import("convcost.reports.formats.base", "convcost.analyzer.engines", ROOT / "x.py", 1, "EngineName"),
             Import("convcost.reports.frames", "convcost.analyzer.engines.counts", ROOT / "x.py", 1)]
    assert violations(edges) == []
