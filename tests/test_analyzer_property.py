"""Random convolutions: the formula, the dispatch counter and fvcore agree on params and MACs."""

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from convcost.analyzer import analyze


@st.composite
def conv_cases(draw: st.DrawFn) -> tuple[nn.Module, tuple[int, ...]]:
    groups = draw(st.integers(1, 4))
    in_channels = groups * draw(st.integers(1, 3))
    out_channels = groups * draw(st.integers(1, 3))
    kernel = draw(st.integers(1, 5))
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2))
    padding = draw(st.integers(0, 2))
    transposed = draw(st.booleans())
    bias = draw(st.booleans())
    reach = dilation * (kernel - 1) + 1
    height = draw(st.integers(max(1, reach - 2 * padding), 13))
    width = draw(st.integers(max(1, reach - 2 * padding), 13))
    if transposed:
        output_padding = draw(st.integers(0, max(0, min(stride, dilation) - 1)))
        for size in (height, width):
            assume((size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1 >= 1)
        conv: nn.Module = nn.ConvTranspose2d(in_channels, out_channels, kernel, stride, padding, output_padding,
                                             groups, bias, dilation)
    else:
        conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, dilation, groups, bias)
    batch = draw(st.integers(1, 2))
    return conv, (batch, in_channels, height, width)


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_analytic_dispatch_and_fvcore_agree(case: tuple[nn.Module, tuple[int, ...]]) -> None:
    conv, shape = case
    analysis = analyze(conv, shape, engine="all")
    assert analysis.disagreements == ()
    layer = analysis.layer("")
    assert layer.check is not None and layer.check.agrees
    assert layer.params == sum(p.numel() for p in conv.parameters()) == layer.check.analytic_params
    assert {e.engine: e.macs for e in analysis.engines} == dict.fromkeys(("dispatch", "analytic", "fvcore"),
                                                                         layer.macs)
