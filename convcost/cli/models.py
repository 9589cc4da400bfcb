"""MODEL arguments: registry names, ranges and patterns, and users' ``file.py:factory`` models."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from torch import nn

from convcost import architectures
from convcost.analyzer import Analysis, EngineSelection, analyze
from convcost.reports.frames import PUBLISHED_FIELDS

from .arguments import input_shape, positive_int
from .errors import UsageError

#: Input side of a user's model when neither --input nor --resolution is given.
DEFAULT_RESOLUTION = 224
_RANGE = re.compile(r"^(?P<stem>.*?)(?P<start>\d+)\.\.(?P<tail>[^\d.]*)(?P<end>\d+)$")


@dataclasses.dataclass(frozen=True)
class LoadedModel:
    """A model ready to analyze: its display name, the module, and its native resolution if known."""

    name: str
    module: nn.Module
    native_resolution: int | None = None


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``MODEL`` and its input: ``--resolution`` or ``--input``."""
    parser.add_argument("model", metavar="MODEL", help="registry name, path/to/file.py:factory or module:factory")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--resolution", type=positive_int, metavar="N",
                       help="input side in pixels (default: native, or 224 for your own model)")
    shape.add_argument("--input", type=input_shape, metavar="SHAPE", help="full input shape, e.g. 1x3x224x224")


def expand_models(specs: Iterable[str]) -> list[str]:
    """Registry ranges (``efficientnet_b0..b7``, ``..7``) and shell patterns expanded; other specs as given.

    Raises:
        UsageError: a pattern matches nothing, or a range runs backwards.
    """
    names: list[str] = []
    for spec in specs:
        match = _RANGE.match(spec)
        if match and match["stem"].endswith(match["tail"]):
            start, end = int(match["start"]), int(match["end"])
            if end < start:
                raise UsageError(f"range {spec!r} runs backwards")
            names += [f"{match['stem']}{i:0{len(match['start'])}d}" for i in range(start, end + 1)]
        elif any(char in spec for char in "*?["):
            found = architectures.list_models(spec)
            if not found:
                raise UsageError(f"no model matches {spec!r}; see convcost list")
            names += found
        else:
            names.append(spec)
    return list(dict.fromkeys(names))


def _import_file(path: Path) -> Any:
    """Execute ``path`` as a module (registered in ``sys.modules`` while it runs, as dataclasses need)."""
    name = f"convcost_user_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _load_factory(spec: str) -> LoadedModel:
    source, _, factory_name = spec.rpartition(":")
    if not source or not factory_name.isidentifier():
        raise UsageError(f"{spec!r}: expected path/to/file.py:factory or package.module:factory")
    is_file = source.endswith(".py") or "/" in source or os.sep in source
    if is_file and not Path(source).is_file():
        raise UsageError(f"no such file: {source}")
    try:
        module = _import_file(Path(source)) if is_file else importlib.import_module(source)
    except Exception as error:  # the user's code: report it, whatever it raised
        raise UsageError(f"cannot import {source}: {type(error).__name__}: {error}") from error
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        defined = sorted(n for n, v in vars(module).items()
                         if callable(v) and getattr(v, "__module__", None) == module.__name__)
        hint = f"; callables defined there: {', '.join(defined)}" if defined else ""
        raise UsageError(f"{source} has no factory {factory_name!r}{hint}")
    try:
        model = factory()
    except Exception as error:  # the user's code
        raise UsageError(f"{spec}: {factory_name}() failed: {type(error).__name__}: {error}") from error
    if not isinstance(model, nn.Module):
        raise UsageError(f"{spec}: {factory_name}() returned {type(model).__name__}, not a torch.nn.Module")
    return LoadedModel(spec, model)


def load_model(spec: str) -> LoadedModel:
    """A registry model (built on ``meta``) or a user's ``file.py:factory`` / ``module:factory`` model.

    Raises:
        UsageError: the model cannot be found, imported or built.
    """
    if ":" in spec:
        return _load_factory(spec)
    info = architectures.model_info(spec)
    return LoadedModel(spec, architectures.create_model(spec, device="meta"), info.resolution)


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
