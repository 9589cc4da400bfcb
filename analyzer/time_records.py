"""Records of measured and predicted time: a profile and its parts, the machine, a roofline, a prediction.

Plain data, as :mod:`.records` is for the counts: nothing here runs, hooks or times a model, and
importing it loads no torch (the command line's ``--device`` choices are :class:`Device`'s).
:mod:`.profiling` measures a :class:`Profile`, :mod:`.roofline` a :class:`Roofline`,
:mod:`.latency_model` predicts a :class:`LatencyPrediction` and :mod:`.timed` puts a measurement
and its prediction together (:class:`MeasuredTime`); each of those modules re-exports the records
it makes. Reports render these records and import them from here, never from the modules that
measure (``tests/test_layering.py``).
"""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .naming import StrEnum

if TYPE_CHECKING:
    from .conv_library import ConvLibrary
    from .kernel_class import KernelClass
    from .latency_model import LatencyModel

__all__ = [
    "MAX_SECONDS",
    "MIN_SECONDS",
    "PUBLISHED_DEVICES",
    "Bound",
    "Device",
    "LatencyPrediction",
    "LayerBound",
    "LayerPrediction",
    "LayerTime",
    "Machine",
    "MeasuredTime",
    "Profile",
    "PublishedDevice",
    "QuietRuns",
    "Roofline",
    "Spread",
]


class Bound(StrEnum):
    """What limits a layer under the roofline."""

    COMPUTE = "compute"
    MEMORY = "memory"


#: Least time (seconds) the timed forwards of a profile take by default: a burst of other work on a shared
#: machine lasts up to about a second, and a fast model's runs should not all fall inside one.
MIN_SECONDS = 2.0
#: Longest time (seconds) a profile with a quiet gate times by default, in all, to find its runs quiet ones.
MAX_SECONDS = 10.0

@dataclass(frozen=True)
class Roofline:
    """A device's peak compute and memory bandwidth.

    Attributes:
        peak_gflops: float32 GFLOP/s; bandwidth_gbs: GB/s (10⁹ bytes per second).
        device: what it describes (``cpu``, ``cuda``, or a published device's name).
        measured: True when measured here; False for a published figure (an estimate).
        source: how it was measured, or where the figures were published.
    """

    peak_gflops: float
    bandwidth_gbs: float
    device: str
    measured: bool
    source: str

    @property
    def ridge(self) -> float:
        """FLOPs per byte where the bound turns from memory to compute."""
        return self.peak_gflops / self.bandwidth_gbs

    def bound_ms(self, flops: int, nbytes: int) -> float:
        """The least time (ms) for ``flops`` FLOPs moving ``nbytes`` bytes."""
        return max(flops / self.peak_gflops, nbytes / self.bandwidth_gbs) / 1e6

    def bound(self, flops: int, nbytes: int) -> Bound:
        """Which of the two limits the time (compute on a tie)."""
        return Bound.COMPUTE if flops / self.peak_gflops >= nbytes / self.bandwidth_gbs else Bound.MEMORY


@dataclass(frozen=True)
class PublishedDevice:
    """A device's published float32 peak and memory bandwidth, with the source."""

    name: str
    peak_gflops: float
    bandwidth_gbs: float
    source: str

    @property
    def roofline(self) -> Roofline:
        """Its roofline, an estimate."""
        return Roofline(self.peak_gflops, self.bandwidth_gbs, self.name, False, self.source)


#: Published float32 peaks and memory bandwidths: the roofline estimates for devices not here.
PUBLISHED_DEVICES: tuple[PublishedDevice, ...] = (
    PublishedDevice("NVIDIA V100 SXM2", 15_700, 900, "NVIDIA Tesla V100 datasheet: 15.7 TFLOPS FP32, 900 GB/s HBM2"),
    PublishedDevice("NVIDIA A100 SXM 40GB", 19_500, 1_555,
                    "NVIDIA A100 datasheet: 19.5 TFLOPS FP32, 1,555 GB/s HBM2 (40 GB)"),
    PublishedDevice("NVIDIA H100 SXM", 67_000, 3_350, "NVIDIA H100 datasheet: 67 TFLOPS FP32, 3.35 TB/s HBM3"),
    PublishedDevice("NVIDIA T4", 8_100, 320, "NVIDIA T4 datasheet: 8.1 TFLOPS FP32, 320 GB/s GDDR6"),
    PublishedDevice("Raspberry Pi 4 (4x Cortex-A72)", 48, 12.8,
                    "Raspberry Pi 4 Model B datasheet: 4 Cortex-A72 cores at 1.5 GHz, LPDDR4-3200 (32-bit bus: "
                    "12.8 GB/s); Arm Cortex-A72 Software Optimization Guide: two 64-bit FP/ASIMD pipes with fused "
                    "multiply-add, 8 FP32 FLOP per cycle per core (4 x 1.5 GHz x 8 = 48 GFLOP/s)"),
)


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
        import torch

        return cls(_processor(device), os.cpu_count() or 1, threads, device, torch.__version__)


