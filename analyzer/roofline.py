"""The machine's roofline: peak compute and memory bandwidth, measured once per machine and thread count.

:func:`machine_roofline` measures (or reads from its cache) this machine's roofline on a device:

- **peak compute** (GFLOP/s): the best of a large float32 matrix product (``2·n³`` FLOPs) and a
  large 3×3 convolution (``2·MACs``), each the fastest of its runs after a warm-up;
- **memory bandwidth** (GB/s, 10⁹ bytes): the best of a large copy (read once, written once) and a
  triad ``a = b + s·c`` (two reads, one write), each the fastest of its runs.

Each kernel runs at least ``repeats`` times and for at least ``min_seconds``: a peak is the best the
machine does, and on a shared machine a burst of other work can slow every run of a shorter try; the
figure is cached, so one slow moment would otherwise stay with every later report.

Under the roofline a layer that does ``F`` FLOPs and moves ``B`` bytes takes at least
``max(F / peak, B / bandwidth)``: compute-bound when the first term is the larger, memory-bound
otherwise; its efficiency is that bound over its measured time. :data:`PUBLISHED_DEVICES` gives the
same bound for devices not here, from their published figures: **estimates**, never measurements.
The records (:class:`Roofline`, :class:`Bound`, the published devices) are
:mod:`convcost.analyzer.time_records`'s, re-exported here.

The cache is ``roofline.json`` in the cache folder (:mod:`convcost.analyzer.machine_cache`), keyed by
processor, cores, threads, device, torch version and how it was measured (:data:`METHOD`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from .machine_cache import cache_folder, cached, machine_key
from .time_records import PUBLISHED_DEVICES, Bound, Device, PublishedDevice, Roofline

__all__ = ["PUBLISHED_DEVICES", "Bound", "PublishedDevice", "Roofline", "cache_path", "machine_roofline"]


#: Seconds each roofline kernel is timed for, at least (see the module docstring).
KERNEL_SECONDS = 1.0
#: How the roofline is measured; part of its cache key, so a figure measured another way is measured again.
METHOD = f"fastest over {KERNEL_SECONDS:g} s per kernel"
_Fastest = Callable[[Callable[[], Any]], float]


def cache_path() -> Path:
    """Where measured rooflines are kept: ``roofline.json`` in the cache folder
    (:func:`~convcost.analyzer.machine_cache.cache_folder`)."""
    return cache_folder() / "roofline.json"


def machine_roofline(device: str, threads: int, processor: str, *, cache: Path | None = None,
                     measure: Callable[[str], Roofline] | None = None) -> Roofline:
    """This machine's roofline on ``device`` with ``threads`` intra-op threads: from the cache when it holds this
    processor, core count, thread count, device and torch version, else measured (by ``measure``, default
    :func:`measure_roofline`) and written to it. A cache that cannot be read or written is ignored."""
    return cached(cache if cache is not None else cache_path(), machine_key(processor, threads, device, METHOD),
                  lambda: (measure or measure_roofline)(device), lambda entry: Roofline(**entry), asdict)


def measure_roofline(device: str, *, matrix: int = 2048, channels: int = 256, copy_elements: int = 1 << 25,
                     repeats: int = 3, min_seconds: float = KERNEL_SECONDS) -> Roofline:
    """Measure peak compute and bandwidth on ``device`` (see the module docstring); sizes are parameters so a
    test can measure small ones."""
    fastest = functools.partial(_fastest, device=device, repeats=repeats, min_seconds=min_seconds)
    with torch.no_grad():
        matmul = _matmul_gflops(device, matrix, fastest)
        conv = _conv_gflops(device, channels, fastest)
        copy, triad, nbytes = _bandwidths(device, copy_elements, fastest)
    return Roofline(max(matmul, conv), max(copy, triad), device, True,
                    f"measured: {matrix}x{matrix} matmul {matmul:.1f} and {channels}-channel 3x3 conv {conv:.1f} "
                    f"GFLOP/s; copy {copy:.1f} and triad {triad:.1f} GB/s of {nbytes / 1e6:.0f} MB arrays")


def _matmul_gflops(device: str, matrix: int, fastest: _Fastest) -> float:
    a = torch.randn(matrix, matrix, device=device)
    b = torch.randn(matrix, matrix, device=device)
    return 2 * matrix**3 / fastest(lambda: torch.mm(a, b)) / 1e9


def _conv_gflops(device: str, channels: int, fastest: _Fastest) -> float:
    x = torch.randn(1, channels, 56, 56, device=device)
    w = torch.randn(channels, channels, 3, 3, device=device)
    flops = 2 * channels * channels * 9 * 56 * 56
    return flops / fastest(lambda: torch.nn.functional.conv2d(x, w, padding=1)) / 1e9


def _bandwidths(device: str, elements: int, fastest: _Fastest) -> tuple[float, float, int]:
    """GB/s of a copy (one read, one write) and of a triad (two reads, one write), and the array's bytes."""
    source = torch.randn(elements, device=device)
    other = torch.randn(elements, device=device)
    target = torch.empty_like(source)
    nbytes = source.numel() * source.element_size()
    copy = 2 * nbytes / fastest(lambda: target.copy_(source)) / 1e9
    triad = 3 * nbytes / fastest(lambda: torch.add(source, other, alpha=2.0, out=target)) / 1e9
    return copy, triad, nbytes


def _fastest(work: Callable[[], Any], device: str, repeats: int, min_seconds: float = 0.0) -> float:
    """The fastest of at least ``repeats`` timed calls, made for at least ``min_seconds``, after one warm-up
    (seconds)."""
    work()
    best = float("inf")
    started_all, done = time.perf_counter(), 0
    while done < repeats or time.perf_counter() - started_all < min_seconds:
        done += 1
        if device == Device.CUDA:
            torch.cuda.synchronize()
        started = time.perf_counter()
        work()
        if device == Device.CUDA:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return max(best, 1e-9)
