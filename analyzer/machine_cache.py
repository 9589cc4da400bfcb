"""Figures measured once per machine: a JSON file of entries keyed by what they depend on.

Files live in ``$CONVCOST_CACHE_DIR`` (default ``~/.cache/convcost``). An entry's key joins the
processor, core count, intra-op thread count, device and torch version with whatever else the
figure depends on. A file that cannot be read or written is ignored: the figure is measured again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch

__all__ = ["cache_folder", "cached", "machine_key", "read_entry", "write_entry"]

T = TypeVar("T")


def cache_folder() -> Path:
    """``$CONVCOST_CACHE_DIR``, default ``~/.cache/convcost``."""
    return Path(os.environ.get("CONVCOST_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "convcost"))


def machine_key(processor: str, threads: int, device: str, *extra: str) -> str:
    """The key of a figure measured on this machine with ``threads`` intra-op threads on ``device``."""
    return "|".join([processor, str(os.cpu_count() or 1), str(threads), device, torch.__version__, *extra])


def cached(path: Path, key: str, make: Callable[[], T], load: Callable[[dict[str, Any]], T],
           dump: Callable[[T], dict[str, Any]], keep: Callable[[T], bool] = lambda _: True) -> T:
    """The entry ``key`` of the JSON file ``path`` read by ``load``, if ``keep`` says so of it; when absent,
    unreadable or not kept, ``make()``, written there by ``dump``."""
    entry = read_entry(path, key)
    if entry is not None:
        try:
            found = load(entry)
        except (TypeError, KeyError, ValueError):
            pass  # an entry of another shape: made again below
        else:
            if keep(found):
                return found
    made = make()
    write_entry(path, key, dump(made))
    return made


def read_entry(path: Path, key: str) -> Any:
    """The entry ``key`` of the JSON file ``path`` as stored (None when the file or the entry is missing)."""
    return _read(path).get(key)


def write_entry(path: Path, key: str, value: Any) -> None:
    """Set the entry ``key`` of the JSON file ``path`` to ``value``, keeping its other entries (a file that cannot
    be written is left as it is)."""
    entries = _read(path)
    entries[key] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(entries, indent=2, sort_keys=True))
        os.replace(partial, path)  # a reader sees the old file or the new one, never half of one
    except OSError:
        pass


def _read(path: Path) -> dict[str, Any]:
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}
