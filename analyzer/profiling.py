"""Measured time beside the counts: per-layer latency of a real forward, and the whole model's without hooks.

:func:`profile` runs a copy of the model (the user's module is never run; a ``meta`` model is
materialised by :func:`~convcost.analyzer.real_run.runnable_copy`) on real inputs of the given
shapes, in eval mode under ``torch.no_grad()``, on the chosen device:

- ``warmup`` untimed forwards, then ``runs`` pairs of timed forwards, alternating so that a drift
  of the machine's speed touches both alike:
- one with no hook at all: the whole model's latency (:attr:`Profile.latency`);
- one with a pre- and post-forward hook on every module: each module's *own* time
  (its calls less the calls made inside them: a block's residual add, a squeeze-excite's scale)
  (:attr:`LayerTime.latency`), and the whole forward under the hooks (:attr:`Profile.hooked`);
  the difference from the hook-free median is the measuring overhead. What a hook pair costs a
  call (:func:`hook_cost_ms`, measured first on a chain of identity modules) runs inside the
  caller's interval, so it is taken out of the caller's own time: the modules then add up to
  the hook-free forward.

Every figure is a :class:`Spread` (median and quartiles, milliseconds) over the runs. On CPU the
clock is ``time.perf_counter``; on CUDA, events recorded on the stream, read after a synchronise.
Beside each layer's time are its counts from :func:`~convcost.analyzer.analyze` (MACs, FLOPs) and
the bytes it moves (inputs + weights + outputs), so achieved GFLOP/s and arithmetic intensity
(FLOPs per byte) follow. Times are measurements: they vary with the machine and its load, and no
count depends on them.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .analysis import Analysis
from .engines.dispatch import call_model, meta_inputs
from .kernel_class import KernelClass, layer_class
from .measure import _normalise_inputs, analyze
from .naming import StrEnum
from .real_run import intra_op_threads, real_inputs, runnable_copy
from .records import LayerRecord
from .roofline import Bound, Roofline
from .traffic import bytes_moved

__all__ = ["Device", "LayerBound", "LayerTime", "Machine", "Profile", "Spread", "hook_cost_ms", "profile"]


class Device(StrEnum):
    """Where :func:`profile` runs the model."""

    CPU = "cpu"
    CUDA = "cuda"


@dataclass(frozen=True)
class Spread:
    """Milliseconds over repeated runs: the median and the quartiles.

    Attributes:
        median_ms, q1_ms, q3_ms: the median, first and third quartile (ms).
        runs: how many runs they summarise.
    """

    median_ms: float
    q1_ms: float
    q3_ms: float
    runs: int

    @property
    def iqr_ms(self) -> float:
        """The interquartile range (ms): the spread of the middle half of the runs."""
        return self.q3_ms - self.q1_ms

    @classmethod
    def of(cls, samples_ms: list[float]) -> Spread:
        """The spread of ``samples_ms`` (at least one)."""
        if not samples_ms:
            raise ValueError("a spread needs at least one run")
        if len(samples_ms) == 1:
            (only,) = samples_ms
            return cls(only, only, only, 1)
        q1, median, q3 = statistics.quantiles(samples_ms, n=4, method="inclusive")
        return cls(median, q1, q3, len(samples_ms))


@dataclass(frozen=True)
class LayerTime:
    """One module's own measured time beside its own counts.

    Attributes:
        name, type: the module; kind: its conv/linear kind (``depthwise`` …), ``""`` for other layers.
        kernel_class: its class for the latency model (:func:`~convcost.analyzer.kernel_class.layer_class`).
        latency: its calls' own time per forward (ms): less the time of the modules they call.
        macs, flops: its own counts per forward (:class:`~convcost.analyzer.records.LayerRecord`).
        bytes_moved: bytes its calls read and write: for a leaf its inputs, its own parameters and buffers and
            its outputs; for a container, what its own operators write, twice (at least as much is read).
    """

    name: str
    type: str
    kind: str
    latency: Spread
    macs: int
    flops: int
    bytes_moved: int
    kernel_class: KernelClass

    @property
    def gflops_per_s(self) -> float:
        """Achieved GFLOP/s: FLOPs over the median time (0 for a layer measured at 0 ms)."""
        seconds = self.latency.median_ms / 1e3
        return self.flops / seconds / 1e9 if seconds > 0 else 0.0

    @property
    def intensity(self) -> float:
        """Arithmetic intensity: FLOPs per byte moved (0 for a layer that moves nothing)."""
        return self.flops / self.bytes_moved if self.bytes_moved else 0.0


@dataclass(frozen=True)
class LayerBound:
    """A layer under a roofline.

    Attributes:
        limit: compute- or memory-bound; bound_ms: the least time the roofline allows (ms).
        efficiency: that time over the measured median (1: at the roofline).
    """

    limit: Bound
    bound_ms: float
    efficiency: float


@dataclass(frozen=True)
class Machine:
    """What the times were measured on."""

    processor: str
    cores: int
    threads: int
    device: Device
    torch: str

    @classmethod
    def here(cls, device: Device, threads: int) -> Machine:
        """This machine, running ``threads`` intra-op threads on ``device``."""
        return cls(_processor(device), os.cpu_count() or 1, threads, device, torch.__version__)


@dataclass(frozen=True)
class Profile:
    """A model's measured time (see the module docstring).

    Attributes:
        model, input_shapes, dtype: what was run.
        warmup: untimed forwards before the timed ones.
        latency: the whole forward with no hook (ms).
        hooked: the whole forward with the per-layer hooks (ms).
        layers: every module that ran, in the order its first call started, each with its own time.
        machine: where it ran.
        roofline: the machine's measured roofline (:mod:`convcost.analyzer.roofline`), None when not asked for.
        hook_ms: what the timing hooks add to each module call (:func:`hook_cost_ms`, measured before the runs);
            it is taken out of each caller's own time, so the modules add up to the hook-free forward.
    """

    model: str
    input_shapes: tuple[tuple[int, ...], ...]
    dtype: str
    warmup: int
    latency: Spread
    hooked: Spread
    layers: tuple[LayerTime, ...]
    machine: Machine
    roofline: Roofline | None = None
    hook_ms: float = 0.0

    @property
    def overhead_ms(self) -> float:
        """What measuring per layer adds to a forward: the hooked median minus the hook-free one (ms)."""
        return self.hooked.median_ms - self.latency.median_ms

    @property
    def layer_sum_ms(self) -> float:
        """The layers' median times added up (ms)."""
        return sum(layer.latency.median_ms for layer in self.layers)

    def bound(self, layer: LayerTime, roofline: Roofline | None = None) -> LayerBound:
        """``layer`` under ``roofline`` (default: the machine's): what limits it, the time it allows, and the
        efficiency of the measured time against it.

        Raises:
            ValueError: no roofline was given or measured.
        """
        roof = roofline or self.roofline
        if roof is None:
            raise ValueError("no roofline: profile(..., roofline=machine_roofline(...)) measures one")
        allowed = roof.bound_ms(layer.flops, layer.bytes_moved)
        measured = layer.latency.median_ms
        return LayerBound(roof.bound(layer.flops, layer.bytes_moved), allowed,
                          allowed / measured if measured > 0 else 0.0)

    def bound_ms(self, roofline: Roofline | None = None) -> float:
        """The whole model's least time under ``roofline`` (default: the machine's): its layers' bounds added."""
        return sum(self.bound(layer, roofline).bound_ms for layer in self.layers)

    def by_kind(self) -> dict[str, float]:
        """Median milliseconds per layer kind (``standard``, ``depthwise`` … and ``other`` for the rest)."""
        totals: dict[str, float] = {}
        for layer in self.layers:
            key = layer.kind or "other"
            totals[key] = totals.get(key, 0.0) + layer.latency.median_ms
        return totals


