"""Plug-ins: a registry of one kind of them, and discovery (import every module of a package).

Every extension axis of convcost (engines, output formats, studies; operator formulas have
their own table in ``formulas.ops``) is a :class:`Registry` that plug-in modules add to when
imported, and :func:`load_plugins` imports them all, so adding one is adding its file. A
registry imports its package's plug-ins the first time it is used, not when its package is
imported: naming an engine or a format costs nothing until one is needed.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Hashable, Iterator
from types import ModuleType
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Registry(Generic[K, V]):
    """Plug-ins of one kind by key: duplicates refused, listed in a stated order, misses named with the valid keys.

    Args:
        what: what a plug-in is, for messages (``engine``, ``study``).
        key: a plug-in's key.
        order: sort key for listing (default: registration order).
        plugins: the package whose modules are the plug-ins, imported on first use (:func:`load_plugins`).
    """

    def __init__(self, what: str, key: Callable[[V], K], order: Callable[[V], Any] | None = None,
                 plugins: str | None = None) -> None:
        self.what = what
        self._key = key
        self._order = order
        self._items: dict[K, V] = {}
        self._plugins = plugins

    def _discover(self) -> None:
        """Import the plug-in package's modules once (they register themselves as they load)."""
        if self._plugins is not None:
            package, self._plugins = self._plugins, None
            load_plugins(package)

    def register(self, item: V) -> V:
        """Add ``item``.

        Raises:
            ValueError: its key is taken.
        """
        self._discover()
        key = self._key(item)
        if key in self._items:
            raise ValueError(f"{self.what} {key!s} is already registered")
        self._items[key] = item
        return item

    def unregister(self, key: K) -> V | None:
        """Remove and return the plug-in under ``key`` (for tests that stand another in its place)."""
        self._discover()
        return self._items.pop(key, None)

    def get(self, key: K) -> V:
        """The plug-in under ``key``.

        Raises:
            ValueError: none is (the message lists the registered keys).
        """
        self._discover()
        try:
            return self._items[key]
        except KeyError:
            known = ", ".join(str(self._key(item)) for item in self)
            raise ValueError(f"{self.what} {key!s} is not registered; registered: {known}") from None

    def __contains__(self, key: object) -> bool:
        self._discover()
        return key in self._items

    def __iter__(self) -> Iterator[V]:
        self._discover()
        items = list(self._items.values())
        return iter(sorted(items, key=self._order) if self._order is not None else items)

    def __len__(self) -> int:
        self._discover()
        return len(self._items)


def load_plugins(package: str) -> list[ModuleType]:
    """Import every module of ``package`` whose name does not start with ``_``, in name order.

    A plug-in module registers itself when imported (``register_engine``, ``register_study``,
    ``register_renderer``), so adding one is adding its file: no list to extend elsewhere.
    """
    parent = importlib.import_module(package)
    names = sorted(info.name for info in pkgutil.iter_modules(parent.__path__) if not info.name.startswith("_"))
    return [importlib.import_module(f"{package}.{name}") for name in names]
