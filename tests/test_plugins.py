"""Engines and output formats are registries: analyze, the cross-check, the verdict and the CLI read them."""

from __future__ import annotations

from collections.abc import Iterator

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
from convcost.analyzer.formulas.ops import OP_FORMULAS, register_op
from convcost.cli import app as cli
from convcost.reports.formats import (
    AnalysisView,
    ComparisonView,
    Format,
    get_renderer,
    register_renderer,
    registered_renderers,
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
