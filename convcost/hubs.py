"""Models of other zoos by name: ``timm:NAME`` and ``torchvision:NAME`` (when those packages are installed).

Each hub builds its model with random weights on the CPU (nothing is downloaded), passing the
spec's keyword arguments to the zoo's own builder (``num_classes=10``). A hub whose package is
missing says how to install it; an unknown name lists the zoo's closest names. A new zoo is
one more :class:`Hub` in :data:`HUBS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from torch import nn

from .architectures.registry import closest_of


class HubError(ValueError):
    """A hub that is not installed, or a name it does not have; the message says what would work."""


@dataclass(frozen=True)
class Hub:
    """Another library's model zoo.

    Attributes:
        prefix: what a spec starts with (``timm`` in ``timm:resnet50``).
        package: the module to import; install: the command that installs it.
        names: the zoo's model names, from the imported package.
        build: builds ``name`` with keyword arguments, random weights, on the CPU.
        resolution: the built model's native input side (pixels), if the zoo records one.
    """

    prefix: str
    package: str
    install: str
    names: Callable[[ModuleType], Sequence[str]]
    build: Callable[[ModuleType, str, dict[str, Any]], nn.Module]
    resolution: Callable[[nn.Module], int | None] = lambda model: None

    def load(self, name: str, kwargs: dict[str, Any]) -> nn.Module:
        """The model ``name`` of this zoo.

        Raises:
            HubError: the package is missing or has no model ``name``.
        """
        try:
            package = importlib.import_module(self.package)
        except ImportError as error:
            raise HubError(f"{self.prefix}:{name} needs {self.package}, which is not installed ({error}); "
                           f"install it with `{self.install}`") from None
        known = list(self.names(package))
        if name not in known:
            close = closest_of(name, known)
            hint = f"; closest: {', '.join(close)}" if close else f"; {len(known)} names, e.g. {', '.join(known[:5])}"
            raise HubError(f"{self.package} has no model {name!r}{hint}")
        return self.build(package, name, kwargs)


def _timm_build(timm: ModuleType, name: str, kwargs: dict[str, Any]) -> nn.Module:
    model: nn.Module = timm.create_model(name, pretrained=False, **kwargs)
    return model


def _timm_resolution(model: nn.Module) -> int | None:
    """The side of a square ``input_size`` in the model's timm config."""
    config = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None) or {}
    size = config.get("input_size") if isinstance(config, dict) else None
    if isinstance(size, (tuple, list)) and len(size) == 3 and size[1] == size[2]:
        return int(size[1])
    return None


def _torchvision_build(torchvision: ModuleType, name: str, kwargs: dict[str, Any]) -> nn.Module:
    model: nn.Module = torchvision.models.get_model(name, weights=None, **kwargs)
    return model


#: Prefix → hub.
HUBS: dict[str, Hub] = {hub.prefix: hub for hub in (
    Hub("timm", "timm", "pip install timm", lambda timm: timm.list_models(), _timm_build, _timm_resolution),
    Hub("torchvision", "torchvision", "pip install torchvision (a version matching your torch)",
        lambda torchvision: torchvision.models.list_models(), _torchvision_build),
)}


def hub_of(spec: str) -> Hub | None:
    """The hub a spec such as ``timm:resnet50`` names, or None."""
    prefix, colon, _ = spec.partition(":")
    return HUBS.get(prefix) if colon else None


__all__ = ["HUBS", "Hub", "HubError", "hub_of"]
