"""Lazy package exports (PEP 562): a package names what it exports and where each name is defined, and
the defining module is imported on first use of the name.

So ``from convcost.analyzer.naming import StrEnum`` or ``from convcost.reports.formats import Format``
runs the package's ``__init__`` without importing torch, pandas or matplotlib, and the command line
parses its arguments and prints ``--help`` before any of them loads. A package uses it as::

    __getattr__, __dir__ = lazy_exports(__name__, {"Analysis": ".analysis", ...})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, sources: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``, whose public ``name`` is defined in the module
    ``sources[name]`` (absolute, or relative to ``package`` with a leading dot)."""

    def __getattr__(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *sources})

    return __getattr__, __dir__


__all__ = ["lazy_exports"]
