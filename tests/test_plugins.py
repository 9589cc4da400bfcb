"""Engines and output formats are registries: analyze, the cross-check, the verdict and the CLI read them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

from convcost.analyzer import ALL, EngineName, OpKey, analyze
from convcost.analyzer.engines import (
    EngineContext,
    EngineCounts,
    get_engine,
    register_engine,
    registered_engines,
    selection_choices,
    unregister_engine,
)
from convcost.analyzer.engines.names import engine_choices
from convcost.analyzer.formulas.ops import OP_FORMULAS, register_op
from convcost.analyzer.plugins import NotRegisteredError, Registry
from convcost.cli import app as cli
from convcost.reports.formats import (
    AnalysisView,
    ComparisonView,
    Format,
    get_renderer,
    register_renderer,
    registered_renderers,
    suffix_formats,
    unregister_renderer,
)
from convcost.reports.sections import Section
from convcost.reports.verdict import check_view


def small() -> nn.Module:
    with torch.device("meta"):
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1))


# 8·3·9 per output pixel of the 3×3 conv, 4·8 of the 1×1, on 6×6 maps: 216·36 + 32·36
SMALL_MACS = 216 * 36 + 32 * 36


def test_every_engine_name_is_registered_in_enum_order() -> None:
    assert [engine.name for engine in registered_engines()] == list(EngineName)
    assert selection_choices() == (*(name.value for name in EngineName), ALL)


def test_engine_registry_refuses_bad_and_duplicate_engines() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_engine(get_engine(EngineName.DISPATCH))
    with pytest.raises(ValueError, match="must be one of dispatch, analytic, fvcore; got 'flops'"):
        get_engine("flops")
    with pytest.raises(ValueError, match="engine must be one of dispatch, analytic, fvcore, all; got 'fast'"):
        analyze(small(), (1, 3, 6, 6), engine="fast")


def test_analysis_records_the_primary_engine() -> None:
    assert analyze(small(), (1, 3, 6, 6)).primary_engine is EngineName.DISPATCH
    analysis = analyze(small(), (1, 3, 6, 6), engine="analytic")
    assert analysis.primary_engine is EngineName.ANALYTIC and analysis.engine == "analytic"
    # the dispatch walk always runs: its totals are reported and the two engines are cross-checked
    assert [t.engine for t in analysis.engines] == [EngineName.DISPATCH, EngineName.ANALYTIC]
    assert analysis.verdict.engines_run == (EngineName.ANALYTIC, EngineName.DISPATCH)
    assert "Engines analytic, dispatch: agree on every module." in check_view(analysis).sentences
    every = analyze(small(), (1, 3, 6, 6), engine=ALL)
    assert every.engine == ALL and every.primary_engine is EngineName.DISPATCH
    assert every.verdict.engines_run == tuple(EngineName) and every.verdict.engines_not_run == ()
    assert every.totals.macs == SMALL_MACS


class Doubling:
    """An engine standing in for fvcore that counts every conv twice: a counting bug to be caught."""

    name = EngineName.FVCORE
    label = "the doubling engine"
    description = "doubles the walk's MACs"
    keyword_inputs = True
    reads_functions = False
    blind_spot = ""
    lone_reason = "the doubling engine counts every multiply-accumulate twice"

    def count(self, context: EngineContext) -> EngineCounts:
        counts = EngineCounts(self.name)
        for module, ops in context.reference.ops.items():
            for key, tally in ops.items():
                counts.ops[module][key].add(tally.calls, 2 * tally.macs, 2 * tally.flops)
        return counts


@pytest.fixture
def doubling() -> Iterator[Doubling]:
    original = unregister_engine(EngineName.FVCORE)
    engine = Doubling()
    register_engine(engine)
    try:
        yield engine
    finally:
        unregister_engine(EngineName.FVCORE)
        if original is not None:
            register_engine(original)


def test_an_engine_in_the_registry_is_cross_checked_and_named_in_the_verdict(doubling: Doubling) -> None:
    analysis = analyze(small(), (1, 3, 6, 6), engine=ALL)
    assert [d.layer for d in analysis.disagreements] == ["0", "2"]
    assert {d.reason for d in analysis.disagreements} == {doubling.lone_reason}
    assert analysis.disagreements[0].values == {"analytic": 216 * 36, "dispatch": 216 * 36, "fvcore": 2 * 216 * 36}
    assert {t.engine: t.macs for t in analysis.engines}[EngineName.FVCORE] == 2 * SMALL_MACS
    view = check_view(analysis)
    assert not view.ok and "2 disagreements" in " ".join(view.sentences)
    alone = check_view(analyze(small(), (1, 3, 6, 6)))
    assert "with --engine all, the analytic engine and the doubling engine count every module too" in " ".join(
        alone.sentences)


def test_cli_engine_choices_come_from_the_registry(capsys, doubling: Doubling) -> None:
    assert cli.main(["analyze", "efficientnet_b0", "--engine", "fvcore", "--depth", "0"]) == 0
    assert "engine fvcore" in capsys.readouterr().out
    assert cli.main(["analyze", "efficientnet_b0", "--engine", "fast"]) == 2
    assert "choose from 'dispatch', 'analytic', 'fvcore', 'all'" in capsys.readouterr().err


# --- what the command line offers follows the registry ---------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
ENGINE_COMMANDS = (["analyze", "efficientnet_b0"], ["compare", "efficientnet_b0"], ["report", "--studies", "none"])


def help_of(capsys, command: str) -> str:
    assert cli.main([command, "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    return errors[0]


@pytest.fixture
def without_fvcore() -> Iterator[None]:
    original = unregister_engine(EngineName.FVCORE)
    assert original is not None
    try:
        yield
    finally:
        register_engine(original)


def test_an_unregistered_engine_leaves_the_cli_choices(capsys, without_fvcore: None) -> None:
    assert engine_choices() == ("dispatch", "analytic", "all")
    for argv in ENGINE_COMMANDS:
        assert "--engine {dispatch,analytic,all}" in help_of(capsys, argv[0])
        assert cli.main([*argv, "--engine", "fvcore"]) == 2
        assert "argument --engine: invalid choice: 'fvcore'" in one_error_line(capsys)
    with pytest.raises(NotRegisteredError, match="engine must be one of dispatch, analytic, all; got 'fvcore'"):
        analyze(small(), (1, 3, 6, 6), engine="fvcore")
    with pytest.raises(NotRegisteredError, match="engine must be one of dispatch, analytic; got 'fvcore'"):
        get_engine("fvcore")


def test_registering_an_engine_adds_it_to_the_cli_choices(capsys) -> None:
    original = unregister_engine(EngineName.FVCORE)
    assert original is not None
    try:
        assert "--engine {dispatch,analytic,all}" in help_of(capsys, "analyze")
    finally:
        register_engine(original)
    assert engine_choices() == ("dispatch", "analytic", "fvcore", "all")
    assert "--engine {dispatch,analytic,fvcore,all}" in help_of(capsys, "analyze")


def test_an_engine_missing_at_run_time_is_bad_input(capsys, monkeypatch, without_fvcore: None) -> None:
    """Choices that outlive the registry (the old parser offered every ``EngineName``): the engine's absence is
    still one line and exit status 2, not a traceback."""
    from convcost.cli.commands import analyze_command

    monkeypatch.setattr(analyze_command, "engine_choices", lambda: (*(name.value for name in EngineName), ALL))
    assert cli.main(["analyze", "efficientnet_b0", "--engine", "fvcore"]) == 2
    assert "engine must be one of dispatch, analytic, all; got 'fvcore'" in one_error_line(capsys)


def test_engines_are_named_from_their_modules_before_any_is_imported() -> None:
    """In a fresh interpreter: ``--engine``'s choices are known without torch, and they are exactly the engines the
    modules register, each from the module named after it."""
    code = textwrap.dedent("""
        import json, sys
        from convcost.analyzer.engines.names import engine_choices
        from convcost.reports.formats import registered_renderers, suffix_formats
        before = engine_choices()
        formats = [renderer.format.value for renderer in registered_renderers()]
        suffixes = dict(suffix_formats())
        heavy = [m for m in ("torch", "pandas", "numpy", "matplotlib", "fvcore", "tabulate") if m in sys.modules]
        from convcost.analyzer.engines import registered_engines
        modules = {engine.name.value: type(engine).__module__ for engine in registered_engines()}
        print(json.dumps({"before": before, "heavy": heavy, "modules": modules, "after": engine_choices(),
                          "formats": formats, "suffixes": suffixes}))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["heavy"] == []
    assert found["before"] == found["after"] == [*(name.value for name in EngineName), ALL]
    assert found["modules"] == {name.value: f"convcost.analyzer.engines.{name.value}" for name in EngineName}
    assert found["formats"] == [fmt.value for fmt in Format]
    assert found["suffixes"] == {".txt": "table", ".csv": "csv", ".json": "json", ".html": "html", ".htm": "html",
                                 ".md": "markdown", ".markdown": "markdown"}


