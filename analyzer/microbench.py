"""Single-layer micro-benchmarks: what the latency model (:mod:`convcost.analyzer.latency_model`) is fitted on.

Each benchmark is one layer of one kernel class (standard, depthwise, pointwise or grouped conv,
linear, pooling, normalization, activation, reduction, elementwise) at one shape, drawn from a fixed-seed
sampler over the shapes convolutional networks use (feature maps of 1 to 300 pixels, stems' inputs up to 600;
3 to 3,840 channels, multiples of :data:`CHANNEL_MULTIPLE` past a stem's input, as networks round theirs;
kernels 1 to 7, strides 1 and 2), so every machine fits on the same set, chosen without looking at any network
(the fit never sees one). Its counts come from :func:`~convcost.analyzer.analyze` (the same figures a prediction
uses); its time is the median of repeated calls on real tensors after a warm-up, in eval mode under
``torch.no_grad()``.

A layer's time depends on what ran just before it, most of all a small layer's: a 96-channel 14x14 ReLU6 took
9.6 us called back to back and 58.5 us each call after an inverted-residual block of other kernels. Inside a
network each layer follows another of about its size. So the benchmarks are timed in chains (:func:`_chains`):
ordered by input size, 16 to a chain, each chain run again and again with every call timed, so that each call
follows another benchmark's of its scale, often of another class. A network's leaf layers timed in a chain of their
own (in the network's order or shuffled) added up to 0.92-1.12x its hook-free forward, where back to back they added
up to 0.67-0.92x and each after the block 1.0-1.6x (README). And in a network a layer's input was just written by
the layer before it, so it is still in cache: a 144-channel 56x56 batch norm took 84 us on an input just written and
167 us on one swept out by 64 MB of other traffic. So before each call its first input (a residual add's branch)
is written in place, untimed (times 1.0: its values stay).

The whole set is timed in several rounds and each benchmark's time is the fastest of its rounds' medians: on a
shared machine a burst of other work lasts seconds to a minute and slows every call of the benchmarks it meets,
and only slows them, so the fastest round is the one nearest the quiet machine a prediction is for (a fit whose
rounds' medians were taken in a slow half minute predicted 21 of 23 networks 14-45% high). The machine is probed
(:mod:`convcost.analyzer.quiet`) before and after each chain's passes: the chains of a benchmark none of whose
rounds met a quiet machine are timed again, and the median probe of the rounds kept is kept with the fit
(:class:`MicroBenchRun`), for profiles to wait for the machine the fit's times met. Quiet is judged against the
fit's own rounds and, where one is recorded, the machine's quietest probe time
(:mod:`convcost.analyzer.quiet_floor`): a fit whose every round met one slow minute is otherwise settled by its own
slow rounds (two fits a minute apart, with probes of 1.79 and 2.10 ms, predicted the same 23 networks -4% to +16%
and +18% to +45% off).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import math
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from .conv_library import ConvLibrary, conv_library
from .kernel_class import KernelClass
from .measure import analyze
from .quiet import QUIET_QUANTILE, QUIET_SLOWDOWN, Probe, QuietGate, quiet_quantile
from .real_run import intra_op_threads
from .traffic import bytes_moved

__all__ = ["CHAIN_LENGTH", "CHANNEL_MULTIPLE", "EXTRA_ROUNDS", "LayerSample", "MicroBench", "MicroBenchRun",
           "microbenchmark_digest", "microbenchmarks", "module_call_ms", "run_microbenchmarks"]

Shape = tuple[int, ...]

#: Passes over the benchmarks that met no quiet round, at most, after the first rounds (about 10 s each here).
EXTRA_ROUNDS = 10
#: Benchmarks in one chain (:func:`_chains`): each call follows those of the others, as layers follow each other in a
#: network.
CHAIN_LENGTH = 16
#: How a benchmark is timed; change it with the timing, so that fits made the old way are not reused.
METHOD = ("channels multiples of 8, pooling its own class; fastest of 3 rounds' medians of 9 calls after 2, "
          f"in chains of {CHAIN_LENGTH} ordered by input size, each call timed; residual add and scale as container "
          f"ops; a probe before and after each chain's passes, a benchmark with no probe within {QUIET_SLOWDOWN}x "
          f"the {QUIET_QUANTILE} quantile timed again with its chain up to {EXTRA_ROUNDS} times; elementwise layers "
          "by family, squeeze-excite's activations on a 1x1 map; the kept rounds' median probe kept; each call's "
          "first input written in place just before it; quiet also against the machine's quietest probe")
#: Largest layer benchmarked (MACs): larger ones run at the same efficiency and only take longer.
MAX_MACS = 1_500_000_000
#: What networks round their channel counts to (MobileNet's and EfficientNet's ``make_divisible``, ResNets' powers
#: of two). A kernel vectorises over channels, and one whose channels fill no whole vector runs up to 3x slower
#: (a 3x3 depthwise conv here: 0.35 ms at 512 channels on 24x24, 0.56 ms at 500; 0.27 ms at 32 on 150x150, 1.02 ms
#: at 40).
CHANNEL_MULTIPLE = 8
#: Feature-map sides drawn from (pixels): those of networks at 224 to 600 px after their strides.
_SIDES = (7, 10, 12, 14, 15, 19, 24, 28, 30, 38, 48, 56, 60, 75, 96, 112, 120, 150, 192, 240, 300)
#: The channels of squeeze-excite blocks' inputs; their squeezed and gated 1x1 maps are benchmarked.
_SQUEEZE_EXCITE = (16, 48, 96, 240, 576, 1152, 2304)
_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class MicroBench:
    """One layer to time: its kernel class, a builder of the module and the shapes of its inputs."""

    kernel_class: KernelClass
    label: str
    build: Callable[[], nn.Module]
    inputs: tuple[Shape, ...]


@dataclasses.dataclass(frozen=True)
class LayerSample:
    """One timed layer: its counts and its measured time.

    Attributes:
        ops: the root module's own operator calls in one forward; calls: module calls, its children's included.
        flops: FLOPs; bytes_moved: bytes read and written (:func:`~convcost.analyzer.traffic.bytes_moved`).
        measured_ms: median milliseconds per forward.
        library: the library a convolution runs on (:mod:`~convcost.analyzer.conv_library`); None for other layers.
    """

    kernel_class: KernelClass
    label: str
    ops: int
    calls: int
    flops: int
    bytes_moved: int
    measured_ms: float
    library: ConvLibrary | None = None


class _Add(nn.Module):
    """A residual add, as a block makes it: its container's own operator (a child holds the branch), so its bytes
    follow the container rule as in a network."""

    def __init__(self) -> None:
        super().__init__()
        self.branch = nn.Identity()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.branch(a) + b


class _Scale(nn.Module):
    """A squeeze-excite scale, as a block makes it: a feature map times per-channel weights, its container's own
    operator."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = nn.Identity()

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return x * self.gate(weights)


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
    return round(math.exp(rng.uniform(math.log(low), math.log(high))))


