"""EfficientNet B0–B7 (Tan & Le, 2019): the B0 stage table under compound scaling."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from .specs import BlockStage, round_filters
from .staged_net import NetSpec, register_staged_net

#: EfficientNet-B0, paper Table 1: block, expand ratio, kernel, stride, in, out, repeats, SE ratio.
B0_STAGES: tuple[BlockStage, ...] = (
    BlockStage("ds", 1, 3, 1, 32, 16, 1, 0.25),
    BlockStage("mbconv", 6, 3, 2, 16, 24, 2, 0.25),
    BlockStage("mbconv", 6, 5, 2, 24, 40, 2, 0.25),
    BlockStage("mbconv", 6, 3, 2, 40, 80, 3, 0.25),
    BlockStage("mbconv", 6, 5, 1, 80, 112, 3, 0.25),
    BlockStage("mbconv", 6, 5, 2, 112, 192, 4, 0.25),
    BlockStage("mbconv", 6, 3, 1, 192, 320, 1, 0.25),
)
B0_STEM_CHANNELS = 32
B0_HEAD_CHANNELS = 1280


@dataclass(frozen=True)
class CompoundScaling:
    """One row of the official B0–B7 table: width and depth multipliers, resolution, dropout."""

    width: float
    depth: float
    resolution: int
    dropout: float


#: Official builder values (efficientnet_builder.py), hand-rounded rather than alpha**phi.
EFFICIENTNET_SCALING: dict[str, CompoundScaling] = {
    "efficientnet_b0": CompoundScaling(1.0, 1.0, 224, 0.2),
    "efficientnet_b1": CompoundScaling(1.0, 1.1, 240, 0.2),
    "efficientnet_b2": CompoundScaling(1.1, 1.2, 260, 0.3),
    "efficientnet_b3": CompoundScaling(1.2, 1.4, 300, 0.3),
    "efficientnet_b4": CompoundScaling(1.4, 1.8, 380, 0.4),
    "efficientnet_b5": CompoundScaling(1.6, 2.2, 456, 0.4),
    "efficientnet_b6": CompoundScaling(1.8, 2.6, 528, 0.5),
    "efficientnet_b7": CompoundScaling(2.0, 3.1, 600, 0.5),
}

#: Compound-scaling constants of the paper: depth α, width β, resolution γ (α·β²·γ² ≈ 2).
ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15


def efficientnet_spec(scaling: CompoundScaling) -> NetSpec:
    """The B0 table scaled by ``scaling``: stem, stage channels and head by width, repeats by depth."""
    return NetSpec(
        stem_channels=round_filters(B0_STEM_CHANNELS, scaling.width),
        stages=tuple(stage.scaled(scaling.width, scaling.depth) for stage in B0_STAGES),
        head_channels=round_filters(B0_HEAD_CHANNELS, scaling.width),
    )


for _name, _scaling in EFFICIENTNET_SCALING.items():
    register_staged_net(
        _name,
        partial(efficientnet_spec, _scaling),
        dict(dropout=_scaling.dropout, image_size=_scaling.resolution, bn_eps=1e-3),
        family="efficientnet",
        resolution=_scaling.resolution,
    )
