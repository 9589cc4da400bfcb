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

Every figure is a :class:`Spread` (median and quartiles, milliseconds) over the runs (the records
are :mod:`convcost.analyzer.time_records`'s, re-exported here). On CPU the
clock is ``time.perf_counter``; on CUDA, events recorded on the stream, read after a synchronise.
Beside each layer's time are its counts from :func:`~convcost.analyzer.analyze` (MACs, FLOPs) and
the bytes it moves (inputs + weights + outputs), so achieved GFLOP/s and arithmetic intensity
(FLOPs per byte) follow. Times are measurements: they vary with the machine and its load, and no
count depends on them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .analysis import Analysis
from .engines.dispatch import call_model, meta_inputs
from .kernel_class import layer_class
from .measure import _normalise_inputs, analyze
from .real_run import intra_op_threads, real_inputs, runnable_copy
from .records import LayerRecord
from .roofline import Roofline
from .time_records import MIN_SECONDS, Device, LayerBound, LayerTime, Machine, Profile, Spread
from .traffic import bytes_moved

__all__ = ["MIN_SECONDS", "Device", "LayerBound", "LayerTime", "Machine", "Profile", "Spread", "hook_cost_ms",
           "profile"]


def profile(model: nn.Module, input_shape: Any = (1, 3, 224, 224), *, runs: int = 20, warmup: int = 3,
            min_seconds: float = MIN_SECONDS, threads: int | None = None, device: Device | str = Device.CPU,
            dtype: torch.dtype = torch.float32, name: str | None = None, roofline: Roofline | None = None,
            analysis: Analysis | None = None) -> Profile:
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

    Raises:
        ValueError: ``runs`` below 1, ``warmup`` or ``threads`` below 0/1, an unknown device, or ``cuda`` where
            no CUDA device is available.
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs must be at least 1 and warmup at least 0; got runs={runs}, warmup={warmup}")
    if not min_seconds >= 0:
        raise ValueError(f"min_seconds must be 0 or more; got {min_seconds}")
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
        latency, layer_samples, hooked = _timed_runs(runnable, args, runs, clock, hook_ms, min_seconds)
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


def _timed_runs(model: nn.Module, args: Any, runs: int, clock: _Clock, hook_ms: float = 0.0,
                min_seconds: float = 0.0) -> tuple[list[float], dict[str, list[float]], list[float]]:
    """``runs`` pairs of forwards (more, until the pairs' forwards have taken ``min_seconds``), one with no hook
    and one with every module timed, alternating so that a drift
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

    free: list[float] = []
    whole: list[float] = []
    while len(free) < runs or sum(free) + sum(whole) < min_seconds * 1e3:
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


