"""Every registered network has exactly the published parameter count."""

import pytest

from convcost.architectures import create_model, model_info

# Exact counts from torchvision weights metadata, timm, and the CIFAR SENet18 reference.
EXPECTED_PARAMS = {
    "efficientnet_b0": 5_288_548,
    "efficientnet_b1": 7_794_184,
    "efficientnet_b2": 9_109_994,
    "efficientnet_b3": 12_233_232,
    "efficientnet_b4": 19_341_616,
    "efficientnet_b5": 30_389_784,
    "efficientnet_b6": 43_040_704,
    "efficientnet_b7": 66_347_960,
    "efficientnet_v2_s": 21_458_488,
    "efficientnet_v2_m": 54_139_356,
    "efficientnet_v2_l": 118_515_272,
    "mobilenet_v2": 3_504_872,
    "resnet50": 25_557_032,
    "se_resnet50": 28_088_024,
    "senet18": 11_260_354,
}


def count_params(name: str, **overrides: object) -> int:
    model = create_model(name, device="meta", **overrides)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_params_match_published_exactly(name: str) -> None:
    assert count_params(name) == EXPECTED_PARAMS[name]


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_registered_exact_figure_agrees(name: str) -> None:
    exact_sources = {"torchvision weights metadata", "timm results"}
    exact = [f.params for f in model_info(name).published if f.source in exact_sources]
    assert exact == [EXPECTED_PARAMS[name]] or name == "senet18"


def test_senet18_is_cifar_sized() -> None:
    assert model_info("senet18").resolution == 32


def test_se_resnet50_extra_params() -> None:
    # per block 2·C·C/16 + C/16 + C: 3·8,464 + 4·33,312 + 6·132,160 + 3·526,464 = 2,530,992
    assert EXPECTED_PARAMS["se_resnet50"] - EXPECTED_PARAMS["resnet50"] == 2_530_992
    assert count_params("resnet50", se=True) == EXPECTED_PARAMS["se_resnet50"]


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("mobilenet_v2_035", 1_677_128),
        ("mobilenet_v2_050", 1_968_680),
        ("mobilenet_v2_075", 2_636_424),
        ("mobilenet_v2_130", 5_386_792),
        ("mobilenet_v2_140", 6_108_776),
    ],
)
def test_mobilenet_v2_width_multipliers(name: str, params: int) -> None:
    # torchvision MobileNetV2(width_mult=...) and timm mobilenetv2_{035..140} give these counts
    assert count_params(name) == params


def test_efficientnet_without_se_drops_exactly_the_se_params() -> None:
    model = create_model("efficientnet_b0", device="meta")
    se_params = sum(p.numel() for n, p in model.named_parameters() if ".se." in n)
    assert se_params == 5_288_548 - count_params("efficientnet_b0", se=False)
    # Σ over the 16 blocks of 2·hidden·squeeze + squeeze + hidden = 636,540
    assert se_params == 636_540
    assert count_params("efficientnet_b0", se=False) == 4_652_008
