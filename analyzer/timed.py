"""A model's measured time and its predicted time together, on this machine.

:func:`measure_time` profiles a model (:func:`~convcost.analyzer.profiling.profile`) with this
machine's roofline, and predicts the same forward from the counts alone with this machine's
latency model (:mod:`convcost.analyzer.latency_model`); both are measured once per machine and
thread count and then read from the cache (:mod:`convcost.analyzer.machine_cache`). The profile keeps
the runs that met the quiet machine the fit met (:mod:`convcost.analyzer.quiet`), when a fit is at hand.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .analysis import Analysis
from .latency_model import FITTED_DTYPE, LatencyModel, machine_latency_model, quiet_gate
from .measure import analyze
from .profiling import MAX_SECONDS, MIN_SECONDS, profile
from .real_run import intra_op_threads
from .roofline import Roofline, machine_roofline
from .time_records import Device, Machine, MeasuredTime

__all__ = ["MeasuredTime", "machine_models", "measure_time"]


def machine_models(threads: int | None = None, *, predict: bool = True,
                   refit_stale: bool = True) -> tuple[Roofline, LatencyModel | None]:
    """This machine's CPU roofline and latency model with ``threads`` intra-op threads (default: torch's),
    from the cache or measured; with ``refit_stale``, a cached fit made in a slow spell is fitted again on a quiet
    machine (:func:`~convcost.analyzer.latency_model.machine_latency_model`)."""
    with intra_op_threads(threads) as used:
        processor = Machine.here(Device.CPU, used).processor
        roofline = machine_roofline(Device.CPU.value, used, processor)
        return roofline, (machine_latency_model(roofline, used, processor, refit_stale=refit_stale) if predict
                          else None)


def measure_time(model: nn.Module, input_shape: Any, *, runs: int = 20, warmup: int = 3,
                 min_seconds: float = MIN_SECONDS, max_seconds: float = MAX_SECONDS, threads: int | None = None,
                 dtype: torch.dtype = torch.float32, name: str | None = None, predict: bool = True,
                 analysis: Analysis | None = None) -> MeasuredTime:
    """Profile ``model`` on this machine's CPU against its roofline and, with ``predict`` and float32 (the dtype
    the latency model is fitted in), predict the same forward from its counts (arguments as
    :func:`~convcost.analyzer.profiling.profile`; ``analysis``: its counts on this input in ``dtype`` when already
    made). With a latency model at hand, the profile waits for the quiet machine it was fitted on
    (:attr:`~convcost.analyzer.latency_model.LatencyModel.quiet_gate`), up to ``max_seconds``."""
    if analysis is None:
        analysis = analyze(model, input_shape, dtype=dtype, name=name)
    roofline, latency_model = machine_models(threads, predict=predict and dtype == FITTED_DTYPE)
    measured = profile(model, input_shape, runs=runs, warmup=warmup, min_seconds=min_seconds, threads=threads,
                       dtype=dtype, name=name, roofline=roofline, analysis=analysis,
                       quiet_gate=quiet_gate(latency_model),
                       max_seconds=max_seconds)
    prediction = latency_model.predict(analysis) if latency_model is not None else None
    return MeasuredTime(measured, prediction, latency_model)
