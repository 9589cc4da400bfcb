"""Latency predicted from counts alone: the roofline corrected per kernel class, fitted on single layers.

A layer of kernel class ``c`` (:mod:`convcost.analyzer.kernel_class`) that makes ``n`` module
calls and ``k`` operator calls, does ``F`` FLOPs and moves ``B`` bytes
(:func:`~convcost.analyzer.traffic.bytes_moved`) is predicted to take

    n · call_ms  +  k · op_ms[c]  +  F / (peak · compute_efficiency[c])  +  B / (bandwidth · memory_efficiency[c])

milliseconds: the roofline's compute and memory times (``peak`` GFLOP/s and ``bandwidth`` GB/s of
the machine, :mod:`convcost.analyzer.roofline`), each at the fraction of the roofline this class
of kernel reaches here, plus a fixed cost per operator and per module call (dispatch, Python).
The two terms add rather than overlap: on a CPU a kernel seldom hides its memory traffic behind
its arithmetic. A network's prediction is the sum over its modules, containers' own operators
(a residual add, a squeeze-excite's scale) included, so no run of the network is needed.

A convolution class whose micro-benchmarks run on more than one kernel library (oneDNN or torch's native kernels,
:mod:`convcost.analyzer.conv_library`: torch picks by shape and thread count) is also fitted per library with
:data:`MIN_LIBRARY_SAMPLES` or more micro-benchmarks, and a layer is predicted by its library's fit where there is
one, else by its class's: here a 1x1 conv's fixed cost is 2.6-3.1x as high on oneDNN as natively.

``call_ms`` is measured on a chain of identity modules; each class's three figures are fitted by
non-negative least squares over the single-layer micro-benchmarks of :mod:`convcost.analyzer.microbench`
(a term the fit cannot use is dropped: its efficiency is then ``None``), each error taken relative to the
measured time. (Taken relative to the prediction and reweighted until the fit settles, as it was while each call
was timed after a block of other kernels, the fit comes out 6-15% higher on whole networks with the chains the
micro-benchmarks are timed in now, and predicted them 2-33% high; README.) :func:`machine_latency_model` fits once
per machine and thread count and caches the fit.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .allocator import allocator_mode
from .analysis import Analysis
from .conv_library import ConvLibrary, conv_library
from .kernel_class import KernelClass, layer_class
from .machine_cache import cache_folder, cached, machine_key
from .microbench import LayerSample, microbenchmark_digest, microbenchmarks, module_call_ms, run_microbenchmarks
from .quiet import Probe, QuietGate
from .quiet_floor import is_probe_time, is_stale, quietest_probe_ms, record_probe_ms
from .real_run import intra_op_threads
from .records import Execution, LayerRecord
from .time_records import LatencyPrediction, LayerPrediction, Roofline
from .traffic import bytes_moved

__all__ = ["FITTED_DTYPE", "MIN_LIBRARY_SAMPLES", "ClassFit", "LatencyModel", "LatencyPrediction", "LayerPrediction",
           "cache_key", "cache_path", "fit_latency_model", "machine_latency_model", "quiet_gate"]


#: How a class is fitted; change it with the fit, so that fits cached the old way are not reused.
FIT_METHOD = "non-negative least squares, errors relative to the measured time; convs also per library"
#: The fewest micro-benchmarks of one class on one kernel library that are fitted on their own.
MIN_LIBRARY_SAMPLES = 8
_log = logging.getLogger(__name__)
#: The dtype the micro-benchmarks run in: a prediction is made for float32 networks only.
FITTED_DTYPE = torch.float32


@dataclass(frozen=True)
class ClassFit:
    """One kernel class's fitted figures.

    Attributes:
        op_ms: fixed milliseconds per operator call.
        compute_efficiency, memory_efficiency: the fraction of the roofline's peak GFLOP/s and of its bandwidth
            this class reaches (None: the fit found no such term).
        samples: micro-benchmarks it was fitted on; median_error: their median absolute relative error.
        library: the kernel library of those micro-benchmarks (None: the class's whole set, every library).
    """

    kernel_class: KernelClass
    op_ms: float
    compute_efficiency: float | None
    memory_efficiency: float | None
    samples: int
    median_error: float
    library: ConvLibrary | None = None

    def layer_ms(self, roofline: Roofline, ops: int, flops: int, nbytes: int) -> float:
        """Predicted ms of ``ops`` operator calls doing ``flops`` FLOPs and moving ``nbytes`` bytes (no module call)."""
        return float(np.dot(self._coefficients(), _features(roofline, ops, flops, nbytes)))

    def _coefficients(self) -> np.ndarray:
        return np.array([self.op_ms, _inverse(self.compute_efficiency), _inverse(self.memory_efficiency)])


@dataclass(frozen=True)
class LatencyModel:
    """A machine's fitted latency model (see the module docstring).

    Attributes:
        roofline: the machine's roofline the efficiencies are fractions of.
        call_ms: what one module call costs (ms).
        classes: each kernel class's fit.
        threads: intra-op threads it was fitted with.
        quiet_probe_ms: the probe's time on the quiet machine the fit met (ms; :mod:`convcost.analyzer.quiet`), None
            when not measured.
        replaced_at_quietest_ms: when this fit replaced a stale one, the machine's quietest probe time then (ms;
            :mod:`convcost.analyzer.quiet_floor`); None for a first fit.
    """

    roofline: Roofline
    call_ms: float
    classes: tuple[ClassFit, ...]
    threads: int
    quiet_probe_ms: float | None = None
    replaced_at_quietest_ms: float | None = None

    @property
    def quiet_gate(self) -> QuietGate | None:
        """The gate a profile uses to time the same quiet machine as the fit (None: the fit kept no probe time)."""
        return QuietGate(self.quiet_probe_ms) if self.quiet_probe_ms else None

    @property
    def samples(self) -> int:
        """Micro-benchmarks the model was fitted on (each once, though a class's fit per library counts it again)."""
        return sum(fit.samples for fit in self.classes if fit.library is None)

    @functools.cached_property
    def _by_key(self) -> dict[tuple[KernelClass, ConvLibrary | None], ClassFit]:
        return {(fit.kernel_class, fit.library): fit for fit in self.classes}

    def fit(self, kernel_class: KernelClass, library: ConvLibrary | None = None) -> ClassFit:
        """``kernel_class``'s figures on ``library`` where fitted, else the class's (elementwise's for a class that
        had no micro-benchmark)."""
        found = self._by_key
        return (found.get((kernel_class, library)) or found.get((kernel_class, None))
                or found[(KernelClass.ELEMENTWISE, None)])

    def layer(self, record: LayerRecord, element_bytes: int) -> LayerPrediction:
        """``record``'s predicted time, its elements ``element_bytes`` wide."""
        with intra_op_threads(self.threads):  # the library torch picks depends on them
            return self._layer(record, element_bytes)

    def predict(self, analysis: Analysis) -> LatencyPrediction:
        """``analysis``'s network's predicted forward latency: every module's prediction.

        Raises:
            ValueError: the analysis is not in float32, the dtype the model was fitted in.
        """
        if analysis.dtype != str(FITTED_DTYPE).removeprefix("torch."):
            raise ValueError(f"the latency model is fitted in float32; cannot predict a {analysis.dtype} network")
        element_bytes = _element_bytes(analysis.dtype)
        with intra_op_threads(self.threads):
            layers = tuple(self._layer(record, element_bytes) for record in analysis.layers if record.calls)
        return LatencyPrediction(analysis.model, layers, prediction_caveats(analysis))

    def _layer(self, record: LayerRecord, element_bytes: int) -> LayerPrediction:
        """:meth:`layer`, with the model's intra-op threads already set."""
        kernel, library = layer_class(record), conv_library(record)
        moved = bytes_moved(record, element_bytes)
        ops = sum(op.calls for op in record.ops.values())
        predicted = record.calls * self.call_ms + self.fit(kernel, library).layer_ms(self.roofline, ops, record.flops,
                                                                                     moved)
        return LayerPrediction(record.name, kernel, record.flops, moved,
                               self.roofline.bound_ms(record.flops, moved), predicted, library)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (:meth:`from_dict` reads it back)."""
        return {"roofline": asdict(self.roofline), "call_ms": self.call_ms, "threads": self.threads,
                "quiet_probe_ms": self.quiet_probe_ms, "replaced_at_quietest_ms": self.replaced_at_quietest_ms,
                "classes": [{**asdict(fit), "kernel_class": fit.kernel_class.value,
                             "library": fit.library.value if fit.library else None} for fit in self.classes]}

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> LatencyModel:
        """The model :meth:`to_dict` wrote."""
        classes = tuple(ClassFit(**{**fit, "kernel_class": KernelClass(fit["kernel_class"]),
                                    "library": ConvLibrary(fit["library"]) if fit.get("library") else None})
                        for fit in entry["classes"])
        quiet, replaced_at = entry["quiet_probe_ms"], entry.get("replaced_at_quietest_ms")
        for probe_ms in (quiet, replaced_at):
            if probe_ms is not None and not float(probe_ms) > 0:
                raise ValueError(f"a probe time above 0 ms, not {probe_ms}")
        return cls(Roofline(**entry["roofline"]), float(entry["call_ms"]), classes, int(entry["threads"]),
                   float(quiet) if quiet is not None else None,
                   float(replaced_at) if replaced_at is not None else None)


def quiet_gate(model: LatencyModel | None) -> QuietGate | None:
    """``model``'s quiet gate (:attr:`LatencyModel.quiet_gate`); None without a model."""
    return model.quiet_gate if model is not None else None


def prediction_caveats(analysis: Analysis) -> tuple[str, ...]:
    """Why a prediction for ``analysis`` is outside what the model is fitted on (single layers of each kernel
    class on fixed shapes): a data-dependent forward, operators with no formula."""
    caveats = []
    if analysis.execution is Execution.REAL:
        caveats.append("the forward is data-dependent (it could only run on real tensors): its data-dependent "
                       "operators (indexing, sorting, box and mask logic) are outside the single-layer "
                       "micro-benchmarks the model is fitted on")
    unsupported = analysis.unsupported_ops()
    if unsupported:
        caveats.append(f"{sum(unsupported.values())} calls of operators with no formula ({', '.join(unsupported)}) "
                       "have no FLOPs or bytes to predict from")
    return tuple(caveats)


def fit_latency_model(samples: Sequence[LayerSample], roofline: Roofline, call_ms: float, threads: int,
                      quiet_probe_ms: float | None = None) -> LatencyModel:
    """Fit each kernel class of ``samples`` (see the module docstring); ``quiet_probe_ms``: the quiet probe time
    the micro-benchmarks met (:class:`~convcost.analyzer.microbench.MicroBenchRun`), kept with the fit.

    Raises:
        ValueError: no sample of the elementwise class (every other class falls back on it).
    """
    by_class: dict[KernelClass, list[LayerSample]] = {}
    for sample in samples:
        by_class.setdefault(sample.kernel_class, []).append(sample)
    if KernelClass.ELEMENTWISE not in by_class:
        raise ValueError("the latency model needs elementwise micro-benchmarks: every other class falls back on them")
    fits = []
    for kernel in KernelClass:
        found = by_class.get(kernel, [])
        if found:
            fits.append(_fit_class(kernel, found, roofline, call_ms))
        by_library: dict[ConvLibrary, list[LayerSample]] = {}
        for sample in found:
            if sample.library is not None:
                by_library.setdefault(sample.library, []).append(sample)
        if len(by_library) > 1:
            fits += [_fit_class(kernel, on, roofline, call_ms, library) for library, on in by_library.items()
                     if len(on) >= MIN_LIBRARY_SAMPLES]
    return LatencyModel(roofline, call_ms, tuple(fits), threads, quiet_probe_ms)


def machine_latency_model(roofline: Roofline, threads: int, processor: str, *, cache: Path | None = None,
                          fit: Callable[[], LatencyModel] | None = None, probe: Callable[[], float] | None = None,
                          floor_cache: Path | None = None, refit_stale: bool = True) -> LatencyModel:
    """This machine's latency model with ``threads`` intra-op threads: from the cache
    (``latency_model.json`` in :func:`~convcost.analyzer.machine_cache.cache_folder`) when it holds this machine,
    thread count, torch version and micro-benchmark set, else fitted (by ``fit``, default: the micro-benchmarks
    run here) and written to it.

    With ``refit_stale``, a cached fit made in a slow spell (:func:`~convcost.analyzer.quiet_floor.is_stale` against
    the quietest probe time recorded here, :mod:`convcost.analyzer.quiet_floor`) is fitted again if ``probe``
    (default: a :class:`~convcost.analyzer.quiet.Probe` of the machine now) finds the machine quiet, and kept, with a
    warning logged, if not. A fit that replaced a stale one is not replaced again until the quietest has fallen by
    :data:`~convcost.analyzer.quiet_floor.STALE_SLOWDOWN` since, so a machine whose fits all come out slow is not
    fitted again on every read. A fit made here in a slow spell is kept, with a warning logged. Every fit's probe time
    is recorded in the floor (``floor_cache``, default :func:`~convcost.analyzer.quiet_floor.cache_path`)."""
    def measure() -> LatencyModel:
        run = run_microbenchmarks(microbenchmarks(), threads=threads,
                                  quietest_ms=quietest_probe_ms(processor, threads, cache=floor_cache))
        return fit_latency_model(run.samples, roofline, module_call_ms(), threads, run.quiet_probe_ms)

    replacing: list[float] = []  # the quietest probe time, when a stale fit is being replaced

    def keep(found: LatencyModel) -> bool:
        quietest = quietest_probe_ms(processor, threads, cache=floor_cache)
        if not refit_stale or not is_stale(found.quiet_probe_ms, quietest):
            return True
        if found.replaced_at_quietest_ms is not None and not is_stale(found.replaced_at_quietest_ms, quietest):
            return True  # already fitted again against about this quietest
        with torch.no_grad(), intra_op_threads(threads):
            now_ms = (probe or Probe())()
        quietest = record_probe_ms(processor, threads, now_ms, cache=floor_cache)
        quiet_now = QuietGate(quietest).admits(now_ms)
        (_log.info if quiet_now else _log.warning)(
            "the cached latency model was fitted while the probe took %.3f ms, %.2fx this machine's quietest "
            "(%.3f ms): %s", found.quiet_probe_ms, (found.quiet_probe_ms or 0.0) / quietest, quietest,
            "the machine is quiet now, so it is fitted again" if quiet_now else
            f"kept, as the machine is busy now (the probe took {now_ms:.3f} ms); its predictions may run high")
        if quiet_now:
            replacing.append(quietest)
        return not quiet_now

    fitted: list[LatencyModel] = []

    def fit_here() -> LatencyModel:
        made = (fit or measure)()
        fitted.append(replace(made, replaced_at_quietest_ms=replacing[-1]) if replacing else made)
        return fitted[-1]

    model = cached(cache if cache is not None else cache_path(), cache_key(roofline, threads, processor),
                   fit_here, LatencyModel.from_dict, LatencyModel.to_dict, keep)
    quietest = quietest_probe_ms(processor, threads, cache=floor_cache)
    if fitted and quietest is not None and is_stale(model.quiet_probe_ms, quietest):
        _log.warning("the latency model was fitted while the probe took %.3f ms, %.2fx this machine's quietest "
                     "(%.3f ms): its predictions may run high%s", model.quiet_probe_ms,
                     (model.quiet_probe_ms or 0.0) / quietest, quietest,
                     "" if replacing else "; it is fitted again when the machine is found quiet")
    if is_probe_time(model.quiet_probe_ms):
        record_probe_ms(processor, threads, model.quiet_probe_ms, cache=floor_cache)
    return model


def cache_path() -> Path:
    """Where fitted latency models are kept: ``latency_model.json`` in the cache folder."""
    return cache_folder() / "latency_model.json"


def cache_key(roofline: Roofline, threads: int, processor: str) -> str:
    """The cache key of a fit: the machine, threads, torch version, the micro-benchmark set, the roofline, how the
    fit is made and the allocator mode (:mod:`~convcost.analyzer.allocator`: a fit is only good for timings under
    the same one)."""
    return machine_key(processor, threads, roofline.device, f"micro-benchmarks {microbenchmark_digest()}",
                       f"{roofline.peak_gflops:.6g} GFLOP/s {roofline.bandwidth_gbs:.6g} GB/s",
                       f"fit: {FIT_METHOD}", f"allocator {allocator_mode()}")


def _fit_class(kernel: KernelClass, samples: list[LayerSample], roofline: Roofline, call_ms: float,
               library: ConvLibrary | None = None) -> ClassFit:
    features = np.array([_features(roofline, s.ops, s.flops, s.bytes_moved) for s in samples])
    calls_ms = call_ms * np.array([s.calls for s in samples])
    measured = np.array([s.measured_ms for s in samples])
    target = np.maximum(measured - calls_ms, 0.0)
    coefficients = _nonnegative_least_squares(features / measured[:, None], target / measured)
    errors = np.abs(features @ coefficients + calls_ms - measured) / measured
    return ClassFit(kernel, float(coefficients[0]), _efficiency(coefficients[1]), _efficiency(coefficients[2]),
                    len(samples), float(np.median(errors)), library)


def _nonnegative_least_squares(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The x ≥ 0 minimising ‖a·x − b‖: the best least-squares solution over every subset of columns whose
    solution is non-negative (three columns: eight subsets)."""
    best, best_residual = np.zeros(a.shape[1]), float(np.sum(b**2))
    for size in range(1, a.shape[1] + 1):
        for columns in itertools.combinations(range(a.shape[1]), size):
            solution, *_ = np.linalg.lstsq(a[:, columns], b, rcond=None)
            if np.any(solution < 0):
                continue
            residual = float(np.sum((a[:, columns] @ solution - b) ** 2))
            if residual < best_residual:
                best, best_residual = np.zeros(a.shape[1]), residual
                best[list(columns)] = solution
    return best


def _features(roofline: Roofline, ops: int, flops: int, nbytes: int) -> np.ndarray:
    """Operator calls, ms at peak compute, ms at full bandwidth."""
    return np.array([ops, flops / roofline.peak_gflops / 1e6, nbytes / roofline.bandwidth_gbs / 1e6])


def _efficiency(slowdown: float) -> float | None:
    return 1 / slowdown if slowdown > 0 else None


def _inverse(efficiency: float | None) -> float:
    return 1 / efficiency if efficiency else 0.0


def _element_bytes(dtype: str) -> int:
    found = getattr(torch, dtype.removeprefix("torch."), None)
    if not isinstance(found, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}")
    return torch.empty((), dtype=found).element_size()
