"""Plug-ins: a registry of one kind of them, and discovery (import every module of a package).

Every extension axis of convcost (engines, output formats, studies; operator formulas have
their own table in ``formulas.ops``) is a :class:`Registry` that plug-in modules add to when
imported, and :func:`load_plugins` imports them all, so adding one is adding its file. A
registry imports its package's plug-ins the first time it is used, not when its package is
imported. A registry whose plug-in modules are heavy (engines import torch) names its plug-ins
before importing them: each plug-in module is named after the key it registers
(:meth:`Registry.names`), so the command line's choices cost nothing until one is needed.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Hashable, Iterator
from types import ModuleType
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class NotRegisteredError(ValueError):
    """No plug-in is registered under a key: bad input (the command line reports it in one line, exit status 2)."""


class Registry(Generic[K, V]):
    """Plug-ins of one kind by key: duplicates refused, listed in a stated order, misses named with the valid keys.

    Args:
        what: what a plug-in is, for messages (``engine``, ``study``).
        key: a plug-in's key.
        order: sort key of a plug-in for listing (default: registration order).
        plugins: the package whose modules are the plug-ins, imported on first use (:func:`load_plugins`).
        rank: sort key of a plug-in's key for listing (instead of ``order``; e.g. an enum's member order).
        declared: the key a module of ``plugins`` registers, read from the module's name alone (None: the module
            is not a plug-in), so that :meth:`names` names the plug-ins without importing them (a plug-in module
            is then named after its key: :meth:`declared_keys` is what its tests hold the registered keys to).
    """

    def __init__(self, what: str, key: Callable[[V], K], order: Callable[[V], Any] | None = None,
                 plugins: str | None = None, *, rank: Callable[[K], Any] | None = None,
                 declared: Callable[[str], K | None] | None = None) -> None:
        if order is not None and rank is not None:
            raise ValueError("a registry lists its plug-ins by order or by rank, not both")
        if declared is not None and (plugins is None or order is not None):
            raise ValueError("declared keys are read from a plug-in package's module names and listed by rank: "
                             "give plugins, and rank instead of order")
        self.what = what
        self._key = key
        self._order = order
        self._rank = rank
        self._declared = declared
        self._items: dict[K, V] = {}
        self._package = plugins
        self._plugins = plugins  # None once imported

    def declared_keys(self) -> tuple[K, ...]:
        """The keys the plug-in package's module names declare, in listing order, whether or not the modules
        are imported yet (empty without ``declared``)."""
        if self._declared is None or self._package is None:
            return ()
        keys = [self._declared(module) for module in plugin_modules(self._package)]
        return tuple(self._sorted([key for key in keys if key is not None]))

    def _discover(self) -> None:
        """Import the plug-in package's modules once (they register themselves as they load)."""
        if self._plugins is not None:
            package, self._plugins = self._plugins, None
            load_plugins(package)

    def _sorted(self, keys: list[K]) -> list[K]:
        if self._rank is not None:
            return sorted(keys, key=self._rank)
        order = self._order
        if order is not None:
            return sorted(keys, key=lambda key: order(self._items[key]))
        return keys

    def names(self) -> tuple[K, ...]:
        """Every plug-in's key, in listing order. A registry with ``declared`` keys answers from its plug-in
        modules' names until something imports them (a lookup, a registration), so listing imports nothing."""
        if self._plugins is not None and self._declared is not None:
            return self.declared_keys()
        self._discover()
        return tuple(self._sorted(list(self._items)))

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
            NotRegisteredError: none is (the message lists the registered keys).
        """
        self._discover()
        try:
            return self._items[key]
        except KeyError:
            known = ", ".join(str(known) for known in self.names())
            raise NotRegisteredError(f"{self.what} {key!s} is not registered; registered: {known}") from None

    def __contains__(self, key: object) -> bool:
        self._discover()
        return key in self._items

    def __iter__(self) -> Iterator[V]:
        self._discover()
        return iter([self._items[key] for key in self._sorted(list(self._items))])

    def __len__(self) -> int:
        self._discover()
        return len(self._items)


def load_plugins(package: str) -> list[ModuleType]:
    """Import every module of ``package`` whose name does not start with ``_``, in name order.

    A plug-in module registers itself when imported (``register_engine``, ``register_study``,
    ``register_renderer``), so adding one is adding its file: no list to extend elsewhere.
    """
    return [importlib.import_module(f"{package}.{name}") for name in plugin_modules(package)]


def plugin_modules(package: str) -> list[str]:
    """Names of the modules of ``package`` that :func:`load_plugins` imports, in name order, without importing
    them (only ``package`` itself is imported)."""
    parent = importlib.import_module(package)
    return sorted(info.name for info in pkgutil.iter_modules(parent.__path__) if not info.name.startswith("_"))
