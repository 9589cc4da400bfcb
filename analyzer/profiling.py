"""Measured time beside the counts: per-layer latency of a real forward, and the whole model's without hooks.

:func:`profile` runs a copy of the model (the user's module is never run; a ``meta`` model is
materialised by :func:`~convcost.analyzer.real_run.runnable_copy`) on real inputs of the given
shapes, in eval mode under ``torch.no_grad()``, on the chosen device:

- ``warmup`` untimed forwards, then ``runs`` pairs of timed forwards (more, until they have taken
  ``min_seconds``, :data:`MIN_SECONDS` by default), alternating so that a drift of the machine's
  speed touches both alike:
- one with no hook at all: the whole model's latency (:attr:`Profile.latency`);
- one with a pre- and post-forward hook on every module: each module's *own* time
  (its calls less the calls made inside them: a block's residual add, a squeeze-excite's scale)
  (:attr:`LayerTime.latency`), and the whole forward under the hooks (:attr:`Profile.hooked`);
  the difference from the hook-free median is the measuring overhead. What a hook pair costs a
  call (:func:`hook_cost_ms`, measured first on a chain of identity modules) runs inside the
  caller's interval, so it is taken out of the caller's own time: the modules then add up to
  the hook-free forward.

Given a :class:`~convcost.analyzer.quiet.QuietGate` (``quiet_gate``; the CLI, ``measure_time`` and the
report pass the latency model's, so a profile times the machine the fit's times met), a probe of the machine
(:class:`~convcost.analyzer.quiet.Probe`) runs before each pair of forwards and after the last: a pair either
of whose probes ran slower than the gate allows met other work and is set aside, and the timing goes on until
``runs`` pairs met a quiet machine or ``max_seconds`` have passed. The figures are over the quiet pairs (over
every pair, when fewer than :data:`~convcost.analyzer.quiet.MIN_QUIET_RUNS` were quiet), and
:attr:`Profile.quiet` says how many were which. The median probe is recorded as the machine's quietest when it
is (:mod:`convcost.analyzer.quiet_floor`). The hook-free forward then follows the probe block rather
than the last hooked forward: its first layers find the probe's data in the caches, not the model's.

Every figure is a :class:`Spread` (median and quartiles, milliseconds) over the runs (the records
are :mod:`convcost.analyzer.time_records`'s, re-exported here). On CPU the
clock is ``time.perf_counter``; on CUDA, events recorded on the stream, read after a synchronise.
Beside each layer's time are its counts from :func:`~convcost.analyzer.analyze` (MACs, FLOPs) and
the bytes it moves (inputs + weights + outputs), so achieved GFLOP/s and arithmetic intensity
(FLOPs per byte) follow. Times are measurements: they vary with the machine and its load, and no
count depends on them.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .analysis import Analysis
from .engines.dispatch import call_model, meta_inputs
from .kernel_class import layer_class
from .measure import _normalise_inputs, analyze
from .quiet import MIN_QUIET_RUNS, Probe, QuietGate
from .quiet_floor import is_probe_time, record_probe_ms
from .real_run import intra_op_threads, real_inputs, runnable_copy
from .records import LayerRecord
from .roofline import Roofline
from .time_records import (
    MAX_SECONDS,
    MIN_SECONDS,
    Device,
    LayerBound,
    LayerTime,
    Machine,
    Profile,
    QuietRuns,
    Spread,
)
from .traffic import bytes_moved

__all__ = ["MAX_SECONDS", "MIN_SECONDS", "Device", "LayerBound", "LayerTime", "Machine", "Profile", "QuietGate",
           "QuietRuns", "Spread", "hook_cost_ms", "profile"]


def profile(model: nn.Module, input_shape: Any = (1, 3, 224, 224), *, runs: int = 20, warmup: int = 3,
            min_seconds: float = MIN_SECONDS, threads: int | None = None, device: Device | str = Device.CPU,
            dtype: torch.dtype = torch.float32, name: str | None = None, roofline: Roofline | None = None,
            analysis: Analysis | None = None, quiet_gate: QuietGate | None = None,
            max_seconds: float = MAX_SECONDS) -> Profile:
    """Measure ``model``'s forward on real tensors of ``input_shape`` (what :func:`analyze` takes): the whole
    model's latency without hooks and every leaf module's with them (see the module docstring).

    Args:
        runs: timed forwards of each kind (at least 1); warmup: untimed ones first (0 or more).
        min_seconds: keep timing past ``runs`` until the timed forwards have taken this long (0: exactly
            ``runs``), so the runs of a fast model span more than a burst of other work on a shared machine.
        threads: intra-op CPU threads while measuring (default: torch's current setting, restored after).
        device: ``cpu`` or ``cuda``.
        roofline: the machine's roofline to set each layer's time against
            (:func:`~convcost.analyzer.roofline.machine_roofline`); None: none.
        analysis: the model's counts on this input when already made (default: analysed here).
        quiet_gate: keep only the runs that met a quiet machine by this gate (see the module docstring; the
            latency model's :attr:`~convcost.analyzer.latency_model.LatencyModel.quiet_gate`); None: keep every run.
        max_seconds: with ``quiet_gate``, stop looking for quiet runs once the timing has taken this long in all
            (the runs asked for are timed whatever it takes).

    Raises:
        ValueError: ``runs`` below 1, ``warmup`` or ``threads`` below 0/1, ``min_seconds`` below 0 or
            ``max_seconds`` below 0 or infinite, an unknown device, or ``cuda`` where no CUDA device is available.
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs must be at least 1 and warmup at least 0; got runs={runs}, warmup={warmup}")
    if not (min_seconds >= 0 and 0 <= max_seconds < math.inf):
        raise ValueError(f"min_seconds must be 0 or more and max_seconds a finite 0 or more; got {min_seconds} and "
                         f"{max_seconds}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1; got {threads}")
    try:
        place = Device(device)
    except ValueError:
        raise ValueError(f"device must be one of {', '.join(d.value for d in Device)}; got {device!r}") from None
    if place is Device.CUDA and not torch.cuda.is_available():
        raise ValueError("device cuda: no CUDA device is available here (torch.cuda.is_available() is False)")
    if analysis is None:
        analysis = analyze(model, input_shape, dtype=dtype, name=name)
    records = {layer.name: layer for layer in analysis.layers}
    runnable = runnable_copy(model).to(device=place.value, dtype=dtype).eval()
    args = real_inputs(meta_inputs(_normalise_inputs(input_shape), dtype), runnable, dtype)
    clock = _clock(place)
    with intra_op_threads(threads) as used, torch.no_grad():
        for _ in range(warmup):
            call_model(runnable, args)
        clock.sync()
        hook_ms = hook_cost_ms(clock)
        timed = _timed_runs(runnable, args, _Plan(runs, min_seconds, max_seconds, quiet_gate), clock, hook_ms,
                            Probe() if quiet_gate is not None else None)
        median_probe_ms = statistics.median(timed.probes) if timed.probes else None
        if is_probe_time(median_probe_ms):  # the probe runs on the CPU, whatever the device
            record_probe_ms(Machine.here(Device.CPU, used).processor, used, median_probe_ms)
    kept, quiet_record = _kept_runs(timed, runs, quiet_gate)
    layer_samples: dict[str, list[float]] = {}
    for index in kept:
        for name_, ms in timed.layers[index].items():
            layer_samples.setdefault(name_, []).append(ms)
    layers = tuple(_layer_time(name_, samples, records[name_], dtype) for name_, samples in layer_samples.items()
                   if name_ in records)
    return Profile(analysis.model, analysis.input_shapes, analysis.dtype, warmup,
                   Spread.of([timed.free[index] for index in kept]), Spread.of([timed.hooked[index] for index in kept]),
                   layers, Machine.here(place, used), roofline, hook_ms, quiet_record)


class _Clock:
    """Milliseconds of work on one device: ``time`` a call, ``mark`` points and read intervals between them."""

    def sync(self) -> None:
        """Wait for the device's queued work (nothing on CPU)."""

    def mark(self) -> Any:
        return time.perf_counter()

    def elapsed_ms(self, start: Any, end: Any) -> float:
        return float((end - start) * 1e3)

    def time(self, work: Callable[[], Any]) -> float:
        self.sync()
        start = self.mark()
        work()
        end = self.mark()
        self.sync()
        return self.elapsed_ms(start, end)


class _CudaClock(_Clock):
    """Events recorded on the current stream; intervals read after a synchronise."""

    def sync(self) -> None:
        torch.cuda.synchronize()

    def mark(self) -> Any:
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def elapsed_ms(self, start: Any, end: Any) -> float:
        return float(start.elapsed_time(end))


def _clock(device: Device) -> _Clock:
    return _CudaClock() if device is Device.CUDA else _Clock()


@dataclass(frozen=True)
class _Plan:
    """How long to time: at least ``runs`` pairs and ``min_seconds`` of timed forwards; with a ``gate``, until
    ``runs`` pairs met a quiet machine or ``max_seconds`` have passed."""

    runs: int
    min_seconds: float = 0.0
    max_seconds: float = MAX_SECONDS
    gate: QuietGate | None = None


@dataclass
class _Runs:
    """Per pair of forwards: the hook-free ms, the hooked ms, module name → its own ms, and the probe's ms around
    the pair, the slower of the probes just before and just after it (none without a probe)."""

    free: list[float] = field(default_factory=list)
    hooked: list[float] = field(default_factory=list)
    layers: list[dict[str, float]] = field(default_factory=list)
    probes: list[float] = field(default_factory=list)

    def quiet_indices(self, gate: QuietGate) -> list[int]:
        """The pairs ``gate`` admits."""
        return [index for index, probe in enumerate(self.probes) if gate.admits(probe)]


def _timed_runs(model: nn.Module, args: Any, plan: _Plan, clock: _Clock, hook_ms: float = 0.0,
                probe: Callable[[], float] | None = None, now: Callable[[], float] = time.perf_counter) -> _Runs:
    """Pairs of forwards as ``plan`` says, one with no hook and one with every module timed, alternating so that
    a drift of the machine's speed touches both alike, with ``probe`` run before the first pair and after each
    (when given): a burst of other work that begins or ends inside a pair shows in one of its probes. Each module's
    *own* ms per run is its calls' time less the time of the calls made inside them, so the modules' times add up
    to the whole forward's. The hooks are removed after each hooked forward, whatever happens.

    Raises:
        ValueError: ``plan`` has a gate and no ``probe`` is given (no pair could ever be quiet).
    """
    if plan.gate is not None and probe is None:
        raise ValueError("a quiet gate needs a probe to judge the pairs by")
    names = {id(module): name for name, module in model.named_modules()}
    marks: list[tuple[bool, str, Any]] = []  # (entering, module, mark), in order

    def before(module: nn.Module, _args: Any) -> None:
        marks.append((True, names[id(module)], clock.mark()))

    def after(module: nn.Module, _args: Any, _output: Any) -> None:
        marks.append((False, names[id(module)], clock.mark()))

    runs = _Runs()
    started = now()
    probed = probe() if probe is not None else 0.0  # the probe before the next pair
    while not _enough(runs, plan, now() - started):
        runs.free.append(clock.time(lambda: call_model(model, args)))
        handles = [handle for _, module in model.named_modules()
                   for handle in (module.register_forward_pre_hook(before), module.register_forward_hook(after))]
        try:
            marks.clear()
            runs.hooked.append(clock.time(lambda: call_model(model, args)))
        finally:
            for handle in handles:
                handle.remove()
        runs.layers.append(_own_times(marks, clock, hook_ms))
        if probe is not None:
            next_probe = probe()
            runs.probes.append(max(probed, next_probe))
            probed = next_probe
    return runs


def _enough(runs: _Runs, plan: _Plan, elapsed_s: float) -> bool:
    """Whether ``runs``, timed over ``elapsed_s`` seconds, are all ``plan`` asks for."""
    if len(runs.free) < plan.runs or sum(runs.free) + sum(runs.hooked) < plan.min_seconds * 1e3:
        return False
    return plan.gate is None or len(runs.quiet_indices(plan.gate)) >= plan.runs or elapsed_s >= plan.max_seconds


def _kept_runs(runs: _Runs, asked: int, gate: QuietGate | None) -> tuple[list[int], QuietRuns | None]:
    """The pairs the figures are over, and which met a quiet machine by ``gate`` (None without a gate): the quiet
    ones when there are at least :data:`~convcost.analyzer.quiet.MIN_QUIET_RUNS` of them (or ``asked``, if fewer),
    else every pair."""
    every = list(range(len(runs.free)))
    if gate is None:
        return every, None
    quiet = runs.quiet_indices(gate)
    over_quiet = len(quiet) >= min(asked, MIN_QUIET_RUNS)
    return (quiet if over_quiet else every), QuietRuns(gate.reference_ms, gate.limit_ms, Spread.of(runs.probes),
                                                       len(quiet), len(every) - len(quiet), over_quiet)


def _own_times(marks: list[tuple[bool, str, Any]], clock: _Clock, hook_ms: float = 0.0) -> dict[str, float]:
    """Module → its own ms in one forward, from its calls' entry and exit marks (nested as the calls were), less
    ``hook_ms`` for each call it makes: the hooks of a call run inside its caller's interval."""
    own: dict[str, float] = {}
    stack: list[list[Any]] = []  # per open call: [name, start mark, ms of the calls inside it, calls inside it]
    for entering, name, mark in marks:
        if entering:
            own.setdefault(name, 0.0)  # in the order the first calls start
            stack.append([name, mark, 0.0, 0])
            continue
        opened, start, inner, calls = stack.pop()
        inclusive = clock.elapsed_ms(start, mark)
        own[opened] = own.get(opened, 0.0) + max(inclusive - inner - hook_ms * calls, 0.0)
        if stack:
            stack[-1][2] += inclusive
            stack[-1][3] += 1
    return own


def hook_cost_ms(clock: _Clock | None = None, modules: int = 64, runs: int = 31) -> float:
    """What a pre- and post-forward hook pair adds to a module call (ms), measured on a chain of ``modules``
    identity modules: the hooked forward's median less the hook-free one's, per call (never below 0)."""
    timer = clock or _Clock()
    chain = nn.Sequential(*(nn.Identity() for _ in range(modules)))
    x = torch.zeros(1)

    def mark(*_: Any) -> None:
        timer.mark()

    free, hooked = [], []
    for _ in range(runs):
        free.append(timer.time(lambda: chain(x)))
        handles = [handle for module in chain for handle in (module.register_forward_pre_hook(mark),
                                                              module.register_forward_hook(mark))]
        try:
            hooked.append(timer.time(lambda: chain(x)))
        finally:
            for handle in handles:
                handle.remove()
    return max(statistics.median(hooked) - statistics.median(free), 0.0) / modules


def _layer_time(name: str, samples: list[float], record: LayerRecord, dtype: torch.dtype) -> LayerTime:
    moved = bytes_moved(record, torch.finfo(dtype).bits // 8)
    kind = record.check.kind.value if record.check is not None else ""
    return LayerTime(name, record.type, kind, Spread.of(samples), record.macs, record.flops, moved,
                     layer_class(record))


