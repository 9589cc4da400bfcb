"""Model registry: names → builders, native resolution and published figures."""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class PublishedFigure:
    """A published cost figure for a model.

    Attributes:
        source: where it was published.
        resolution: input side length (pixels) it refers to.
        params: parameter count (exact where the source is exact).
        macs: conv + linear multiply-accumulates ("FLOPs" in the papers).
        top1: ImageNet top-1 accuracy (%), when published.
        note: how to read the figure.
    """

    source: str
    resolution: int
    params: float | None
    macs: float | None
    top1: float | None = None
    note: str = ""


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about a model name.

    Attributes:
        name: registry name.
        family: family it belongs to (``efficientnet``, ``mobilenet_v2``, ...).
        resolution: native input side length (pixels).
        published: published figures, if any.
        overrides: keywords ``create_model`` accepts for this model, with their defaults.
    """

    name: str
    family: str
    resolution: int
    published: tuple[PublishedFigure, ...] = ()
    overrides: dict[str, Any] = field(default_factory=dict)
    builder: Callable[..., nn.Module] = field(default=nn.Identity, repr=False, compare=False)


class UnknownModelError(LookupError):
    """Raised for a model name that is not registered; the message lists the closest names."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(
    name: str,
    builder: Callable[..., nn.Module],
    *,
    family: str,
    resolution: int,
    published: tuple[PublishedFigure, ...] = (),
    overrides: Mapping[str, Any],
) -> ModelInfo:
    """Register ``builder(**overrides)`` under ``name``.

    Args:
        overrides: the keywords ``builder`` takes, with the defaults it uses for this model.

    Raises:
        ValueError: ``name`` is already registered.
    """
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is already registered")
    info = ModelInfo(name, family, resolution, published, dict(overrides), builder)
    _REGISTRY[name] = info
    return info


def list_models(pattern: str = "*") -> list[str]:
    """Registered names matching the shell-style ``pattern``, in registration order."""
    return [name for name in _REGISTRY if fnmatch.fnmatchcase(name, pattern)]


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of ``name``.

    Raises:
        UnknownModelError: ``name`` is not registered (the message lists the closest names).
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        close = closest_names(name)
        hint = f"closest: {', '.join(close)}" if close else f"known: {', '.join(_REGISTRY)}"
        raise UnknownModelError(f"unknown model {name!r}; {hint}") from None


#: Characters people type for one another (a letter o for a zero, a letter l for a one).
_LOOKALIKES = str.maketrans({"o": "0", "O": "0", "l": "1", "I": "1", "i": "1", "-": "_"})


def closest_names(name: str, count: int = 5) -> list[str]:
    """Registered names closest to ``name`` (see :func:`closest_of`)."""
    return closest_of(name, list(_REGISTRY), count)


def closest_of(name: str, names: Sequence[str], count: int = 5) -> list[str]:
    """The ``names`` closest to ``name``: one that differs only by case or look-alike characters (``o`` for
    ``0``) first, then by similarity (difflib), best first."""
    folded = name.lower().translate(_LOOKALIKES)
    lookalikes = [known for known in names if known.lower().translate(_LOOKALIKES) == folded]
    similar = difflib.get_close_matches(name, names, n=count, cutoff=0.4)
    return list(dict.fromkeys([*lookalikes, *similar]))[:count]


def create_model(name: str, *, device: torch.device | str | None = None, **overrides: Any) -> nn.Module:
    """Build a registered model.

    Args:
        name: a name from :func:`list_models`.
        device: device to build on; ``"meta"`` gives shapes without allocating weights.
        **overrides: variant keywords listed in ``model_info(name).overrides``.

    Raises:
        UnknownModelError: unknown name.
        ValueError: an override this model does not take, or an invalid value.
    """
    info = model_info(name)
    unknown = sorted(set(overrides) - set(info.overrides))
    if unknown:
        raise ValueError(
            f"{name} does not take {', '.join(unknown)}; valid overrides: {', '.join(info.overrides)}"
        )
    with torch.device(device) if device is not None else nullcontext():
        return info.builder(**overrides)
