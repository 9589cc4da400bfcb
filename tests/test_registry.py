"""Registry lookups, overrides and their errors."""

import pytest
import torch

from convcost.architectures import UnknownModelError, create_model, list_models, model_info
from convcost.architectures.registry import register_model

ALL_NAMES = [
    *(f"efficientnet_b{i}" for i in range(8)),
    "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l",
    "mobilenet_v2_035", "mobilenet_v2_050", "mobilenet_v2_075", "mobilenet_v2",
    "mobilenet_v2_130", "mobilenet_v2_140",
    "resnet50", "se_resnet50", "senet18",
]


def test_list_models_names_the_zoo() -> None:
    assert sorted(list_models()) == sorted(ALL_NAMES)
    assert list_models("efficientnet_v2_*") == ["efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l"]


def test_model_info_gives_native_resolution_and_sources() -> None:
    info = model_info("efficientnet_b3")
    assert info.resolution == 300
    assert any(f.source == "torchvision weights metadata" and f.params == 12_233_232 for f in info.published)


def test_meta_device_allocates_nothing() -> None:
    model = create_model("efficientnet_b7", device="meta")
    assert all(p.device.type == "meta" for p in model.parameters())


def test_unknown_name_lists_closest() -> None:
    with pytest.raises(UnknownModelError, match="closest: efficientnet_b0"):
        create_model("efficentnet_b0")


def test_duplicate_registration_is_an_error() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_model("resnet50", torch.nn.Identity, family="resnet", resolution=224, overrides={})


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("efficientnet_b0", {"stem_stride": 3}, r"stem_stride must be one of \(1, 2\); got 3"),
        ("mobilenet_v2", {"width_mult": 0}, "width_mult must be > 0; got 0"),
        ("efficientnet_b0", {"drop_connect_rate": 1.0}, r"drop_connect_rate must be in \[0, 1\); got 1.0"),
        ("efficientnet_b0", {"padding": "valid"}, "padding must be one of symmetric, same_static, same_dynamic"),
        ("efficientnet_b0", {"activation": "mish"}, "activation must be one of silu, swish, memory_efficient_swish"),
        ("resnet50", {"activation": "mish"}, "activation must be one of"),
        ("efficientnet_b0", {"width_mult": 2.0}, "efficientnet_b0 does not take width_mult; valid overrides: "),
    ],
)
def test_invalid_override_names_field_and_valid_values(name: str, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_model(name, device="meta", **overrides)


def test_stage_stride_three_is_rejected() -> None:
    from convcost.architectures import BlockStage

    with pytest.raises(ValueError, match=r"stride must be one of \(1, 2\); got 3"):
        BlockStage("mbconv", 6, 3, 3, 16, 24, 2, 0.25)


def test_separable_false_replaces_each_depthwise_pair() -> None:
    model = create_model("mobilenet_v2", separable=False, device="meta")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert not any(c.groups > 1 for c in convs)
    block = model.stages[1][0]
    assert (block.conv.conv.in_channels, block.conv.conv.out_channels, block.conv.conv.stride) == (96, 24, (2, 2))


def test_variant_keywords_change_the_network() -> None:
    model = create_model("efficientnet_b0", activation="memory_efficient_swish", drop_connect_rate=0.1,
                         num_classes=10, device="meta")
    assert model.fc.out_features == 10
    assert type(model.stem.act).__name__ == "MemoryEfficientSwish"
    assert model.stages[5][3].drop_path.rate == pytest.approx(0.1 * 14 / 16)  # block 14 of 16
