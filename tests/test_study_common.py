"""Helpers shared by the studies."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from convcost.studies.common import analyze_model, children, dtype_bytes, records_frame


@dataclass(frozen=True)
class _Row:
    name: str
    macs: int

    @property
    def flops(self) -> int:
        return 2 * self.macs


def test_records_frame_has_fields_then_properties() -> None:
    frame = records_frame([_Row("a", 3), _Row("b", 5)])
    assert list(frame.columns) == ["name", "macs", "flops"]
    assert list(frame["flops"]) == [6, 10]
    with pytest.raises(TypeError, match="dataclass"):
        records_frame([{"name": "a"}])


def test_analyze_model_at_a_resolution_and_batch() -> None:
    analysis = analyze_model("mobilenet_v2", 160, batch=2, dtype=torch.float16)
    assert analysis.input_shapes == ((2, 3, 160, 160),)
    assert (analysis.model, analysis.dtype) == ("mobilenet_v2", "float16")
    assert children(analysis, "") == ["stem", "stages", "head", "pool", "dropout", "fc"]
    assert children(analysis, "stages") == [f"stages.{i}" for i in range(7)]
    assert analyze_model("efficientnet_b0", padding="same_static", image_size=224).input_shapes == ((1, 3, 224, 224),)


def test_same_static_padding_follows_the_resolution() -> None:
    # image_size defaults to the analysed resolution, so static TF padding fits the input
    analysis = analyze_model("efficientnet_b0", 256, padding="same_static")
    assert analysis.layer("head.conv").output_shapes == ((1, 1280, 8, 8),)


def test_dtype_bytes() -> None:
    assert (dtype_bytes(torch.float32), dtype_bytes(torch.bfloat16)) == (4, 2)