def profile(model: nn.Module, input_shape: Any = (1, 3, 224, 224), *, runs: int = 20, warmup: int = 3,
            threads: int | None = None, device: Device | str = Device.CPU, dtype: torch.dtype = torch.float32,
            name: str | None = None, roofline: Roofline | None = None, analysis: Analysis | None = None) -> Profile:
    """Measure ``model``'s forward on real tensors of ``input_shape`` (what :func:`analyze` takes): the whole
    model's latency without hooks and every leaf module's with them (see the module docstring).

    Args:
        runs: timed forwards of each kind (at least 1); warmup: untimed ones first (0 or more).
        threads: intra-op CPU threads while measuring (default: torch's current setting, restored after).
        device: ``cpu`` or ``cuda``.
        roofline: the machine's roofline to set each layer's time against
            (:func:`~convcost.analyzer.roofline.machine_roofline`); None: none.
        analysis: the model's counts on this input when already made (default: analysed here).

    Raises:
        ValueError: ``runs`` below 1, ``warmup`` or ``threads`` below 0/1, an unknown device, or ``cuda`` where
            no CUDA device is available.
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs must be at least 1 and warmup at least 0; got runs={runs}, warmup={warmup}")
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
        latency, layer_samples, hooked = _timed_runs(runnable, args, runs, clock, hook_ms)
    layers = tuple(_layer_time(name_, samples, records[name_], dtype) for name_, samples in layer_samples.items()
                   if name_ in records)
    return Profile(analysis.model, analysis.input_shapes, analysis.dtype, warmup, Spread.of(latency),
                   Spread.of(hooked), layers, Machine.here(place, used), roofline, hook_ms)


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


def _timed_runs(model: nn.Module, args: Any, runs: int, clock: _Clock,
                hook_ms: float = 0.0) -> tuple[list[float], dict[str, list[float]], list[float]]:
    """``runs`` pairs of forwards, one with no hook and one with every module timed, alternating so that a drift
    of the machine's speed touches both alike: the hook-free ms per run, module name → its *own* ms per run (its
    calls' time less the time of the calls made inside them, so the modules' times add up to the whole
    forward's), and the hooked forward's ms per run. The hooks are removed after each hooked forward, whatever
    happens."""
    names = {id(module): name for name, module in model.named_modules()}
    samples: dict[str, list[float]] = {}
    marks: list[tuple[bool, str, Any]] = []  # (entering, module, mark), in order

    def before(module: nn.Module, _args: Any) -> None:
        marks.append((True, names[id(module)], clock.mark()))

    def after(module: nn.Module, _args: Any, _output: Any) -> None:
        marks.append((False, names[id(module)], clock.mark()))

    free, whole = [], []
    for _ in range(runs):
        free.append(clock.time(lambda: call_model(model, args)))
        handles = [handle for _, module in model.named_modules()
                   for handle in (module.register_forward_pre_hook(before), module.register_forward_hook(after))]
        try:
            marks.clear()
            whole.append(clock.time(lambda: call_model(model, args)))
        finally:
            for handle in handles:
                handle.remove()
        for name, ms in _own_times(marks, clock, hook_ms).items():
            samples.setdefault(name, []).append(ms)
    return free, samples, whole


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


def _processor(device: Device) -> str:
    if device is Device.CUDA:
        return torch.cuda.get_device_name()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()