@dataclass(frozen=True)
class QuietRuns:
    """Which of a profile's runs met a quiet machine (:mod:`convcost.analyzer.quiet`).

    Attributes:
        reference_ms: the probe's time on this machine when quiet (ms), from the latency model's fit.
        limit_ms: the slowest probe of a quiet run (ms).
        probe: the probe's time around each run (ms; the slower of the probes just before and just after it),
            over every run.
        quiet_runs: runs whose probe was within the limit; busy_runs: the others.
        over_quiet_runs: whether the profile's figures are over the quiet runs only (False: too few of them, so
            over every run, slowed by other work).
    """

    reference_ms: float
    limit_ms: float
    probe: Spread
    quiet_runs: int
    busy_runs: int
    over_quiet_runs: bool

    @property
    def tally(self) -> str:
        """``quiet/all`` runs, with ``*`` when the figures are over every run: ``7/9``, ``1/9*``."""
        return f"{self.quiet_runs}/{self.quiet_runs + self.busy_runs}{'' if self.over_quiet_runs else '*'}"


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
        quiet: which runs met a quiet machine, when the profile was given a quiet gate (None: every run kept).
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
    quiet: QuietRuns | None = None

    @property
    def quiet_tally(self) -> str:
        """``quiet/all`` runs (:attr:`QuietRuns.tally`), or ``all`` when every run was kept (no quiet gate)."""
        return self.quiet.tally if self.quiet is not None else "all"

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


@dataclass(frozen=True)
class LayerPrediction:
    """One module's predicted time.

    Attributes:
        bound_ms: the least time the roofline allows; predicted_ms: the model's prediction (ms).
        library: the kernel library a convolution runs on (:mod:`~convcost.analyzer.conv_library`; None: not a
            convolution, or torch does not say), whose fit predicted it where the model has one.
    """

    name: str
    kernel_class: KernelClass
    flops: int
    bytes_moved: int
    bound_ms: float
    predicted_ms: float
    library: ConvLibrary | None = None


@dataclass(frozen=True)
class LatencyPrediction:
    """A network's predicted forward latency, from its counts alone."""

    model: str
    layers: tuple[LayerPrediction, ...]
    #: why the network is outside what the model was fitted on, so the figure is an extrapolation (empty: inside)
    caveats: tuple[str, ...] = ()

    @property
    def predicted_ms(self) -> float:
        """The whole forward (ms): its modules' predictions added."""
        return sum(layer.predicted_ms for layer in self.layers)

    def by_class(self) -> dict[KernelClass, float]:
        """Predicted ms per kernel class."""
        totals: dict[KernelClass, float] = {}
        for layer in self.layers:
            totals[layer.kernel_class] = totals.get(layer.kernel_class, 0.0) + layer.predicted_ms
        return totals


@dataclass(frozen=True)
class MeasuredTime:
    """A model's measured latency and the latency model's prediction of it.

    Attributes:
        profile: the measurement; prediction: from the counts alone (None when not asked for).
        latency_model: the fit the prediction used.
    """

    profile: Profile
    prediction: LatencyPrediction | None = None
    latency_model: LatencyModel | None = None

    @property
    def model(self) -> str:
        """The model's name."""
        return self.profile.model

    @property
    def prediction_error(self) -> float | None:
        """The prediction over the measured hook-free median, less 1 (+0.1: predicted 10% slower)."""
        if self.prediction is None or self.profile.latency.median_ms <= 0:
            return None
        return self.prediction.predicted_ms / self.profile.latency.median_ms - 1


def _processor(device: Device) -> str:
    if device is Device.CUDA:
        import torch

        return torch.cuda.get_device_name()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
