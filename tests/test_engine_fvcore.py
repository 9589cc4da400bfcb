"""The fvcore engine and convention on what fvcore handles its own way: string padding, einsum, interpolate."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convcost.analyzer import ALL, EngineName, analyze
from convcost.analyzer.conventions import convention_total, explain

pytestmark = pytest.mark.fvcore


class Padded(nn.Module):
    """Convs with padding "same" and "valid" (a trace records them as aten::_convolution_mode) and a plain one."""

    def __init__(self) -> None:
        super().__init__()
        self.same = nn.Conv2d(3, 8, 3, padding="same")
        self.valid = nn.Conv2d(8, 8, 3, padding="valid")
        self.plain = nn.Conv2d(8, 4, 1)
        self.norm = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.plain(self.valid(self.same(x))))


class Mixed(Padded):
    """Plus an interpolation (no convcost formula) and an einsum contraction."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(super().forward(x), scale_factor=2)
        y = x.flatten(2)
        return torch.einsum("bci,bdi->bcd", y, y)


def fvcore_total(model: nn.Module, shape: tuple[int, ...]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(model, torch.zeros(shape))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        return float(analysis.total())


def test_every_engine_counts_string_padding_einsum_and_lists_interpolate() -> None:
    analysis = analyze(Mixed().eval(), (1, 3, 16, 16), engine=ALL)
    # same 8·27·256 + valid 8·72·196 + plain 4·8·196 = 55,296 + 112,896 + 6,272; einsum b·c·d·i = 4·4·784 = 12,544
    assert analysis.totals.macs == 55_296 + 112_896 + 6_272 + 12_544 == 187_008
    assert {e.engine: e.macs for e in analysis.engines} == dict.fromkeys(EngineName, 187_008)
    assert analysis.disagreements == ()
    for engine in analysis.engines:
        assert engine.unsupported_ops == {"aten::upsample_nearest2d": 1}, engine.engine
    assert analysis.unsupported_ops() == {"aten::upsample_nearest2d": 1}


def test_fvcore_convention_skips_string_padding_as_fvcore_does() -> None:
    model = Padded().eval()
    analysis = analyze(model, (1, 3, 16, 16))
    expected = fvcore_total(model, (1, 3, 16, 16))
    total = convention_total(analysis, "fvcore")
    # fvcore counts the 1x1 conv (6,272) and the batch norm (2 per element: 2·4·14·14 = 1,568), not the others
    assert total.total == expected == 6_272 + 1_568
    conv = {row.op: row for row in explain(analysis, "fvcore")}["conv"]
    assert conv.tool_value == 6_272 and "aten::_convolution_mode" in conv.rule


class Counting(nn.Module):
    """A forward that updates a buffer: only a copy may be run for real."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.conv(x)


@pytest.mark.parametrize("engine", ["fvcore", ALL])
def test_the_fvcore_engine_traces_a_copy(engine: str) -> None:
    model = Counting()
    weight = model.conv.weight.detach().clone()
    analysis = analyze(model, (1, 3, 8, 8), engine=engine)
    assert int(model.calls) == 0 and model.calls._version == 0
    assert torch.equal(model.conv.weight, weight)
    assert analysis.totals.macs == 4 * 27 * 36
