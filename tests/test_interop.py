"""Real networks nobody here wrote: torchvision's detection, segmentation, classification and video zoos, and timm.

Run by ``make interop`` in a second environment (torch 2.14.1, torchvision 0.29.1, timm),
which also proves the ``torch>=2.1`` claim on a second torch version. Each model is built
without weights (counts depend on shapes, and on values only where a forward is data-dependent)
and checked: params against ``sum(p.numel())``; MACs against torchvision's published ``_ops``
where it has one and against FlopCounterMode on the same real forward where FlopCounterMode
counts everything (its one blind spot here, stated and checked: it has no formula for
``aten::_native_multi_head_attention``, the fused inference path of ``nn.MultiheadAttention``);
and the model is as it was afterwards.
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from typing import Any

import pytest
import torch
from helpers import assert_unchanged, snapshot
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from convcost.analyzer import ALL, Execution, InputShapeError, analyze

pytestmark = pytest.mark.interop

if os.environ.get("CONVCOST_INTEROP"):  # the interop run: a missing package is a failure, not a skip
    import timm
    import torchvision
else:
    torchvision = pytest.importorskip("torchvision")
    timm = pytest.importorskip("timm")

warnings.filterwarnings("ignore", category=UserWarning)
DETECTION = ("fasterrcnn_mobilenet_v3_large_320_fpn", "fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_resnet50_fpn",
             "fasterrcnn_resnet50_fpn_v2", "fcos_resnet50_fpn", "keypointrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn",
             "maskrcnn_resnet50_fpn_v2", "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2", "ssd300_vgg16",
             "ssdlite320_mobilenet_v3_large")


def published(name: str) -> tuple[float, int]:
    """torchvision's published GMACs (``_ops``) and parameter count of ``name``'s default weights."""
    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    return meta["_ops"], meta["num_params"]


def flop_counter(model: nn.Module, inputs: tuple[Any, ...]) -> int:
    """FlopCounterMode's total on a real forward of a copy (2 per multiply-accumulate)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        copy.deepcopy(model)(*inputs)
    return int(counter.get_total_flops())


def params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_the_whole_detection_family_is_listed() -> None:
    assert set(DETECTION) == set(torchvision.models.list_models(module=torchvision.models.detection))


@pytest.mark.parametrize("name", DETECTION)
def test_detection_models_are_counted_on_real_tensors(name: str) -> None:
    model = torchvision.models.get_model(name, weights=None, weights_backbone=None).eval()
    inputs = ([torch.rand(3, 320, 320, generator=torch.Generator().manual_seed(0))],)
    before = snapshot(model)
    analysis = analyze(model, inputs)
    assert_unchanged(before, snapshot(model))
    assert analysis.execution is Execution.REAL and "cannot run on meta tensors" in analysis.execution_reason
    assert analysis.input_shapes == ((3, 320, 320),)
    assert analysis.totals.params == params(model)
    assert 2 * analysis.totals.macs == flop_counter(model, inputs)


@pytest.mark.parametrize(("name", "options"), [
    ("fcn_resnet50", {"aux_loss": True, "num_classes": 21}),
    ("lraspp_mobilenet_v3_large", {"num_classes": 21}),
])
def test_segmentation_models_match_torchvision(name: str, options: dict[str, Any]) -> None:
    model = torchvision.models.get_model(name, weights=None, weights_backbone=None, **options).eval()
    before = snapshot(model)
    analysis = analyze(model, (1, 3, 520, 520))
    assert_unchanged(before, snapshot(model))
    ops, num_params = published(name)
    assert analysis.totals.params == params(model) == num_params
    assert round(analysis.totals.macs / 1e9, 3) == ops
    assert analysis.unsupported_ops() == {"aten::upsample_bilinear2d": 2}  # listed, never silently 0


@pytest.mark.parametrize("name", ["vit_b_16", "swin_t", "convnext_tiny", "maxvit_t", "regnet_y_400mf",
                                  "mobilenet_v3_large"])
def test_classification_models_agree_everywhere(name: str) -> None:
    model = torchvision.models.get_model(name, weights=None).eval()
    before = snapshot(model)
    analysis = analyze(model, (1, 3, 224, 224), engine=ALL)
    assert_unchanged(before, snapshot(model))
    ops, num_params = published(name)
    assert analysis.totals.params == params(model) == num_params
    assert round(analysis.totals.macs / 1e9, 3) == ops
    assert analysis.disagreements == () and analysis.verdict.compared_share == 1.0
    assert len({engine.macs for engine in analysis.engines}) == 1


