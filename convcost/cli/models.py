"""MODEL arguments at run time: registry ranges and patterns, loading with ``--kw``, and the inputs that
``--resolution``/``--input``/``--batch``/``--dtype`` ask for (loading itself is :func:`convcost.loading.load_model`;
the options are declared in :mod:`.arguments`, which loads no torch)."""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import re
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.nn.parameter import is_lazy

from convcost import architectures
from convcost.analyzer import Analysis, EngineSelection, analyze
from convcost.loading import LoadedModel, load_model
from convcost.reports.frames import PUBLISHED_FIELDS

from .arguments import InputArgument, KeywordArgument
from .errors import UsageError

#: Input side of a user's model when neither --input nor --resolution is given.
DEFAULT_RESOLUTION = 224
_RANGE = re.compile(r"^(?P<stem>.*?)(?P<start>\d+)\.\.(?P<tail>[^\d.]*)(?P<end>\d+)$")


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


def factory_keywords(keywords: Sequence[KeywordArgument]) -> dict[str, Any]:
    """``--kw`` values by name.

    Raises:
        UsageError: a name given twice.
    """
    values: dict[str, Any] = {}
    for keyword in keywords:
        if keyword.name in values:
            raise UsageError(f"--kw {keyword.name} is given twice; give each keyword argument once")
        values[keyword.name] = keyword.value
    return values


def model_from(args: argparse.Namespace) -> LoadedModel:
    """The model ``MODEL`` names, built with the ``--kw`` keyword arguments (a zoo model whose padding is
    computed for its input size is built for ``--resolution``)."""
    keywords = factory_keywords(getattr(args, "kw", []))
    resolution = getattr(args, "resolution", None)
    zoo = resolution and args.model in architectures.list_models()
    if zoo and "image_size" in architectures.model_info(args.model).overrides:
        keywords.setdefault("image_size", resolution)
    return load_model(args.model, **keywords)


def apply_freezing(model: nn.Module, freeze: Sequence[str] = (), trainable: Sequence[str] = ()) -> None:
    """Set which parameters train, by shell patterns over their dotted names (``stem.*``, ``*.bn*``): with
    ``trainable`` patterns only matching parameters train; ``freeze`` patterns then freeze what they match.
    The model is the command's own (built for this run).

    Raises:
        UsageError: a pattern that matches no parameter (the message shows some names).
    """
    if not freeze and not trainable:
        return
    names = [name for name, _ in model.named_parameters()]
    for option, patterns in (("--trainable", trainable), ("--freeze", freeze)):
        for pattern in patterns:
            if not fnmatch.filter(names, pattern):
                shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
                raise UsageError(f"{option} {pattern!r} matches no parameter; names look like: {shown or 'none'}")
    for name, parameter in model.named_parameters():
        trains = not trainable or any(fnmatch.fnmatchcase(name, pattern) for pattern in trainable)
        trains = trains and not any(fnmatch.fnmatchcase(name, pattern) for pattern in freeze)
        if parameter.requires_grad != trains:
            if is_lazy(parameter):
                raise UsageError(f"cannot freeze or unfreeze {name}: it is a lazy module's uninitialised parameter; "
                                 "build the model with its sizes given")
            parameter.requires_grad_(trains)


def input_for(model: LoadedModel, resolution: int | None, inputs: Sequence[InputArgument] | None = None,
              batch: int | None = None) -> tuple[InputArgument, ...]:
    """The inputs: those given, else one 1x3xRxR image at ``resolution``, the native one, or 224; with ``batch``
    as the first size of each."""
    if not inputs:
        side = resolution or model.native_resolution or DEFAULT_RESOLUTION
        inputs = [InputArgument((1, 3, side, side))]
    if batch is None:
        return tuple(inputs)
    return tuple(dataclasses.replace(item, shape=(batch, *item.shape[1:])) for item in inputs)


def example_inputs(inputs: Sequence[InputArgument]) -> Any:
    """What :func:`~convcost.analyzer.analyze` takes for ``inputs``: a shape, a list of shapes, or ``meta``
    tensors where an input names its dtype."""
    if len(inputs) == 1 and inputs[0].dtype is None:
        return inputs[0].shape
    return [item.shape if item.dtype is None
            else torch.empty(item.shape, dtype=getattr(torch, item.dtype), device="meta") for item in inputs]


def analyze_loaded(model: LoadedModel, inputs: Sequence[InputArgument], engine: EngineSelection | str,
                   dtype: str | None = None, *, training: bool = False, optimizer: str = "sgd") -> Analysis:
    """:func:`~convcost.analyzer.analyze` under the name the user gave the model (``dtype``: a
    :data:`~.arguments.FLOAT_DTYPES` name, None for the model's own; ``training``: count a training step too,
    with ``optimizer``)."""
    return analyze(model.module, example_inputs(inputs), engine=engine, name=model.name,
                   dtype=None if dtype is None else getattr(torch, dtype), training=training, optimizer=optimizer)


@dataclasses.dataclass(frozen=True)
class RegistryAnalysis:
    """A registry model analysed at its native resolution by ``engine``, with its training step (a job for worker
    processes)."""

    name: str
    engine: str

    @property
    def isolated(self) -> bool:
        """Counting runs anywhere (fvcore's real forward included: it is not timed)."""
        return False

    def run(self) -> Analysis:
        """Build and analyse the model."""
        model = load_model(self.name)
        return analyze_loaded(model, input_for(model, None), self.engine, training=True)


def published_frame(names: Sequence[str]) -> pd.DataFrame:
    """Published figures of registry models, one row per figure (:data:`convcost.reports.frames.PUBLISHED_FIELDS`)."""
    rows = [{"model": name, "family": architectures.model_info(name).family, **dataclasses.asdict(figure)}
            for name in names for figure in architectures.model_info(name).published]
    return pd.DataFrame(rows, columns=list(PUBLISHED_FIELDS))


def scaling_series() -> list[str]:
    """The EfficientNet B0–B7 names, in order."""
    return [n for n in architectures.list_models() if architectures.model_info(n).family == "efficientnet"]


__all__ = ["LoadedModel", "RegistryAnalysis", "analyze_loaded", "example_inputs", "expand_models",
           "factory_keywords", "input_for", "load_model", "model_from", "published_frame", "scaling_series"]
