"""Every multiply-accumulate cross-checked: the analytic engine's function formulas against the dispatch walk."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convcost.analyzer import ALL, EngineName, analyze


class Functional(nn.Module):
    """Matrix products reached through torch functions, not conv/linear modules."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.weight = nn.Parameter(torch.empty(6, 8))
        self.bias = nn.Parameter(torch.empty(6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (2, 5, 8)
        if self.kind == "linear":  # rank 3: 2·5 rows · 6 outputs · 8 inputs
            return F.linear(x, self.weight, self.bias)
        if self.kind == "matmul":  # (2, 5, 8) @ (8, 6)
            return x @ self.weight.t()
        if self.kind == "bmm":
            return torch.bmm(x, x.transpose(1, 2))
        if self.kind == "baddbmm":
            return torch.baddbmm(torch.zeros(2, 5, 5), x, x.transpose(1, 2))
        if self.kind == "einsum":
            return torch.einsum("bld,bmd->blm", x, x)
        if self.kind == "attention":  # (2, 5, 8) as one head
            return F.scaled_dot_product_attention(x[:, None], x[:, None], x[:, None])
        if self.kind == "broadcast":  # (2, 5, 8) @ (8,)
            return torch.matmul(x, self.weight[0])
        raise ValueError(self.kind)


MACS = {
    "linear": 2 * 5 * 6 * 8,  # 480
    "matmul": 2 * 5 * 8 * 6,  # 480
    "bmm": 2 * 5 * 8 * 5,  # 400
    "baddbmm": 2 * 5 * 8 * 5,  # 400
    "einsum": 2 * 5 * 5 * 8,  # 400
    "attention": 2 * 5 * 5 * (8 + 8),  # q·kᵀ and weights·v: 1,600
    "broadcast": 2 * 5 * 8,  # 80
}


@pytest.mark.parametrize(("kind", "macs"), MACS.items())
def test_function_formulas_agree_with_the_walk(kind: str, macs: int) -> None:
    analysis = analyze(Functional(kind), (2, 5, 8), engine=ALL)
    assert {e.engine: e.macs for e in analysis.engines} == dict.fromkeys(EngineName, macs)
    assert analysis.disagreements == () and analysis.compared_macs == macs


def test_multi_head_attention_module() -> None:
    attention = nn.MultiheadAttention(32, 4, batch_first=True)
    x = torch.empty(2, 16, 32)
    analysis = analyze(attention, (x, x, x), engine=ALL)
    # q, k, v projections 3·2·16·32·32 = 98,304; q·kᵀ and weights·v 2·2·16·16·32 = 32,768; output 32,768
    assert {e.engine: e.macs for e in analysis.engines} == dict.fromkeys(EngineName, 163_840)
    assert len({e.flops for e in analysis.engines}) == 1 and analysis.disagreements == ()


def test_transposed_and_dilated_convs() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3, dilation=2, padding="same"), nn.ConvTranspose2d(4, 2, 3, stride=2))
    analysis = analyze(model, (1, 3, 8, 8), engine=ALL)
    # 4·27·64 = 6,912; transposed: every input element · C_out·k² = 4·64 · 2·9 = 4,608
    assert {e.engine: e.macs for e in analysis.engines} == dict.fromkeys(EngineName, 6_912 + 4_608)


class Direct(nn.Module):
    """A matrix product called as an aten operator: no torch function the analytic engine has a formula for."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.aten.mm.default(x, x.t())


def test_a_product_no_formula_sees_is_a_disagreement_with_its_reason() -> None:
    analysis = analyze(Direct(), (4, 3), engine="analytic")
    (disagreement,) = analysis.disagreements
    assert disagreement.layer == "" and disagreement.values == {"dispatch": 48, "analytic": 0}
    assert "without a function the analytic engine knows" in disagreement.reason


def test_the_share_counted_twice() -> None:
    analysis = analyze(Direct(), (4, 3))  # one engine, and no conv/linear layer to check against a formula
    assert (analysis.compared_macs, analysis.totals.macs) == (0, 48)
    assert analysis.verdict.compared_share == 0.0
    layered = analyze(nn.Linear(3, 2), (4, 3))
    assert layered.verdict.compared_share == 1.0  # the layer is checked against its formula


def test_the_words_say_every_matrix_product_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """``macs`` covers every matrix product, attention included, and ``all`` cross-checks each module's."""
    import inspect

    from convcost.analyzer import measure, records
    from convcost.cli.app import main

    assert main(["analyze", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "cross-checks every module's MACs, convolutions and matrix products (attention included)" in help_text
    assert "conv/linear layer" not in help_text
    assert records.__doc__ is not None and "of conv and linear operators" not in records.__doc__
    assert "every convolution and every matrix product" in " ".join(records.__doc__.split())
    assert "every conv/linear layer is cross-checked" not in inspect.getdoc(measure.analyze)