def test_flop_counter_mode_misses_fused_attention() -> None:
    model = torchvision.models.get_model("vit_b_16", weights=None).eval()
    analysis = analyze(model, (1, 3, 224, 224))
    attention = sum(layer.macs for layer in analysis.layers if layer.type == "MultiheadAttention")
    assert attention == 12 * (4 * 197 * 768 * 768 + 2 * 197 * 197 * 768)  # 12 blocks: 4 projections, 2 products
    assert flop_counter(model, (torch.rand(1, 3, 224, 224),)) == 2 * (analysis.totals.macs - attention)


@pytest.mark.parametrize("name", ["r3d_18", "s3d"])
def test_video_models_match_torchvision(name: str) -> None:
    model = torchvision.models.get_model(name, weights=None).eval()
    side = 112 if name == "r3d_18" else 224
    analysis = analyze(model, (1, 3, 16, side, side))
    ops, num_params = published(name)
    assert analysis.totals.params == num_params and round(analysis.totals.macs / 1e9, 3) == ops


def test_a_video_clip_too_short_is_named_from_shapes() -> None:
    model = torchvision.models.get_model("s3d", weights=None).eval()
    with pytest.raises(InputShapeError, match=r"input resolution too small for this model.*MaxPool3d"):
        analyze(model, (1, 3, 2, 32, 32))


def test_timm_same_padding_convs() -> None:
    model = timm.create_model("tf_efficientnet_b0", pretrained=False).eval()
    before = snapshot(model)
    analysis = analyze(model, (1, 3, 224, 224), engine=ALL)
    assert_unchanged(before, snapshot(model))
    assert analysis.totals.params == params(model) == 5_288_548
    assert analysis.disagreements == () and analysis.verdict.compared_share == 1.0
    assert 2 * analysis.totals.macs == flop_counter(model, (torch.rand(1, 3, 224, 224),)) == 771_629_504


def fvcore_total(model: nn.Module, shape: tuple[int, ...]) -> float:
    """fvcore's own ``FlopCountAnalysis(...).total()``, run as a user runs it (grad enabled)."""
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, torch.zeros(shape))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    return float(analysis.total())


@pytest.mark.parametrize(("name", "expected"), [
    ("densenet121", 2_865_546_752),  # F.adaptive_avg_pool2d called in forward: 1024·49 counted
    ("tf_efficientnet_b0", 399_352_864),  # timm's BatchNormAct2d: F.batch_norm with affine weights, 2 per element
    ("vit_b_16", 16_867_412_736),  # nn.MultiheadAttention's scaled-dot-product attention: 0
])
def test_the_fvcore_convention_is_fvcores_total(name: str, expected: int) -> None:
    from convcost.analyzer.conventions import convention_total

    model = (timm.create_model(name, pretrained=False) if name.startswith("tf_")
             else torchvision.models.get_model(name, weights=None)).eval()
    analysis = analyze(model, (1, 3, 224, 224))
    assert convention_total(analysis, "fvcore").total == fvcore_total(model, (1, 3, 224, 224)) == expected


def test_the_fvcore_convention_states_the_einsum_rounding_it_cannot_follow() -> None:
    from convcost.analyzer.conventions import convention_total, explain

    model = torchvision.models.get_model("maxvit_t", weights=None).eval()
    analysis = analyze(model, (1, 3, 224, 224))
    # fvcore reads each einsum's cost off numpy's einsum_path printout (4 significant digits): 1,072 more here
    assert fvcore_total(model, (1, 3, 224, 224)) - convention_total(analysis, "fvcore").total == 1_072
    linear = {row.op: row for row in explain(analysis, "fvcore")}["linear"]
    assert "aten::einsum (177,020,928 multiply-adds here" in linear.rule and "4 significant digits" in linear.rule


def test_the_command_line_reads_the_hubs(capsys) -> None:
    from convcost.cli.app import main

    assert main(["analyze", "torchvision:resnet18", "--kw", "num_classes=10", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    fc_params = 512 * 10 + 10
    _, num_params = published("resnet18")
    assert document["params"] == num_params - (512 * 1000 + 1000) + fc_params  # the 10-class head
    assert document["input_shapes"] == [[1, 3, 224, 224]]
    assert main(["analyze", "timm:tf_efficientnet_b0", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["params"] == 5_288_548 and 2 * document["macs"] == 771_629_504
    assert main(["analyze", "timm:tf_efficientnet_bO"]) == 2
    assert "closest: tf_efficientnet_b0" in capsys.readouterr().err


def test_plan_takes_a_hub_model(capsys) -> None:
    from convcost.cli.app import main

    assert main(["plan", "torchvision:resnet18", "--budget", "1GiB", "--format", "json"]) == 0
    assert "largest batch" in capsys.readouterr().out
