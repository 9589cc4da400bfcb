"""EfficientNetV2 S/M/L (Tan & Le, 2021): Fused-MBConv early, MBConv with SE later."""

from __future__ import annotations

from .specs import BlockStage
from .staged_net import NetSpec, register_staged_net


def _fused(e: int, k: int, s: int, cin: int, cout: int, n: int) -> BlockStage:
    return BlockStage("fused", e, k, s, cin, cout, n, 0.0)


def _mbconv(e: int, k: int, s: int, cin: int, cout: int, n: int) -> BlockStage:
    return BlockStage("mbconv", e, k, s, cin, cout, n, 0.25)


#: Paper Table 4 (S) and the official M/L configs: expand, kernel, stride, in, out, repeats.
EFFICIENTNET_V2_SPECS: dict[str, NetSpec] = {
    "efficientnet_v2_s": NetSpec(24, (
        _fused(1, 3, 1, 24, 24, 2),
        _fused(4, 3, 2, 24, 48, 4),
        _fused(4, 3, 2, 48, 64, 4),
        _mbconv(4, 3, 2, 64, 128, 6),
        _mbconv(6, 3, 1, 128, 160, 9),
        _mbconv(6, 3, 2, 160, 256, 15),
    ), 1280),
    "efficientnet_v2_m": NetSpec(24, (
        _fused(1, 3, 1, 24, 24, 3),
        _fused(4, 3, 2, 24, 48, 5),
        _fused(4, 3, 2, 48, 80, 5),
        _mbconv(4, 3, 2, 80, 160, 7),
        _mbconv(6, 3, 1, 160, 176, 14),
        _mbconv(6, 3, 2, 176, 304, 18),
        _mbconv(6, 3, 1, 304, 512, 5),
    ), 1280),
    "efficientnet_v2_l": NetSpec(32, (
        _fused(1, 3, 1, 32, 32, 4),
        _fused(4, 3, 2, 32, 64, 7),
        _fused(4, 3, 2, 64, 96, 7),
        _mbconv(4, 3, 2, 96, 192, 10),
        _mbconv(6, 3, 1, 192, 224, 19),
        _mbconv(6, 3, 2, 224, 384, 25),
        _mbconv(6, 3, 1, 384, 640, 7),
    ), 1280),
}

#: Evaluation resolution and classifier dropout of the released checkpoints.
_EVAL = {"efficientnet_v2_s": (384, 0.2), "efficientnet_v2_m": (480, 0.3), "efficientnet_v2_l": (480, 0.4)}

for _name, _spec in EFFICIENTNET_V2_SPECS.items():
    _resolution, _dropout = _EVAL[_name]
    register_staged_net(
        _name, lambda spec=_spec: spec, dict(dropout=_dropout, image_size=_resolution, bn_eps=1e-3),
        family="efficientnet_v2", resolution=_resolution,
    )
