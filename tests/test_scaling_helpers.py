"""Compound-scaling helpers and the B0–B7 table."""

import pytest

from convcost.architectures import EFFICIENTNET_SCALING, efficientnet_spec, make_divisible, round_filters, round_repeats


@pytest.mark.parametrize(("channels", "width", "expected"), [(32, 1.1, 32), (64, 1.1, 72), (32, 1.8, 56)])
def test_round_filters(channels: int, width: float, expected: int) -> None:
    assert round_filters(channels, width) == expected


@pytest.mark.parametrize(("repeats", "depth", "expected"), [(2, 1.1, 3), (2, 3.1, 7), (4, 2.6, 11)])
def test_round_repeats(repeats: int, depth: float, expected: int) -> None:
    assert round_repeats(repeats, depth) == expected


def test_make_divisible_never_drops_below_ninety_percent() -> None:
    # 0.35 · 32 = 11.2 rounds to 8, which is under 0.9 · 11.2, so one more step: 16
    assert make_divisible(11.2) == 16
    assert make_divisible(5.6) == 8


def test_scaling_table_matches_official_builder() -> None:
    rows = {name: (s.width, s.depth, s.resolution, s.dropout) for name, s in EFFICIENTNET_SCALING.items()}
    assert rows == {
        "efficientnet_b0": (1.0, 1.0, 224, 0.2),
        "efficientnet_b1": (1.0, 1.1, 240, 0.2),
        "efficientnet_b2": (1.1, 1.2, 260, 0.3),
        "efficientnet_b3": (1.2, 1.4, 300, 0.3),
        "efficientnet_b4": (1.4, 1.8, 380, 0.4),
        "efficientnet_b5": (1.6, 2.2, 456, 0.4),
        "efficientnet_b6": (1.8, 2.6, 528, 0.5),
        "efficientnet_b7": (2.0, 3.1, 600, 0.5),
    }


def test_b7_spec_reads_like_the_scaled_table() -> None:
    spec = efficientnet_spec(EFFICIENTNET_SCALING["efficientnet_b7"])
    assert spec.stem_channels == 64
    assert spec.head_channels == 2560
    assert [s.repeats for s in spec.stages] == [4, 7, 7, 10, 10, 13, 4]
    assert [s.out_channels for s in spec.stages] == [32, 48, 80, 160, 224, 384, 640]
