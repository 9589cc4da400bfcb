"""``module_roles()`` names the stem, stages, head, classifier and SE gates of every zoo network."""

import pytest
import torch
from torch import nn

from convcost.architectures import (
    B0_STAGES,
    MODULE_ROLES,
    BuiltStage,
    NetOptions,
    build_stage,
    create_model,
    list_models,
)
from convcost.architectures.blocks import PoolSqueezeExcite
from convcost.architectures.layers import SqueezeExcite

MOBILE_LAYOUT = {
    "stem": "stem",
    **{f"stages.{i}": "stage" for i in range(7)},
    "head": "head",
    "fc": "classifier",
}
RESNET_LAYOUT = {"stem": "stem", **{f"stages.{i}": "stage" for i in range(4)}, "fc": "classifier"}


def roles_of(name: str, **overrides: object) -> dict[str, str]:
    return create_model(name, device="meta", **overrides).module_roles()


def split(roles: dict[str, str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(non-SE entries in order, SE names in order)."""
    return [(k, v) for k, v in roles.items() if v != "se"], [k for k, v in roles.items() if v == "se"]


def test_roles_constant_is_the_five_roles() -> None:
    assert MODULE_ROLES == ("stem", "stage", "head", "classifier", "se")


def test_efficientnet_b0_roles() -> None:
    layout, se = split(roles_of("efficientnet_b0"))
    assert layout == list(MOBILE_LAYOUT.items())
    # Every B0 block (the DS block and all MBConvs) has SE: 16 blocks → 16 gates, named stages.i.j.se.
    expected_se = [f"stages.{i}.{j}.se" for i, stage in enumerate(B0_STAGES) for j in range(stage.repeats)]
    assert len(expected_se) == 16
    assert se == expected_se
    assert "stages.0.0.se" in se and "stages.1.0.se" in se


def test_efficientnet_b0_without_se_has_no_se_roles() -> None:
    layout, se = split(roles_of("efficientnet_b0", se=False))
    assert layout == list(MOBILE_LAYOUT.items())
    assert se == []


def test_mobilenet_v2_roles_have_no_se() -> None:
    assert list(roles_of("mobilenet_v2").items()) == list(MOBILE_LAYOUT.items())


def test_resnet50_roles_have_no_head_and_no_se() -> None:
    roles = roles_of("resnet50")
    assert list(roles.items()) == list(RESNET_LAYOUT.items())


def test_se_resnet50_roles() -> None:
    layout, se = split(roles_of("se_resnet50"))
    assert layout == list(RESNET_LAYOUT.items())
    blocks = (3, 4, 6, 3)
    assert se == [f"stages.{i}.{j}.se" for i, n in enumerate(blocks) for j in range(n)]
    assert len(se) == 16


def test_senet18_roles() -> None:
    layout, se = split(roles_of("senet18"))
    assert layout == list(RESNET_LAYOUT.items())
    assert se == [f"stages.{i}.{j}.se" for i in range(4) for j in range(2)]


@pytest.mark.parametrize("name", list_models())
def test_roles_are_valid_and_name_real_modules(name: str) -> None:
    model = create_model(name, device="meta")
    modules = dict(model.named_modules())
    roles = model.module_roles()
    assert set(roles.values()) <= set(MODULE_ROLES)
    assert set(roles) <= set(modules)
    # Layout first (stem, stages, head, classifier), then SE gates in named_modules order.
    kinds = [role for role in roles.values() if role != "se"]
    assert kinds == sorted(kinds, key=MODULE_ROLES.index)
    first_se = next((i for i, role in enumerate(roles.values()) if role == "se"), len(roles))
    assert all(role == "se" for role in list(roles.values())[first_se:])
    order = list(modules)
    se_names = [k for k, v in roles.items() if v == "se"]
    assert se_names == sorted(se_names, key=order.index)
    # SE is decided by class: exactly the zoo's SE gate instances, and nothing else.
    gates = {k for k, m in modules.items() if isinstance(m, (SqueezeExcite, PoolSqueezeExcite))}
    assert set(se_names) == gates
    assert next(iter(roles.items())) == ("stem", "stem")
    assert roles["fc"] == "classifier" and isinstance(modules["fc"], nn.Linear)
    stage_names = [k for k, v in roles.items() if v == "stage"]
    assert stage_names == [f"stages.{k}" for k, _ in model.get_submodule("stages").named_children()]


def test_build_stage_returns_named_record() -> None:
    stage = B0_STAGES[1]  # mbconv, 2 repeats, stride 2
    built = build_stage(stage, NetOptions(), (112, 112))
    assert isinstance(built, BuiltStage)
    assert isinstance(built.blocks, nn.Sequential) and len(built.blocks) == stage.repeats
    assert built.output_size == (56, 56)
    out = built.blocks.eval()(torch.zeros(1, stage.in_channels, 112, 112))
    assert tuple(out.shape) == (1, stage.out_channels, *built.output_size)
