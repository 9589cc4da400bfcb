"""The Python API a notebook or script wants: a short repr, the table, files, and a compact Jupyter view."""

from __future__ import annotations

import csv
import io
import json

from torch import nn

import convcost
from convcost import analyze, create_model, load_model
from convcost.analyzer import Analysis as Records


def b0() -> convcost.Analysis:
    return analyze(create_model("efficientnet_b0", device="meta"), (1, 3, 224, 224), name="efficientnet_b0")


def test_repr_is_a_few_lines() -> None:
    text = repr(b0())
    assert len(text.splitlines()) == 4 and len(text) < 600
    assert text.startswith("<Analysis efficientnet_b0: input 1x3x224x224 (float32), engine dispatch, meta tensors")
    assert "params 5,288,548 (5,288,548 trainable), MACs 385,814,752, FLOPs 802,325,916" in text
    assert "82 of 82 conv/linear layers agree" in text and "100.0% of MACs counted twice" in text


def test_renders_itself(tmp_path) -> None:
    analysis = b0()
    assert isinstance(analysis, Records)  # the same records, with rendering methods
    assert analysis.summary(depth=1).startswith("efficientnet_b0: input 1x3x224x224 (float32), engine dispatch")
    assert len(analysis.summary(depth=1).splitlines()) < len(analysis.summary(depth=2).splitlines())
    rows = list(csv.DictReader(io.StringIO(analysis.to_csv(tmp_path / "b0.csv"), newline="")))
    assert sum(int(row["macs"]) for row in rows) == 385_814_752
    assert (tmp_path / "b0.csv").read_bytes().startswith(b"name,type,kind")
    assert json.loads(analysis.to_json())["macs"] == 385_814_752
    assert "<title>convcost: efficientnet_b0</title>" in analysis.to_html()
    assert len(analysis.to_dataframe()) == len(analysis.layers)


def test_jupyter_shows_a_compact_table() -> None:
    html = b0()._repr_html_()
    assert html.startswith("<table") and html.count("<tr") == 2 and len(html) < 5_000
    assert "5.29M" in html and "82 of 82 conv/linear layers agree" in html


def test_partial_analyses_and_model_loading_are_public(tmp_path) -> None:
    loaded = load_model("efficientnet_b0")
    assert loaded.native_resolution == 224 and isinstance(loaded.module, nn.Module)
    public = {"analyze", "Analysis", "load_model", "ModelLoadError", "create_model", "list_models"}
    assert public <= set(convcost.__all__)


def test_an_op_formula_for_one_analysis_leaves_the_registry_alone() -> None:
    from convcost.analyzer import OpKey
    from convcost.analyzer.formulas.ops import OP_FORMULAS, OpCost, OpFormula

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SiLU(), nn.Dropout(0.1))
    default = analyze(model, (1, 3, 6, 6))
    triple = OpFormula(OpKey.SILU, lambda call: OpCost(flops=3 * call.out_numel), "3 FLOPs per element")
    tuned = analyze(model, (1, 3, 6, 6), ops={"aten::silu": triple}, ignore=["aten::convolution"])
    assert tuned.by_operator()[OpKey.SILU] == 3 * 4 * 16 and default.by_operator()[OpKey.SILU] == 2 * 4 * 16
    assert tuned.totals.macs == 0 and tuned.ignored_ops == {"aten::convolution": 1}
    assert OP_FORMULAS["aten::silu"].rule != triple.rule  # the registry is untouched
    assert analyze(model, (1, 3, 6, 6)).by_operator() == default.by_operator()


def test_bad_op_overrides_are_named() -> None:
    import pytest

    from convcost.analyzer.formulas.ops import OpCost

    model = nn.SiLU()
    with pytest.raises(ValueError, match="named like 'aten::silu'"):
        analyze(model, (1, 4), ignore=["silu"])
    with pytest.raises(ValueError, match="must be an OpFormula"):
        analyze(model, (1, 4), ops={"aten::silu": lambda call: OpCost()})
