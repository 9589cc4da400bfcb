"""The quietest this machine has been: the least probe time recorded here, cached per machine and thread count.

A latency model's fit keeps the probe time of the machine its times met (``LatencyModel.quiet_probe_ms``,
:mod:`convcost.analyzer.quiet`), and profiles wait for that machine. A fit made wholly in a slow spell keeps a slow
probe time: its predictions run high, and the profiles gated on it let slow runs through (a fit cached at a probe
time of 2.302 ms let pairs through at up to 2.647 ms, where quiet minutes of the same night probed at 1.2-1.45 ms).
So every fit and every gated profile records its probe time (:func:`record_probe_ms`): a fit its quiet probe time,
the median over the rounds it kept, and a profile the median over its pairs, each pair's probe the slower of the
two around it; the least recorded is the machine's quietest. A fit whose probe time is more than
:data:`STALE_SLOWDOWN` times the quietest is stale (:func:`is_stale`), and
:func:`~convcost.analyzer.latency_model.machine_latency_model` fits again when it finds a stale fit on a quiet
machine.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TypeGuard

from .allocator import allocator_mode
from .machine_cache import cache_folder, machine_key, read_entry, write_entry
from .quiet import PROBE

__all__ = ["STALE_SLOWDOWN", "cache_path", "is_probe_time", "is_stale", "quietest_probe_ms", "record_probe_ms"]

#: A fit whose probe time is more than this many times the machine's quietest was made in a slow spell. Above
#: :data:`~convcost.analyzer.quiet.QUIET_SLOWDOWN`: the quietest is the least of many medians.
STALE_SLOWDOWN = 1.3


def cache_path() -> Path:
    """Where the quietest probe times are kept: ``quiet_probe.json`` in the cache folder."""
    return cache_folder() / "quiet_probe.json"


def quietest_probe_ms(processor: str, threads: int, *, cache: Path | None = None) -> float | None:
    """The least probe time recorded on this machine with ``threads`` intra-op threads (ms; None: none yet, or an
    entry that is not a positive number)."""
    found = read_entry(cache if cache is not None else cache_path(), _key(processor, threads))
    return float(found) if is_probe_time(found) else None


def record_probe_ms(processor: str, threads: int, probe_ms: float, *, cache: Path | None = None) -> float:
    """Record a probe time of ``probe_ms`` met on this machine with ``threads`` intra-op threads; the quietest
    recorded after it (ms).

    Raises:
        ValueError: ``probe_ms`` is not a positive, finite number of milliseconds.
    """
    if not is_probe_time(probe_ms):
        raise ValueError(f"a probe time is a positive, finite number of ms; got {probe_ms}")
    path = cache if cache is not None else cache_path()
    quietest = quietest_probe_ms(processor, threads, cache=path)
    if quietest is None or probe_ms < quietest:
        write_entry(path, _key(processor, threads), probe_ms)
        return probe_ms
    return quietest


def is_probe_time(value: object) -> TypeGuard[float]:
    """Whether ``value`` is a probe time: a positive, finite number of milliseconds."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf


def is_stale(fit_probe_ms: float | None, quietest_ms: float | None) -> bool:
    """Whether a fit that met a probe time of ``fit_probe_ms`` was made in a slow spell of a machine whose quietest
    probe time is ``quietest_ms`` (False when either is unknown)."""
    return fit_probe_ms is not None and quietest_ms is not None and fit_probe_ms > STALE_SLOWDOWN * quietest_ms


def _key(processor: str, threads: int) -> str:
    """A floor's key: the machine, the thread count, the probe and the allocator mode (a probe's speed depends on
    how freed memory is kept)."""
    return machine_key(processor, threads, "cpu", f"probe: {PROBE}", f"allocator {allocator_mode()}")
