"""Parts and cost categories come from what a model declares (``module_roles()``), never from its names."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convcost.analyzer import CostCategory, ModuleRole, analyze
from convcost.analyzer.layout import declared_layout
from convcost.architectures import create_model
from convcost.reports.frames import UNDECLARED, breakdown_frame


class Net(nn.Module):
    """Names that look like the zoo's (``stages``, ``se``, ``head``, ``fc``), with or without a declaration."""

    def __init__(self, roles: dict[str, str] | None = None) -> None:
        super().__init__()
        self.stages = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1, groups=8))
        self.se = nn.Conv2d(8, 8, 1)
        self.head = nn.Conv2d(8, 4, 1)
        self.fc = nn.Linear(4, 2)
        self.roles = roles

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.se(self.stages(x)))
        return self.fc(x.mean((2, 3)))

    def module_roles(self) -> dict[str, str] | None:
        return self.roles


def net(roles: dict[str, str] | None = None) -> nn.Module:
    with torch.device("meta"):
        return Net(roles)


def test_names_alone_declare_nothing() -> None:
    analysis = analyze(net(), (1, 3, 8, 8))
    assert analysis.stages == ()
    assert {layer.part for layer in analysis.layers} == {None}
    assert analysis.layer("se").category is CostCategory.POINTWISE  # a module named se is not an SE gate
    assert analysis.layer("head").category is CostCategory.POINTWISE
    assert analysis.layer("fc").category is CostCategory.LINEAR
    assert set(breakdown_frame(analysis)["stage"]) == {UNDECLARED}


def test_declared_parts_and_roles() -> None:
    roles = {"stages.0": "stage", "stages.1": "stage", "se": "se", "head": "head", "fc": "classifier"}
    analysis = analyze(net(roles), (1, 3, 8, 8))
    assert analysis.stages == ("stages.0", "stages.1")
    assert [analysis.layer(name).part for name in ("", "stages", "stages.1", "se", "head", "fc")] == [
        None, None, "stages.1", None, "head", "fc"]
    assert analysis.layer("stages.1").category is CostCategory.DEPTHWISE
    assert analysis.layer("se").category is CostCategory.SE
    assert analysis.layer("head").category is analysis.layer("fc").category is CostCategory.HEAD
    macs = breakdown_frame(analysis).set_index(["stage", "category"])["macs"]
    assert macs[("stages.0", "standard")] == 8 * 27 * 64  # 3×3 conv, 3 → 8 channels, 8×8 map: 13,824


@pytest.mark.parametrize(("roles", "needle"), [
    ({"stages.9": "stage"}, "names 'stages.9', which is not one of its modules"),
    ({"se": "gate"}, "gives 'se' the role 'gate'; roles are stem, stage, head, classifier, se"),
    ([("se", "se")], "must return a mapping of module name to role; got list"),
])
def test_a_malformed_declaration_is_a_clear_error(roles, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        analyze(net(roles), (1, 3, 8, 8))


def test_the_zoo_declares_its_parts() -> None:
    layout = declared_layout(create_model("efficientnet_b0", device="meta"))
    assert layout.stages == tuple(f"stages.{i}" for i in range(7))
    assert layout.roles["stem"] is ModuleRole.STEM and layout.roles["fc"] is ModuleRole.CLASSIFIER
    assert layout.part_of("stages.3.1.se.fc1") == "stages.3" and layout.part_of("pool") is None


def test_the_zoo_and_the_analyzer_name_the_same_roles() -> None:
    from convcost.architectures import MODULE_ROLES

    assert tuple(MODULE_ROLES) == tuple(role.value for role in ModuleRole)


def test_every_conv_kind_has_a_category() -> None:
    from convcost.analyzer import ConvKind
    from convcost.analyzer.layout import KIND_CATEGORIES

    assert set(KIND_CATEGORIES) == set(ConvKind)
    assert all(category.value == kind.value for kind, category in KIND_CATEGORIES.items())
