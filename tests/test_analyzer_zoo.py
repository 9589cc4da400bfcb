"""Whole-model regressions against published figures, and three engines that agree."""

import pytest

from convcost.analyzer import analyze
from convcost.architectures import create_model, list_models, model_info

# conv + linear MACs the engines agree on; torchvision's `_ops` (GMACs, 3 decimals) in the comment
REFERENCE_MACS = [
    ("efficientnet_b0", 224, 385_814_752),  # 0.386
    ("efficientnet_b1", 240, 686_802_832),  # 0.687
    ("efficientnet_b2", 260, 993_561_872),  # not published at 260 (torchvision evaluates B2 at 288)
    ("efficientnet_b2", 288, 1_087_529_456),  # 1.088
    ("efficientnet_b3", 300, 1_827_141_392),  # 1.827
    ("efficientnet_b4", 380, 4_393_771_024),  # 4.394
    ("efficientnet_b5", 456, 10_266_384_752),  # 10.266
    ("efficientnet_b6", 528, 19_067_593_536),  # 19.068
    ("efficientnet_b7", 600, 37_745_884_192),  # 37.746
    ("efficientnet_v2_s", 384, 8_365_617_152),  # 8.366
    ("efficientnet_v2_m", 480, 24_582_460_384),  # 24.582
    ("efficientnet_v2_l", 480, 56_079_699_008),  # 56.080
    ("mobilenet_v2", 224, 300_774_272),  # 0.301
    ("resnet50", 224, 4_089_184_256),  # 4.089
]


def test_efficientnet_b0_exact() -> None:
    analysis = analyze(create_model("efficientnet_b0", device="meta"), (1, 3, 224, 224))
    assert analysis.totals.params == 5_288_548
    assert analysis.totals.macs == 385_814_752
    # the element counts other tools report for B0 (peer-conventions table)
    ops = analysis.by_operator("macs")
    assert ops == {"conv": 384_534_752, "linear": 1_280_000}
    flops = analysis.by_operator("flops")
    assert flops["batch_norm"] == 2 * 6_737_696
    assert flops["silu"] == 2 * 6_157_916
    assert flops["mul"] == 2_306_528
    assert flops["add"] == 210_112
    assert flops["mean"] == 2_369_248


@pytest.mark.parametrize(("name", "resolution", "macs"), REFERENCE_MACS)
def test_conv_linear_macs_at_reference_resolutions(name: str, resolution: int, macs: int) -> None:
    analysis = analyze(create_model(name, device="meta"), (1, 3, resolution, resolution))
    assert analysis.totals.macs == macs
    torchvision = [f.macs for f in model_info(name).published
                   if f.source == "torchvision weights metadata" and f.resolution == resolution]
    assert torchvision == ([] if (name, resolution) == ("efficientnet_b2", 260) else [round(macs / 1e6) * 1e6])
    checks = [layer.check for layer in analysis.layers if layer.check is not None]
    assert checks and all(check.agrees for check in checks)  # every conv/linear against its formula


def test_rows_sum_to_totals_and_inclusive_queries() -> None:
    model = create_model("efficientnet_b0", device="meta")
    analysis = analyze(model, (1, 3, 224, 224))
    for metric in ("params", "macs", "flops", "output_bytes", "saved_bytes"):
        assert sum(getattr(layer, metric) for layer in analysis.layers) == analysis.total("", metric)
    # independent sources: the engine's own tally and the model's parameters
    (engine,) = analysis.engines
    assert (engine.macs, engine.flops) == (analysis.totals.macs, analysis.totals.flops)
    assert sum(analysis.by_operator("flops").values()) == analysis.totals.flops
    assert sum(p.numel() for p in model.parameters()) == analysis.totals.params
    assert analysis.total("", "macs") == analysis.totals.macs
    assert analysis.total("", "saved_bytes") == analysis.totals.training_bytes
    stages = sum(analysis.total(f"stages.{i}", "params") for i in range(7))
    parts = ("stem", "head", "fc")
    assert stages + sum(analysis.total(p, "params") for p in parts) == 5_288_548
    frame = analysis.to_dataframe()
    assert int(frame["macs"].sum()) == 385_814_752
    assert set(frame.columns) >= {"name", "type", "depth", "params", "macs", "flops", "output_bytes", "kind"}


@pytest.mark.slow
@pytest.mark.fvcore
@pytest.mark.parametrize("name", list_models())
def test_three_engines_agree_on_every_conv_and_linear(name: str) -> None:
    resolution = model_info(name).resolution
    analysis = analyze(create_model(name, device="meta"), (1, 3, resolution, resolution), engine="all", name=name)
    assert analysis.disagreements == ()
    assert analysis.compared_macs == analysis.totals.macs  # every MAC counted by all three engines
    checks = [layer.check for layer in analysis.layers if layer.check is not None]
    assert checks and all(check.agrees for check in checks)
    engine_macs = {e.engine: e.macs for e in analysis.engines}
    assert engine_macs == {"dispatch": analysis.totals.macs, "analytic": analysis.totals.macs,
                           "fvcore": analysis.totals.macs}
    engine_flops = {e.engine: e.flops for e in analysis.engines}
    assert set(engine_flops.values()) == {analysis.totals.flops}
    assert analysis.unsupported == {}
    assert sum(layer.flops for layer in analysis.layers) == analysis.totals.flops