def _channels(rng: random.Random, low: int = 8, high: int = 640) -> int:
    """A channel count between ``low`` and ``high``, a multiple of :data:`CHANNEL_MULTIPLE` as networks round theirs."""
    return max(round(_log_uniform(rng, low, high) / CHANNEL_MULTIPLE), 1) * CHANNEL_MULTIPLE


def _resolution(rng: random.Random, channels: int, max_elements: int) -> int:
    """A feature-map side for ``channels`` channels whose map holds at most ``max_elements`` (7 at least)."""
    sides = [side for side in _SIDES if channels * side * side <= max_elements] or [_SIDES[0]]
    return rng.choice(sides)


def _convs(rng: random.Random) -> Iterator[MicroBench]:
    made = 0
    while made < 40:  # an inverted residual's expand and project convs
        channels, grow = _channels(rng), rng.choice((1, 2, 4, 6))
        c_in, c_out = (channels, channels * grow) if rng.random() < 0.5 else (channels * grow, channels)
        res = _resolution(rng, max(c_in, c_out), 12_000_000)
        if c_in * c_out * res * res > MAX_MACS:
            continue
        made += 1
        yield MicroBench(KernelClass.POINTWISE, f"1x1 {c_in}->{c_out} @{res}",
                         _factory(nn.Conv2d, c_in, c_out, 1, bias=False), ((1, c_in, res, res),))
    for channels in _SQUEEZE_EXCITE:  # squeeze-excite's 1x1 convs on a 1x1 map
        squeezed = max(channels // 24, 4)
        yield MicroBench(KernelClass.POINTWISE, f"1x1 {channels}->{squeezed} @1",
                         _factory(nn.Conv2d, channels, squeezed, 1), ((1, channels, 1, 1),))
        yield MicroBench(KernelClass.POINTWISE, f"1x1 {squeezed}->{channels} @1",
                         _factory(nn.Conv2d, squeezed, channels, 1), ((1, squeezed, 1, 1),))
    for _ in range(32):
        channels = _channels(rng) * rng.choice((1, 4, 6))
        kernel, stride = rng.choice((3, 5)), rng.choice((1, 1, 2))
        res = _resolution(rng, channels, 12_000_000)
        yield MicroBench(KernelClass.DEPTHWISE, f"dw{kernel}x{kernel}/{stride} {channels} @{res}",
                         _factory(nn.Conv2d, channels, channels, kernel, stride=stride, padding=kernel // 2,
                                  groups=channels, bias=False), ((1, channels, res, res),))
    for c_in, c_out, kernel, stride, res in ((3, 32, 3, 2, 224), (3, 64, 7, 2, 224), (3, 24, 3, 2, 384),
                                             (3, 64, 3, 2, 600)):  # stems
        yield MicroBench(KernelClass.STANDARD, f"{kernel}x{kernel}/{stride} {c_in}->{c_out} @{res}",
                         _factory(nn.Conv2d, c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
                         ((1, c_in, res, res),))
    made = 0
    while made < 24:  # fused-MBConv and residual-block convs
        c_in = _channels(rng, 16, 512)
        c_out, stride = c_in * rng.choice((1, 1, 2, 4)), rng.choice((1, 1, 2))
        res = _resolution(rng, c_in, 3_000_000)
        if c_in * c_out * 9 * (res // stride) ** 2 > MAX_MACS:
            continue
        made += 1
        yield MicroBench(KernelClass.STANDARD, f"3x3/{stride} {c_in}->{c_out} @{res}",
                         _factory(nn.Conv2d, c_in, c_out, 3, stride=stride, padding=1, bias=False),
                         ((1, c_in, res, res),))
    for _ in range(12):
        groups = rng.choice((2, 4, 8, 32))
        width = max(_channels(rng, 32, 1024) // groups, 2) * groups  # 1 per group would be depthwise
        res = _resolution(rng, width, 1_500_000)
        yield MicroBench(KernelClass.GROUPED, f"3x3 g{groups} {width} @{res}",
                         _factory(nn.Conv2d, width, width, 3, padding=1, groups=groups, bias=False),
                         ((1, width, res, res),))


def _linears(rng: random.Random) -> Iterator[MicroBench]:
    for features in (256, 512, 1024, 1280, 1536, 2048, 2560, 4096):
        for outputs in (10, 1000):
            yield MicroBench(KernelClass.LINEAR, f"linear {features}->{outputs}",
                             _factory(nn.Linear, features, outputs), ((1, features),))
    for _ in range(6):
        features, outputs = _log_uniform(rng, 16, 4096), _log_uniform(rng, 16, 4096)
        yield MicroBench(KernelClass.LINEAR, f"linear {features}->{outputs}",
                         _factory(nn.Linear, features, outputs), ((1, features),))


_SQUEEZED_ACTIVATIONS: tuple[tuple[str, Callable[[], nn.Module]], ...] = (
    ("relu", nn.ReLU), ("relu6", nn.ReLU6), ("silu", nn.SiLU),
)
_ACTIVATIONS = (*_SQUEEZED_ACTIVATIONS, ("sigmoid", nn.Sigmoid), ("hardswish", nn.Hardswish))
_POOLING: tuple[tuple[str, Callable[[], nn.Module]], ...] = (
    ("maxpool3x3/2", lambda: nn.MaxPool2d(3, 2, 1)), ("maxpool2x2/2", lambda: nn.MaxPool2d(2)),
    ("avgpool2x2/2", lambda: nn.AvgPool2d(2)), ("avgpool3x3/1", lambda: nn.AvgPool2d(3, 1, 1)),
)


def _feature_map(rng: random.Random, grow: tuple[int, ...] = (1, 4, 6)) -> Shape:
    """A (1, C, H, H) input: C drawn as :func:`_channels` times one of ``grow``, H as :func:`_resolution`."""
    channels = _channels(rng) * rng.choice(grow)
    res = _resolution(rng, channels, 12_000_000)
    return (1, channels, res, res)


def _label(name: str, shape: Shape) -> str:
    """``name``, the channels and the side of ``shape``: ``relu 96 @28``."""
    return f"{name} {shape[1]} @{shape[-1]}"


def _between_convs(rng: random.Random) -> Iterator[MicroBench]:
    """The layers between the convs: activations (squeeze-excite's on 1x1 maps among them), batch norms, global
    means, residual adds and squeeze-excite scales, windowed pools."""
    for _ in range(24):
        (name, make), shape = rng.choice(_ACTIVATIONS), _feature_map(rng)
        yield MicroBench(KernelClass.ACTIVATION, _label(name, shape), make, (shape,))
    for channels in _SQUEEZE_EXCITE:  # squeeze-excite's activation and gate on a 1x1 map
        (name, make), squeezed = rng.choice(_SQUEEZED_ACTIVATIONS), channels // 4
        yield MicroBench(KernelClass.ACTIVATION, _label(name, (1, squeezed, 1, 1)), make, ((1, squeezed, 1, 1),))
        yield MicroBench(KernelClass.ACTIVATION, _label("sigmoid", (1, channels, 1, 1)), nn.Sigmoid,
                         ((1, channels, 1, 1),))
    for _ in range(12):
        shape = _feature_map(rng)
        yield MicroBench(KernelClass.NORMALIZATION, _label("batchnorm", shape), _factory(nn.BatchNorm2d, shape[1]),
                         (shape,))
    for _ in range(12):  # a classifier's or a squeeze-excite's global mean
        shape = _feature_map(rng)
        yield MicroBench(KernelClass.REDUCTION, _label("avgpool", shape), _factory(nn.AdaptiveAvgPool2d, 1),
                         (shape,))
    for _ in range(12):
        shape = _feature_map(rng)
        yield MicroBench(KernelClass.ELEMENTWISE, _label("add", shape), _Add, (shape, shape))
        yield MicroBench(KernelClass.ELEMENTWISE, _label("scale", shape), _Scale, (shape, (1, shape[1], 1, 1)))
    for _ in range(12):  # a ResNet's stem max pool, a DenseNet's transition, an Inception branch
        (window, pool), shape = rng.choice(_POOLING), _feature_map(rng, (1, 4))
        yield MicroBench(KernelClass.POOLING, _label(window, shape), pool, (shape,))


def _factory(kind: Callable[..., nn.Module], *args: Any, **kwargs: Any) -> Callable[[], nn.Module]:
    return lambda: kind(*args, **kwargs)


def microbenchmarks(seed: int = 0) -> tuple[MicroBench, ...]:
    """The fixed set of single layers the latency model is fitted on (the same for a given ``seed``)."""
    rng = random.Random(seed)
    return (*_convs(rng), *_linears(rng), *_between_convs(rng))


def microbenchmark_digest() -> str:
    """A short digest of what a fit depends on here: every benchmark's label and :data:`METHOD` (a fit cached
    under another digest is made again)."""
    text = "\n".join([METHOD, *(bench.label for bench in microbenchmarks())])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class MicroBenchRun:
    """The timed micro-benchmarks and the quiet probe time they met.

    Attributes:
        samples: each benchmark's counts and fastest round.
        quiet_probe_ms: the median probe of the rounds the samples were taken from (ms): the machine they met.
    """

    samples: tuple[LayerSample, ...]
    quiet_probe_ms: float


def run_microbenchmarks(benches: tuple[MicroBench, ...], *, runs: int = 9, warmup: int = 2,  # as METHOD says
                        rounds: int = 3, extra_rounds: int = EXTRA_ROUNDS, threads: int | None = None,
                        chain_length: int = CHAIN_LENGTH, quietest_ms: float | None = None) -> MicroBenchRun:
    """Time each of ``benches`` on real CPU tensors beside its counts, in chains of ``chain_length``
    (:func:`_chains`): in each of ``rounds`` passes over the set, each chain runs ``warmup`` and then ``runs``
    times, its benchmarks one after another and each call timed, between two probes of the machine
    (:class:`~convcost.analyzer.quiet.Probe`; the round's probe is the slower); a benchmark's round is the median of
    its calls, and its time the fastest of its rounds (see the module docstring). The chains holding a benchmark
    none of whose rounds met a quiet machine (:func:`_unsettled`, against ``quietest_ms`` too: the machine's
    quietest probe time, where known) are timed again, in up to ``extra_rounds`` more passes over those. Before each
    call its first input is written in place, untimed, as the layer before it in a network would have written it.

    Raises:
        ValueError: ``rounds``, ``chain_length`` or ``runs`` is below 1, ``warmup`` below 0, or no benchmark is given.
    """
    if min(rounds, chain_length, runs) < 1 or warmup < 0:
        raise ValueError(f"rounds, chain_length and runs must be at least 1 and warmup at least 0; got "
                         f"rounds={rounds}, chain_length={chain_length}, runs={runs}, warmup={warmup}")
    if not benches:
        raise ValueError("no micro-benchmark to run")
    timings: list[list[_Timing]] = [[] for _ in benches]
    counted: dict[int, LayerSample] = {}
    chains = _chains(benches, chain_length)
    with intra_op_threads(threads), torch.no_grad():  # a conv's library depends on the threads
        probe = Probe()

        def time_round(chain: tuple[int, ...]) -> None:
            calls, producers = [], []
            for index in chain:
                module = benches[index].build().eval()
                generator = torch.Generator().manual_seed(0)
                args = [torch.rand(shape, generator=generator) for shape in benches[index].inputs]
                if index not in counted:
                    counted[index] = _counts(benches[index], module)
                calls.append(functools.partial(module, *args))
                producers.append(functools.partial(args[0].mul_, 1.0))
            before = probe()
            medians = _time_chain(calls, runs, warmup, producers)
            probe_ms = max(before, probe())
            for index, median_ms in zip(chain, medians, strict=True):
                timings[index].append(_Timing(median_ms, probe_ms))

        for _ in range(rounds):
            for chain in chains:
                time_round(chain)
        for extra in range(extra_rounds):
            again = set(_unsettled(timings, quietest_ms))
            if not again:
                break
            _log.info("micro-benchmarks: %d of %d met no quiet machine; timing their chains again (%d of %d)",
                      len(again), len(benches), extra + 1, extra_rounds)
            for chain in chains:
                if again.intersection(chain):
                    time_round(chain)
    kept = [min(measured, key=lambda timing: timing.median_ms) for measured in timings]
    samples = tuple(dataclasses.replace(counted[index], measured_ms=timing.median_ms)
                    for index, timing in enumerate(kept))
    return MicroBenchRun(samples, statistics.median(timing.probe_ms for timing in kept))


def _chains(benches: Sequence[MicroBench], length: int = CHAIN_LENGTH, seed: int = 0) -> tuple[tuple[int, ...], ...]:
    """``benches`` (indices) in chains of ``length`` or fewer: ordered by the size of their first input (ties in an
    order shuffled under ``seed``), so that a chain holds benchmarks of several classes at one scale, as a
    network's layers follow others of their size."""
    order = list(range(len(benches)))
    random.Random(seed).shuffle(order)
    order.sort(key=lambda index: math.prod(benches[index].inputs[0]))
    return tuple(tuple(order[start:start + length]) for start in range(0, len(order), length))


def _time_chain(calls: Sequence[Callable[[], Any]], runs: int, warmup: int,
                producers: Sequence[Callable[[], Any]] | None = None) -> list[float]:
    """Run ``calls`` one after another, ``warmup`` and then ``runs`` times, timing each call, each after its
    ``producers`` entry (untimed) where given; each call's median over the timed passes (ms)."""
    times: list[list[float]] = [[] for _ in calls]
    before = producers if producers is not None else [_nothing] * len(calls)
    for index in range(warmup + runs):
        for call, measured, produce in zip(calls, times, before, strict=True):
            produce()
            started = time.perf_counter()
            call()
            if index >= warmup:
                measured.append((time.perf_counter() - started) * 1e3)
    return [statistics.median(measured) for measured in times]


def _nothing() -> None:
    pass


@dataclasses.dataclass(frozen=True)
class _Timing:
    """One round of a benchmark: the median ms of its calls, and the probe ms around its chain's passes."""

    median_ms: float
    probe_ms: float


def _unsettled(timings: list[list[_Timing]], quietest_ms: float | None = None) -> list[int]:
    """The benchmarks (indices) none of whose rounds met a quiet machine: in each, the probe ran more than
    :data:`~convcost.analyzer.quiet.QUIET_SLOWDOWN` times as slow as its
    :data:`~convcost.analyzer.quiet.QUIET_QUANTILE` over every round of the fit, or as ``quietest_ms`` (ms; the
    machine's quietest probe time, :mod:`convcost.analyzer.quiet_floor`) where that is lower. The probes run just
    before and after the chain's passes (a fraction of a second to a few seconds), so a burst of other work that
    outlasts those passes meets one of them; a shorter one between them goes unseen."""
    probes = [timing.probe_ms for measured in timings for timing in measured]
    if not probes:
        return []
    quantile = quiet_quantile(probes)
    gate = QuietGate(min(quantile, quietest_ms) if quietest_ms is not None else quantile)
    return [index for index, measured in enumerate(timings)
            if not gate.admits(min(timing.probe_ms for timing in measured))]


def _counts(bench: MicroBench, module: nn.Module) -> LayerSample:
    """``bench``'s counts on ``module`` (built from it), its time not yet measured (0)."""
    analysis = analyze(module, bench.inputs)
    (record,) = [layer for layer in analysis.layers if layer.name == ""]
    calls = sum(layer.calls for layer in analysis.layers)  # the root's and any child's
    return LayerSample(bench.kernel_class, bench.label, sum(op.calls for op in record.ops.values()), calls,
                       record.flops, bytes_moved(record, 4), 0.0, conv_library(record))


def module_call_ms(depth: int = 32, runs: int = 31) -> float:
    """What a module call that runs no kernel costs (ms): a container's forward, measured on ``depth`` nested
    ``nn.Sequential`` containers around an identity, per container."""
    nested: nn.Module = nn.Identity()
    for _ in range(depth):
        nested = nn.Sequential(nested)
    x = torch.zeros(1)
    identity = nn.Identity()
    return max(_median_ms(lambda: nested(x), runs, 3) - _median_ms(lambda: identity(x), runs, 3), 0.0) / depth


def _median_ms(work: Callable[[], Any], runs: int, warmup: int) -> float:
    """``work``'s median ms over ``runs`` calls after ``warmup``, called back to back."""
    (median_ms,) = _time_chain([work], runs, warmup)
    return median_ms
