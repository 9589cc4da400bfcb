"""Plug-in discovery: import every module of a package, so each one registers itself."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def load_plugins(package: str) -> list[ModuleType]:
    """Import every module of ``package`` whose name does not start with ``_``, in name order.

    A plug-in module registers itself when imported (``register_engine``, ``register_study``,
    ``register_renderer``), so adding one is adding its file: no list to extend elsewhere.
    """
    parent = importlib.import_module(package)
    names = sorted(info.name for info in pkgutil.iter_modules(parent.__path__) if not info.name.startswith("_"))
    return [importlib.import_module(f"{package}.{name}") for name in names]
