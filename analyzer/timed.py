"""A model's measured time and its predicted time together, on this machine.

:func:`measure_time` profiles a model (:func:`~convcost.analyzer.profiling.profile`) with this
machine's roofline, and predicts the same forward from the counts alone with this machine's
latency model (:mod:`convcost.analyzer.latency_model`); both are measured once per machine and
thread count and then read from the cache (:mod:`convcost.analyzer.machine_cache`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .analysis import Analysis
from .latency_model import FITTED_DTYPE, LatencyModel, LatencyPrediction, machine_latency_model
from .measure import analyze
from .profiling import Device, Machine, Profile, profile
from .real_run import intra_op_threads
from .roofline import Roofline, machine_roofline

__all__ = ["MeasuredTime", "machine_models", "measure_time"]


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


def machine_models(threads: int | None = None, *, predict: bool = True) -> tuple[Roofline, LatencyModel | None]:
    """This machine's CPU roofline and latency model with ``threads`` intra-op threads (default: torch's),
    from the cache or measured."""
    with intra_op_threads(threads) as used:
        processor = Machine.here(Device.CPU, used).processor
        roofline = machine_roofline(Device.CPU.value, used, processor)
        return roofline, machine_latency_model(roofline, used, processor) if predict else None


def measure_time(model: nn.Module, input_shape: Any, *, runs: int = 20, warmup: int = 3, threads: int | None = None,
                 dtype: torch.dtype = torch.float32, name: str | None = None, predict: bool = True,
                 analysis: Analysis | None = None) -> MeasuredTime:
    """Profile ``model`` on this machine's CPU against its roofline and, with ``predict`` and float32 (the dtype
    the latency model is fitted in), predict the same forward from its counts (arguments as
    :func:`~convcost.analyzer.profiling.profile`; ``analysis``: its counts on this input in ``dtype`` when already
    made)."""
    if analysis is None:
        analysis = analyze(model, input_shape, dtype=dtype, name=name)
    roofline, latency_model = machine_models(threads, predict=predict and dtype == FITTED_DTYPE)
    measured = profile(model, input_shape, runs=runs, warmup=warmup, threads=threads, dtype=dtype, name=name,
                       roofline=roofline, analysis=analysis)
    prediction = latency_model.predict(analysis) if latency_model is not None else None
    return MeasuredTime(measured, prediction, latency_model)
