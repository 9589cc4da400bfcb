"""Is the machine quiet? A probe block of kernels, timed against its time on this machine when quiet.

On a shared machine other work (on a virtual machine, other tenants of the host, seen in no process
list and no steal count) slows every kernel for seconds to minutes: here EfficientNet-B0's forward
took 23 ms in one minute and 40 ms in the next. A time measured in such a spell says little about
the model. The probe is the block of :func:`probe_block` (an inverted-residual block), run once
untimed (to clear what ran before from the caches) and then timed (:class:`Probe`); its time rises
with the spell's, in step with the work timed beside it (the log slowdowns of micro-benchmarks and
of the probe before each of their calls correlated at 0.82 over the 672 rounds of a fit that probed
before every call).

The latency model's fit (:mod:`convcost.analyzer.microbench`) probes before and after each chain of
benchmarks it times, times again the chain of a benchmark none of whose rounds had a probe within
:data:`QUIET_SLOWDOWN` times the :data:`QUIET_QUANTILE` of the fit's probes, keeps each benchmark's fastest
round, and keeps the median probe of those rounds as the probe time of the machine its times met
(``LatencyModel.quiet_probe_ms``). A :class:`QuietGate` on that time admits a run whose probes ran
within :data:`QUIET_SLOWDOWN` times it: :func:`~convcost.analyzer.profiling.profile` keeps only such
runs (waiting for them for a bounded time), so a profile is of the machine the fit met, and two
profiles agree as that machine's times do.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["MIN_QUIET_RUNS", "PROBE", "PROBE_REPEATS", "QUIET_QUANTILE", "QUIET_SLOWDOWN", "Probe", "QuietGate",
           "probe_block", "quiet_quantile"]

#: A run met a quiet machine when its probes ran within this many times the quiet probe time.
QUIET_SLOWDOWN = 1.15
#: The quantile of a fit's probes that stands for the quiet machine when the fit picks benchmarks to time again.
QUIET_QUANTILE = 0.25
#: Timed runs of the probe block in one probe (a profile probes before each pair of forwards and after the last);
#: the probe is their median.
PROBE_REPEATS = 3
#: What the probe times; change it with :func:`probe_block` or :class:`Probe`, so that probe times of another probe
#: are not compared with this one's.
PROBE = (f"inverted residual 32-128-32 channels on 56x56, float32, CPU; median of {PROBE_REPEATS} timed runs after "
         "one untimed")
#: The fewest quiet runs a profile's figures are taken over (or the runs asked for, if fewer); with fewer it uses
#: every run, and says so.
MIN_QUIET_RUNS = 3


def probe_block() -> Callable[[], Any]:
    """The probe, a call that runs a fixed block: an inverted-residual block (1x1 expand, batch norm, ReLU6, 3x3
    depthwise, batch norm, SiLU, 1x1 project) on a 32-channel 56x56 map, on the CPU in float32, with the same
    weights every time (built under a fixed seed; the caller's random state is left as it was)."""
    with torch.random.fork_rng(devices=[]):  # saves and restores the CPU generator alone, the one reseeded here
        torch.default_generator.manual_seed(1)
        block = nn.Sequential(nn.Conv2d(32, 128, 1), nn.BatchNorm2d(128), nn.ReLU6(),
                              nn.Conv2d(128, 128, 3, padding=1, groups=128), nn.BatchNorm2d(128), nn.SiLU(),
                              nn.Conv2d(128, 32, 1)).eval()
    x = torch.rand(1, 32, 56, 56, generator=torch.Generator().manual_seed(1))
    return functools.partial(block, x)


class Probe:
    """Times the probe block: ``probe()`` runs it once untimed, then ``repeats`` times timed, and gives the median
    (ms). Call it under ``torch.no_grad()``, as every timing here runs."""

    def __init__(self, block: Callable[[], Any] | None = None, repeats: int = PROBE_REPEATS,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if repeats < 1:
            raise ValueError(f"a probe times the block at least once; got repeats={repeats}")
        self._block = block or probe_block()
        self._repeats = repeats
        self._clock = clock

    def __call__(self) -> float:
        self._block()
        times = []
        for _ in range(self._repeats):
            started = self._clock()
            self._block()
            times.append((self._clock() - started) * 1e3)
        return statistics.median(times)


def quiet_quantile(probes_ms: Sequence[float]) -> float:
    """The :data:`QUIET_QUANTILE` of ``probes_ms`` (ms): the probe time of the quiet machine they met.

    Raises:
        ValueError: no probe.
    """
    if not probes_ms:
        raise ValueError("the quiet probe time needs at least one probe")
    ordered = sorted(probes_ms)
    return ordered[int(QUIET_QUANTILE * (len(ordered) - 1))]


@dataclass(frozen=True)
class QuietGate:
    """Which runs met a quiet machine: those whose probe ran within ``slowdown`` times ``reference_ms``.

    Attributes:
        reference_ms: the probe's time on this machine when quiet (ms).
        slowdown: how much slower a quiet run's probe may be.
    """

    reference_ms: float
    slowdown: float = QUIET_SLOWDOWN

    def __post_init__(self) -> None:
        if not (self.reference_ms > 0 and self.slowdown >= 1):
            raise ValueError(f"a quiet gate needs a reference above 0 ms and a slowdown of 1 or more; got "
                             f"{self.reference_ms} ms and {self.slowdown}")

    @property
    def limit_ms(self) -> float:
        """The slowest probe of a quiet run (ms)."""
        return self.slowdown * self.reference_ms

    def admits(self, probe_ms: float) -> bool:
        """Whether a run whose probe took ``probe_ms`` met a quiet machine."""
        return probe_ms <= self.limit_ms
