"""MobileNetV2 (Sandler et al., 2018) with width multipliers."""

from __future__ import annotations

from .specs import BlockStage, make_divisible
from .staged_net import NetSpec, register_staged_net

#: Paper Table 2, rows t (expand), c (out channels), n (repeats), s (stride); all kernels 3×3.
MOBILENET_V2_STAGES: tuple[BlockStage, ...] = (
    BlockStage("ir", 1, 3, 1, 32, 16, 1),
    BlockStage("ir", 6, 3, 2, 16, 24, 2),
    BlockStage("ir", 6, 3, 2, 24, 32, 3),
    BlockStage("ir", 6, 3, 2, 32, 64, 4),
    BlockStage("ir", 6, 3, 1, 64, 96, 3),
    BlockStage("ir", 6, 3, 2, 96, 160, 3),
    BlockStage("ir", 6, 3, 1, 160, 320, 1),
)

#: Width multipliers with a registered model: ``mobilenet_v2_035`` … ``mobilenet_v2_140``.
WIDTH_MULTIPLIERS: tuple[float, ...] = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)


def mobilenet_v2_spec(width_mult: float = 1.0) -> NetSpec:
    """Stage table with every width ``make_divisible(c · width_mult, 8)``.

    The head keeps 1280 channels unless the multiplier exceeds 1 (paper, section 5.1).
    """
    if not width_mult > 0:
        raise ValueError(f"width_mult must be > 0; got {width_mult}")
    return NetSpec(
        stem_channels=make_divisible(32 * width_mult),
        stages=tuple(stage.scaled(width_mult, 1.0) for stage in MOBILENET_V2_STAGES),
        head_channels=make_divisible(1280 * max(1.0, width_mult)),
    )


for _width in WIDTH_MULTIPLIERS:
    register_staged_net(
        "mobilenet_v2" if _width == 1.0 else f"mobilenet_v2_{round(_width * 100):03d}",
        mobilenet_v2_spec,
        dict(activation="relu6", drop_connect_rate=0.0),
        family="mobilenet_v2",
        resolution=224,
        spec_defaults=dict(width_mult=_width),
    )
