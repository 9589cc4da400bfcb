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


# --- the fvcore convention follows what was called, as the trace fvcore counts records it ---------------------


class SameReflect(nn.Module):
    """Padding "same" with reflection: the module pads first and runs an ordinary conv, which fvcore counts."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding="same", padding_mode="reflect")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class FunctionalSame(nn.Module):
    """``F.conv2d(..., padding="same")`` called outside any conv module (a trace's aten::_convolution_mode)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(8, 3, 3, 3))
        self.plain = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.plain(F.conv2d(x, self.weight, padding="same"))


class Pools(nn.Module):
    """Functional adaptive average pools (to one position and to two) next to ``x.mean``, which fvcore does not
    count."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return F.adaptive_avg_pool2d(y, 1) + y.mean((2, 3), keepdim=True) + F.adaptive_avg_pool2d(y, 2).sum()


class SubclassedNorm(nn.BatchNorm2d):
    """A batch norm of another class name (as timm's BatchNormAct2d)."""


class Norms(nn.Module):
    """Batch norms by the call's arguments: a subclass with affine weights, one without, one on batch statistics;
    a group norm with affine weights and a layer norm without."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.subclassed = SubclassedNorm(8)
        self.plain = nn.BatchNorm2d(8, affine=False)
        self.batch = nn.BatchNorm2d(8, track_running_stats=False)
        self.group = nn.GroupNorm(2, 8)
        self.layer = nn.LayerNorm(16, elementwise_affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(self.group(self.batch(self.plain(self.subclassed(self.conv(x))))))


class Attention(nn.Module):
    """Scaled-dot-product attention, nn.MultiheadAttention without weights (attention inside) and with a mask
    (scores by baddbmm), and a baddbmm of its own: fvcore counts none of them but the weighted values' bmm."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(16, 48)
        self.mha = nn.MultiheadAttention(16, 2, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.flatten(2).transpose(1, 2)  # (1, 16, 16)
        q, k, v = self.proj(t).chunk(3, -1)
        a = F.scaled_dot_product_attention(q, k, v)
        b, _ = self.mha(t, t, t, need_weights=False)
        c, _ = self.mha(t, t, t, attn_mask=torch.zeros(16, 16))
        return a + b + c + torch.baddbmm(t, t, t).mean()


class Resize(nn.Module):
    """Nearest and bilinear interpolation: fvcore counts 1 and 4 per output element."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return F.interpolate(y, scale_factor=2) + F.interpolate(y, scale_factor=2, mode="bilinear")


CALLED = {
    # 8·27·256: counted
    "same-reflect": (SameReflect, (1, 3, 16, 16), 55_296),
    # the functional same conv 0, the 1x1 conv 4·8·256
    "functional-same": (FunctionalSame, (1, 3, 16, 16), 8_192),
    # conv 8·3·256 + both adaptive pools' inputs 2·8·256; y.mean 0
    "adaptive-pools": (Pools, (1, 3, 16, 16), 6_144 + 4_096),
    # conv 8·3·64; 512 elements per norm: subclass 2, no affine 1, batch statistics 5, group 5, layer without 4
    "norms": (Norms, (1, 3, 4, 16), 1_536 + (2 + 1 + 5 + 5 + 4) * 512),
    # three 16x16→48 / in-projections (12,288 each), two out-projections (4,096 each), the masked weighted values
    "attention": (Attention, (1, 16, 4, 4), 3 * 12_288 + 2 * 4_096 + 4_096),
    # conv 4·3·64 + nearest 1·1,024 + bilinear 4·1,024
    "resize": (Resize, (1, 3, 8, 8), 768 + 1_024 + 4 * 1_024),
}


@pytest.mark.parametrize("case", CALLED)
def test_the_fvcore_convention_follows_the_calls_fvcore_sees(case: str) -> None:
    build, shape, expected = CALLED[case]
    model = build().eval()
    analysis = analyze(model, shape)
    assert fvcore_total(model, shape) == expected
    assert convention_total(analysis, "fvcore").total == expected
    assert sum(row.tool_value for row in explain(analysis, "fvcore")) == expected


def test_explain_says_which_attention_fvcore_leaves_out() -> None:
    analysis = analyze(Attention().eval(), (1, 16, 4, 4))
    linear = {row.op: row for row in explain(analysis, "fvcore")}["linear"]
    # SDPA 1·16·16·(16+16) and MHA without weights 2·16·16·16 count 0; the masked MHA's and our baddbmm's scores too
    assert "aten::scaled_dot_product_attention (16,384 multiply-adds here)" in linear.rule
    assert "aten::baddbmm (8,192 multiply-adds here)" in linear.rule
    assert linear.tool_value == 3 * 12_288 + 2 * 4_096 + 4_096
