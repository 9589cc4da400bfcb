"""The network shape shared by MobileNetV2, EfficientNet and EfficientNetV2.

stem (3×3 conv, stride 2) → stages of blocks → 1×1 head conv → global pool → dropout → fc.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from torch import nn

from .blocks import MOBILE_BLOCKS
from .init import init_weights
from .layers import ConvNormAct, strided_size
from .published import PUBLISHED
from .registry import register_model
from .roles import layout_roles
from .specs import BlockStage, NetOptions


@dataclass(frozen=True)
class NetSpec:
    """A whole mobile network: stem width, the stage table, and head width."""

    stem_channels: int
    stages: tuple[BlockStage, ...]
    head_channels: int

    def __post_init__(self) -> None:
        channels = self.stem_channels
        for index, stage in enumerate(self.stages):
            if stage.in_channels != channels:
                raise ValueError(
                    f"stage {index} expects {stage.in_channels} input channels but the previous layer gives {channels}"
                )
            channels = stage.out_channels

    @property
    def total_blocks(self) -> int:
        """Number of blocks over all stages."""
        return sum(stage.repeats for stage in self.stages)


def register_staged_net(
    name: str,
    spec: Callable[..., NetSpec],
    option_defaults: dict[str, Any],
    *,
    family: str,
    resolution: int,
    spec_defaults: dict[str, Any] | None = None,
) -> None:
    """Register a :class:`StagedConvNet` built from ``spec(**spec_defaults)`` and ``NetOptions``.

    Every ``NetOptions`` field and every ``spec_defaults`` key becomes a ``create_model`` override.

    Args:
        spec: builds the stage table, from keywords such as ``width_mult``.
        option_defaults: this model's values for ``NetOptions`` fields that differ from the defaults.
        spec_defaults: keywords for ``spec`` and their defaults for this model.
    """
    spec_keys = dict(spec_defaults or {})
    option_keys = {**asdict(NetOptions()), **option_defaults}

    def build(**changes: Any) -> StagedConvNet:
        spec_args = {**spec_keys, **{k: v for k, v in changes.items() if k in spec_keys}}
        options = {**option_keys, **{k: v for k, v in changes.items() if k not in spec_keys}}
        return StagedConvNet(spec(**spec_args), NetOptions(**options))

    register_model(
        name, build, family=family, resolution=resolution, published=PUBLISHED.get(name, ()),
        overrides={**spec_keys, **option_keys},
    )


@dataclass(frozen=True)
class BuiltStage:
    """One stage as :func:`build_stage` returns it.

    Attributes:
        blocks: the stage's blocks in forward order, the first one strided.
        output_size: ``(H, W)`` the stage outputs.
    """

    blocks: nn.Sequential
    output_size: tuple[int, int]


def build_stage(
    stage: BlockStage, options: NetOptions, input_size: tuple[int, int], drop_path_rates: list[float] | None = None
) -> BuiltStage:
    """The blocks of one stage (the first one strided) and the ``(H, W)`` they output.

    Args:
        input_size: ``(H, W)`` into the stage.
        drop_path_rates: stochastic-depth rate per block (default: none).
    """
    rates = drop_path_rates or [0.0] * stage.repeats
    blocks: list[nn.Module] = []
    for repeat in range(stage.repeats):
        stride = stage.stride if repeat == 0 else 1
        block = replace(
            stage, stride=stride, in_channels=stage.in_channels if repeat == 0 else stage.out_channels, repeats=1
        )
        blocks.append(MOBILE_BLOCKS[stage.block](block, options, input_size, rates[repeat]))
        input_size = strided_size(input_size, stride)
    return BuiltStage(blocks=nn.Sequential(*blocks), output_size=input_size)


class StagedConvNet(nn.Module):
    """stem → ``stages`` (``stages.i.j`` is block j of stage i) → head → pool → dropout → fc.

    Attributes:
        spec: the stage table this network was built from.
        options: the variant switches it was built with.
    """

    def __init__(self, spec: NetSpec, options: NetOptions) -> None:
        super().__init__()
        self.spec = spec
        self.options = options
        size = (options.image_size, options.image_size)
        common = options.conv_options()
        self.stem = ConvNormAct(
            3, spec.stem_channels, 3, options.stem_stride, activation=options.activation, input_size=size, **common
        )
        size = strided_size(size, options.stem_stride)

        stages: list[nn.Module] = []
        block_index = 0
        for stage in spec.stages:
            rates = [options.drop_connect_rate * (block_index + i) / spec.total_blocks for i in range(stage.repeats)]
            built = build_stage(stage, options, size, rates)
            stages.append(built.blocks)
            size = built.output_size
            block_index += stage.repeats
        self.stages = nn.Sequential(*stages)

        self.head = ConvNormAct(
            spec.stages[-1].out_channels, spec.head_channels, 1, activation=options.activation, input_size=size,
            **common,
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(options.dropout)
        self.fc = nn.Linear(spec.head_channels, options.num_classes)
        init_weights(self)

    def module_roles(self) -> dict[str, str]:
        """Which part of the network each submodule is; analysis tools read this by duck typing.

        Roles (see :data:`~convcost.architectures.roles.MODULE_ROLES`): ``stem`` the stem conv,
        ``stage`` each child of ``stages``, ``head`` the 1×1 head conv, ``classifier`` the
        linear ``fc``, ``se`` each squeeze-and-excitation gate.

        Returns:
            ``named_modules()`` name → role, ordered stem, stages in order, head, classifier,
            then the SE modules in ``named_modules()`` order.
        """
        return layout_roles(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map after the head conv, ``(N, head_channels, H/32, W/32)``."""
        return self.head(self.stages(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.forward_features(x)).flatten(1)
        return self.fc(self.dropout(x))
