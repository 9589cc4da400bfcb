"""Other tools' totals, recomputed from convcost's own counts, match what those tools print."""

import warnings

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from convcost.analyzer import analyze
from convcost.analyzer.conventions import CONVENTIONS, convention_total, explain
from convcost.architectures import create_model, list_models, model_info


@pytest.fixture(scope="module")
def b0():
    return analyze(create_model("efficientnet_b0", device="meta"), (1, 3, 224, 224))


@pytest.mark.parametrize(
    ("tool", "total"),
    [
        ("paper", 385_814_752),
        ("torchvision", 385_814_752),
        ("flopcounter", 771_629_504),  # 2 × conv+linear MACs
        ("fvcore", 401_659_392),  # MACs + 2·6,737,696 BN elements + 2,369,248 pooled elements
        ("thop", 415_145_024),  # thop 0.1.1
        ("ptflops", 410_196_896),  # ptflops 0.7.5, pytorch backend
        ("torchinfo", 385_867_108),  # torchinfo 1.8.0
        ("convcost", 802_325_916),
    ],
)
def test_published_b0_totals(b0, tool: str, total: int) -> None:
    assert convention_total(b0, tool).total == total


@pytest.mark.parametrize("tool", CONVENTIONS)
def test_explain_reconciles_both_totals(b0, tool: str) -> None:
    rows = explain(b0, tool)
    assert sum(row.tool_value for row in rows) == convention_total(b0, tool).total
    assert sum(row.convcost_flops for row in rows) == b0.totals.flops


def test_explain_names_what_fvcore_leaves_out(b0) -> None:
    rows = {row.op: row for row in explain(b0, "fvcore")}
    assert rows["silu"].tool_value == 0 and rows["silu"].rule == "not counted by fvcore"
    assert rows["silu"].convcost_flops == 2 * 6_157_916
    assert rows["conv"].tool_value == 384_534_752


def test_unknown_convention_lists_valid_ones(b0) -> None:
    with pytest.raises(ValueError, match="convention must be one of convcost, paper, torchvision, fvcore"):
        convention_total(b0, "calflops")


@pytest.mark.parametrize("name", list_models())
def test_flop_counter_mode_total_on_every_model(name: str) -> None:
    resolution = model_info(name).resolution
    model = create_model(name, device="meta").eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, resolution, resolution, device="meta"))
    analysis = analyze(model, (1, 3, resolution, resolution))
    assert convention_total(analysis, "flopcounter").total == counter.get_total_flops()


@pytest.mark.fvcore
@pytest.mark.parametrize("name", list_models())
def test_fvcore_total_on_every_model(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fvcore.nn import FlopCountAnalysis

        resolution = max(32, model_info(name).resolution // 2)  # the rules do not depend on size; half is faster
        model = create_model(name, device="meta").to_empty(device="cpu").eval()  # counts need shapes, not values
        fvcore = FlopCountAnalysis(model, torch.zeros(1, 3, resolution, resolution))
        fvcore.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        expected = fvcore.total()
    analysis = analyze(model, (1, 3, resolution, resolution))
    assert convention_total(analysis, "fvcore").total == expected