def test_a_registry_names_its_plug_ins_from_their_modules_until_it_imports_them(tmp_path, monkeypatch) -> None:
    package = tmp_path / "probe_plugins"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text(textwrap.dedent("""
        from convcost.analyzer.plugins import Registry
        THINGS = Registry("thing", lambda thing: thing, plugins=__package__, rank=str,
                          declared=lambda module: None if module == "base" else module)
    """))
    for name in ("beta", "alpha"):
        (package / f"{name}.py").write_text("from .base import THINGS\nTHINGS.register(__name__.split('.')[-1])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from probe_plugins.base import THINGS  # type: ignore[import-not-found]

    things: Registry[str, str] = THINGS
    assert things.names() == ("alpha", "beta")
    assert "probe_plugins.alpha" not in sys.modules  # named, not imported
    assert things.unregister("beta") == "beta"  # imports them all
    assert "probe_plugins.alpha" in sys.modules
    assert things.names() == ("alpha",) == things.declared_keys()[:1]
    things.register("gamma")
    assert things.names() == ("alpha", "gamma")
    with pytest.raises(NotRegisteredError, match="thing beta is not registered; registered: alpha, gamma"):
        things.get("beta")
    for name in ("probe_plugins", "probe_plugins.base", "probe_plugins.alpha", "probe_plugins.beta"):
        sys.modules.pop(name, None)


def test_a_registry_miss_is_bad_input() -> None:
    assert cli.is_input_error(NotRegisteredError("engine x is not registered"))


# --- operator keys ---------------------------------------------------------------------------


def test_every_formula_is_keyed_by_an_op_key() -> None:
    assert all(isinstance(formula.key, OpKey) for formula in OP_FORMULAS.values())
    with pytest.raises(ValueError, match="must be an OpKey member; got 'convolution'"):
        register_op(["aten::made_up"], "convolution", "a bare string is refused")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        _ = OpKey.CONVOLUTION  # type: ignore[attr-defined]  # a renamed key fails where it is used


# --- output formats ----------------------------------------------------------------------------


def test_every_format_has_a_renderer_in_enum_order() -> None:
    assert [renderer.format for renderer in registered_renderers()] == list(Format)
    with pytest.raises(ValueError, match="format must be one of table, csv, json, html, markdown; got 'xml'"):
        get_renderer("xml")
    with pytest.raises(ValueError, match="already registered"):
        register_renderer(get_renderer(Format.CSV))


class Shouting:
    """A renderer standing in for csv."""

    format = Format.CSV
    description = "upper case"
    holds = "a shout"
    shows_convention = False
    suffixes = (".csv",)

    def analysis(self, view: AnalysisView) -> str:
        return f"{view.analysis.model.upper()} {view.analysis.totals.macs}\n"

    def comparison(self, view: ComparisonView) -> str:
        return " ".join(a.model.upper() for a in view.analyses) + "\n"

    def section(self, section: Section) -> str:
        return section.title.upper() + "\n"


@pytest.fixture
def shouting() -> Iterator[Shouting]:
    original = unregister_renderer(Format.CSV)
    renderer = Shouting()
    register_renderer(renderer)
    try:
        yield renderer
    finally:
        unregister_renderer(Format.CSV)
        if original is not None:
            register_renderer(original)


def test_the_cli_renders_through_the_registry(capsys, shouting: Shouting) -> None:
    assert cli.main(["analyze", "efficientnet_b0", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "EFFICIENTNET_B0 385814752\n"
    assert cli.main(["compare", "efficientnet_b0", "resnet50", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "EFFICIENTNET_B0 RESNET50\n"
    assert cli.main(["explain", "efficientnet_b0", "--vs", "thop", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "EFFICIENTNET_B0: CONVCOST AGAINST THOP\n"
    assert cli.main(["analyze", "efficientnet_b0", "--convention", "thop", "--format", "csv"]) == 2
    assert "--convention is shown in table, json, html, markdown output; csv holds a shout" in capsys.readouterr().err



class Plain:
    """A renderer standing in for markdown, written to its own suffix."""

    format = Format.MARKDOWN
    description = "the model's name"
    holds = "a name"
    shows_convention = False
    suffixes = (".plain",)

    def analysis(self, view: AnalysisView) -> str:
        return f"plain {view.analysis.model}\n"

    def comparison(self, view: ComparisonView) -> str:
        return "plain\n"

    def section(self, section: Section) -> str:
        return "plain\n"


@pytest.fixture
def without_markdown() -> Iterator[None]:
    original = unregister_renderer(Format.MARKDOWN)
    assert original is not None
    try:
        yield
    finally:
        unregister_renderer(Format.MARKDOWN)
        register_renderer(original)


def test_the_cli_formats_and_suffixes_follow_the_registry(capsys, tmp_path, without_markdown: None) -> None:
    text = help_of(capsys, "analyze")
    assert "--format {table,csv,json,html}" in text and ".md" not in text
    assert cli.main(["analyze", "efficientnet_b0", "--format", "markdown"]) == 2
    assert "argument --format: invalid choice: 'markdown'" in one_error_line(capsys)
    assert ".md" not in suffix_formats()
    assert cli.main(["analyze", "efficientnet_b0", "--depth", "0", "-q", "-o", str(tmp_path / "b0.md")]) == 0
    assert (tmp_path / "b0.md").read_text().startswith("efficientnet_b0")  # no renderer claims .md: the table
    register_renderer(Plain())
    text = help_of(capsys, "analyze")
    assert "--format {table,csv,json,html,markdown}" in text and ".plain markdown;" in text and ".md" not in text
    assert suffix_formats()[".plain"] is Format.MARKDOWN
    assert cli.main(["analyze", "efficientnet_b0", "-q", "-o", str(tmp_path / "b0.PLAIN")]) == 0
    assert (tmp_path / "b0.PLAIN").read_text() == "plain efficientnet_b0\n"


def test_a_suffix_belongs_to_one_renderer(without_markdown: None) -> None:
    claiming = Plain()
    claiming.suffixes = (".csv",)
    with pytest.raises(ValueError, match=r"suffix \.csv is csv's; markdown cannot claim it too"):
        register_renderer(claiming)
    claiming.suffixes = ("MD",)
    with pytest.raises(ValueError, match="lower case with a leading dot; markdown has 'MD'"):
        register_renderer(claiming)
