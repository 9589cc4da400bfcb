"""MODEL arguments: registry names, ranges and patterns (loading itself is :func:`convcost.loading.load_model`)."""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Iterable, Sequence

import pandas as pd

from convcost import architectures
from convcost.analyzer import Analysis, EngineSelection, analyze
from convcost.loading import LoadedModel, load_model
from convcost.reports.frames import PUBLISHED_FIELDS

from .arguments import input_shape, positive_int
from .errors import UsageError

#: Input side of a user's model when neither --input nor --resolution is given.
DEFAULT_RESOLUTION = 224
_RANGE = re.compile(r"^(?P<stem>.*?)(?P<start>\d+)\.\.(?P<tail>[^\d.]*)(?P<end>\d+)$")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``MODEL`` and its input: ``--resolution`` or ``--input``."""
    parser.add_argument("model", metavar="MODEL", help="registry name, path/to/file.py:factory or module:factory")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--resolution", type=positive_int, metavar="N",
                       help="input side in pixels (default: native, or 224 for your own model)")
    shape.add_argument("--input", type=input_shape, metavar="SHAPE", help="full input shape, e.g. 1x3x224x224")


def _range(spec: str, stem: str, start: int, end: int) -> list[str]:
    """The registered models named ``stem`` + a number from ``start`` to ``end``, in registry order."""
    if end < start:
        raise UsageError(f"range {spec!r} runs backwards")
    numbered = [(int(found[1]), name) for name in architectures.list_models()
                if (found := re.fullmatch(re.escape(stem) + r"(\d+)", name))]
    members = [name for number, name in numbered if start <= number <= end]
    if not members:
        known = ", ".join(name for _, name in numbered) or "none"
        raise UsageError(f"range {spec!r} matches no registered model; models named {stem}<number>: {known}")
    return members


def expand_models(specs: Iterable[str]) -> list[str]:
    """Registry ranges (``efficientnet_b0..b7``, ``..7``: the registered members between the two numbers) and
    shell patterns expanded; other specs as given.

    Raises:
        UsageError: a pattern or range matches nothing, or a range runs backwards.
    """
    names: list[str] = []
    for spec in specs:
        match = _RANGE.match(spec)
        if match and match["stem"].endswith(match["tail"]):
            names += _range(spec, match["stem"], int(match["start"]), int(match["end"]))
        elif any(char in spec for char in "*?["):
            found = architectures.list_models(spec)
            if not found:
                raise UsageError(f"no model matches {spec!r}; see convcost list")
            names += found
        else:
            names.append(spec)
    return list(dict.fromkeys(names))


def input_for(model: LoadedModel, resolution: int | None, shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """The input shape: ``shape`` if given, else 1x3xRxR at ``resolution``, the native one, or 224."""
    if shape is not None:
        return shape
    side = resolution or model.native_resolution or DEFAULT_RESOLUTION
    return (1, 3, side, side)


def analyze_loaded(model: LoadedModel, shape: tuple[int, ...], engine: EngineSelection | str) -> Analysis:
    """:func:`~convcost.analyzer.analyze` under the name the user gave the model."""
    return analyze(model.module, shape, engine=engine, name=model.name)


@dataclasses.dataclass(frozen=True)
class RegistryAnalysis:
    """A registry model analysed at its native resolution by ``engine`` (a job for worker processes)."""

    name: str
    engine: str

    @property
    def isolated(self) -> bool:
        """Counting runs anywhere (fvcore's real forward included: it is not timed)."""
        return False

    def run(self) -> Analysis:
        """Build and analyse the model."""
        model = load_model(self.name)
        return analyze_loaded(model, input_for(model, None), self.engine)


def published_frame(names: Sequence[str]) -> pd.DataFrame:
    """Published figures of registry models, one row per figure (:data:`convcost.reports.frames.PUBLISHED_FIELDS`)."""
    rows = [{"model": name, "family": architectures.model_info(name).family, **dataclasses.asdict(figure)}
            for name in names for figure in architectures.model_info(name).published]
    return pd.DataFrame(rows, columns=list(PUBLISHED_FIELDS))


def scaling_series() -> list[str]:
    """The EfficientNet B0–B7 names, in order."""
    return [n for n in architectures.list_models() if architectures.model_info(n).family == "efficientnet"]


__all__ = ["LoadedModel", "RegistryAnalysis", "analyze_loaded", "expand_models", "input_for", "load_model",
           "published_frame", "scaling_series"]
