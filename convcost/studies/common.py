"""Helpers every study shares: analysing a registry model at a resolution (also as a :class:`AnalysisJob`), and
records → DataFrame."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, is_dataclass
from typing import TYPE_CHECKING, Any

import torch

from convcost.analyzer import Analysis, EngineName, analyze
from convcost.architectures import create_model, model_info

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AnalysisJob", "analyze_model", "children", "dtype_bytes", "records_frame"]


def analyze_model(
    name: str,
    resolution: int | None = None,
    *,
    batch: int = 1,
    dtype: torch.dtype = torch.float32,
    training: bool = False,
    **overrides: Any,
) -> Analysis:
    """Analyse registry model ``name`` on a ``(batch, 3, resolution, resolution)`` input.

    The model is built on the ``meta`` device and measured by the ``dispatch`` engine, so
    no weight or activation memory is spent whatever the size.

    Args:
        resolution: input side length in pixels; default the model's native resolution.
        batch: images per forward pass.
        dtype: dtype the byte counts are measured in.
        training: also count a training step (:attr:`Analysis.training`; SGD).
        **overrides: ``create_model`` variant keywords (``se=False``, ``activation="swish"`` …).
            ``image_size`` follows ``resolution`` unless given, so ``same_static`` padding fits.
    """
    info = model_info(name)
    side = resolution or info.resolution
    if "image_size" in info.overrides:
        overrides.setdefault("image_size", side)
    model = create_model(name, device="meta", **overrides)
    return analyze(model, (batch, 3, side, side), engine=EngineName.DISPATCH, dtype=dtype, name=name,
                   training=training)


@dataclass(frozen=True)
class AnalysisJob:
    """A registry model analysed at its native resolution (``dispatch`` engine, ``meta`` device).

    Attributes:
        model: registry name; batch: images per pass.
        overrides: ``(keyword, value)`` pairs for ``create_model``, sorted (so equal jobs compare equal).
        resolution: input side in pixels (None: native).
        training: also count a training step.
    """

    model: str
    batch: int = 1
    overrides: tuple[tuple[str, Any], ...] = ()
    resolution: int | None = None
    training: bool = False

    @classmethod
    def of(cls, model: str, batch: int = 1, *, resolution: int | None = None, training: bool = False,
           **overrides: Any) -> AnalysisJob:
        """A job with its overrides sorted."""
        return cls(model, batch, tuple(sorted(overrides.items())), resolution, training)

    @property
    def isolated(self) -> bool:
        """Counting on ``meta`` tensors runs anywhere, alongside other jobs."""
        return False

    @property
    def weight(self) -> int:
        """One analysis, or two with the training step."""
        return 2 if self.training else 1

    @property
    def native(self) -> bool:
        """Batch 1 and no overrides: the analysis the main report makes of every model anyway."""
        return self.batch == 1 and not self.overrides and self.resolution is None and not self.training

    def run(self) -> Analysis:
        """Analyse the model."""
        return analyze_model(self.model, self.resolution, batch=self.batch, training=self.training,
                             **dict(self.overrides))



def children(analysis: Analysis, parent: str) -> list[str]:
    """Names of the direct submodules of ``parent`` (``""`` is the root), in module order."""
    prefix = f"{parent}." if parent else ""
    return [layer.name for layer in analysis.layers
            if layer.name.startswith(prefix) and layer.name and "." not in layer.name[len(prefix):]]


def dtype_bytes(dtype: torch.dtype) -> int:
    """Bytes per element of ``dtype`` (4 for float32)."""
    return dtype.itemsize


def _properties(cls: type) -> list[str]:
    return [name for klass in reversed(cls.__mro__) for name, value in vars(klass).items()
            if isinstance(value, property) and not name.startswith("_")]


def records_frame(records: Iterable[Any]) -> pd.DataFrame:
    """One DataFrame row per dataclass record: a column per field, then one per public property.

    Values are raw (integers, floats, strings); nothing is rounded.
    """
    import pandas as pd

    rows = []
    for record in records:
        if not is_dataclass(record) or isinstance(record, type):
            raise TypeError(f"records_frame needs dataclass instances; got {type(record).__name__}")
        row = asdict(record)
        row.update({name: getattr(record, name) for name in _properties(type(record))})
        rows.append(row)
    return pd.DataFrame(rows)
