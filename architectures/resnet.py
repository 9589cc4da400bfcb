"""ResNet-50 and SE-ResNet-50 (torchvision/timm v1.5 layout) and the CIFAR SENet18."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from .blocks import RESNET_BLOCKS
from .init import init_weights
from .layers import ConvNormAct, check_activation
from .published import PUBLISHED
from .registry import register_model
from .roles import layout_roles
from .specs import ResNetStage

#: ResNet-50: bottleneck stages of widths 64–512 with 3, 4, 6, 3 blocks.
RESNET50_STAGES: tuple[ResNetStage, ...] = (
    ResNetStage("bottleneck", 64, 3, 1),
    ResNetStage("bottleneck", 128, 4, 2),
    ResNetStage("bottleneck", 256, 6, 2),
    ResNetStage("bottleneck", 512, 3, 2),
)

#: SENet18 for 32×32 CIFAR images: pre-activation basic blocks, two per stage.
SENET18_STAGES: tuple[ResNetStage, ...] = (
    ResNetStage("preact_basic", 64, 2, 1),
    ResNetStage("preact_basic", 128, 2, 2),
    ResNetStage("preact_basic", 256, 2, 2),
    ResNetStage("preact_basic", 512, 2, 2),
)

SE_REDUCTION = 16


class ResNet(nn.Module):
    """stem → ``stages`` → global average pool → fc.

    Args:
        stem: ``imagenet`` (7×7 stride-2 conv + 3×3 max pool) or ``cifar`` (3×3 stride-1 conv).
        se: add squeeze-and-excitation (reduction 16) to every block.
    """

    def __init__(
        self,
        stages: tuple[ResNetStage, ...],
        *,
        stem: Literal["imagenet", "cifar"],
        se: bool,
        activation: str = "relu",
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        check_activation(activation)
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1; got {num_classes}")
        self.stage_specs = stages
        channels = 64
        if stem == "imagenet":
            self.stem = nn.Sequential(
                ConvNormAct(3, channels, 7, 2, activation=activation), nn.MaxPool2d(3, 2, padding=1)
            )
        else:
            self.stem = ConvNormAct(3, channels, 3, 1, activation=activation)
        layers: list[nn.Module] = []
        for stage in stages:
            block = RESNET_BLOCKS[stage.block]
            blocks = []
            for index in range(stage.blocks):
                blocks.append(
                    block(channels, stage.planes, stage.stride if index == 0 else 1,
                          se_reduction=SE_REDUCTION if se else 0, activation=activation)
                )
                channels = stage.planes * block.expansion  # type: ignore[attr-defined]
            layers.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        init_weights(self)

    def module_roles(self) -> dict[str, str]:
        """Which part of the network each submodule is; analysis tools read this by duck typing.

        Roles (see :data:`~convcost.architectures.roles.MODULE_ROLES`): ``stem`` the stem conv
        (and max pool), ``stage`` each child of ``stages``, ``classifier`` the linear ``fc``,
        ``se`` each squeeze-and-excitation gate. A ResNet has no ``head`` conv.

        Returns:
            ``named_modules()`` name → role, ordered stem, stages in order, classifier, then
            the SE modules in ``named_modules()`` order.
        """
        return layout_roles(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stages(self.stem(x))).flatten(1)
        return self.fc(x)


def _register(name: str, stages: tuple[ResNetStage, ...], stem: Literal["imagenet", "cifar"], se: bool,
              num_classes: int, resolution: int) -> None:
    overrides = dict(se=se, activation="relu", num_classes=num_classes)

    def build(**changes: object) -> ResNet:
        return ResNet(stages, stem=stem, **{**overrides, **changes})  # type: ignore[arg-type]

    # a CIFAR network (32 px, 10 classes) is a family of its own: set beside ImageNet ResNets it is no baseline
    family = "resnet" if stem == "imagenet" else "resnet_cifar"
    register_model(name, build, family=family, resolution=resolution, published=PUBLISHED.get(name, ()),
                   overrides=overrides)


_register("resnet50", RESNET50_STAGES, "imagenet", False, 1000, 224)
_register("se_resnet50", RESNET50_STAGES, "imagenet", True, 1000, 224)
_register("senet18", SENET18_STAGES, "cifar", True, 10, 32)
