"""The fused study's timing: both block kinds of each stage of a staged network, on real CPU tensors.

Apart from the counting and the report (:mod:`convcost.studies.fused`), this module imports only
torch and the architectures, so a fresh worker process that runs the timing alone stays small:
no plotting or table library sits in the memory it measures in. See :mod:`convcost.studies.fused`
for how a stage is timed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
from torch import nn

from convcost.architectures import BlockStage, NetOptions, StagedConvNet, build_stage, create_model, model_info
from convcost.architectures.layers import strided_size
from convcost.architectures.specs import BlockKind

__all__ = [
    "DEFAULT_RUNS",
    "FUSED_MODEL",
    "SWAP",
    "FusedJob",
    "StageTiming",
    "StageTimings",
    "Swap",
    "measure_latency",
    "stage_input_sizes",
    "staged_network",
    "swapped",
    "time_stages",
    "time_study",
]

#: The network of the study (at its native 384 px).
FUSED_MODEL = "efficientnet_v2_s"
#: Timed passes per stage variant when the caller does not say.
DEFAULT_RUNS = 5


class Swap(NamedTuple):
    """What a stage of one block kind is rebuilt as: the other kind, with the SE ratio EfficientNetV2 gives it."""

    block: BlockKind
    se_ratio: float


#: Block kind → its rebuild.
SWAP: dict[BlockKind, Swap] = {"fused": Swap("mbconv", 0.25), "mbconv": Swap("fused", 0.0)}


def swapped(stage: BlockStage) -> BlockStage:
    """``stage`` with Fused-MBConv and MBConv exchanged, SE as EfficientNetV2 uses it (see :data:`SWAP`).

    Raises:
        ValueError: the stage is neither ``fused`` nor ``mbconv``.
    """
    if stage.block not in SWAP:
        raise ValueError(f"only {' and '.join(SWAP)} stages can be swapped; got {stage.block!r}")
    rebuild = SWAP[stage.block]
    return replace(stage, block=rebuild.block, se_ratio=rebuild.se_ratio)


def stage_input_sizes(net: StagedConvNet, resolution: int) -> list[tuple[int, int]]:
    """``(H, W)`` entering each stage of ``net`` on a ``resolution``² image."""
    size = strided_size((resolution, resolution), net.options.stem_stride)
    sizes = []
    for stage in net.spec.stages:
        sizes.append(size)
        size = strided_size(size, stage.stride)
    return sizes


def staged_network(model: str, resolution: int | None) -> tuple[int, StagedConvNet]:
    """The input side (default native) and ``model`` built on ``meta`` for that side.

    Raises:
        ValueError: ``model`` is not built from a stage table.
    """
    info = model_info(model)
    side = resolution or info.resolution
    net = create_model(model, device="meta", **({"image_size": side} if "image_size" in info.overrides else {}))
    if not isinstance(net, StagedConvNet):
        raise ValueError(f"{model} is not built from a stage table; the fused study needs one")
    return side, net


def measure_latency(
    cases: Sequence[tuple[nn.Module, torch.Tensor]], runs: int, warmup: int = 1
) -> tuple[tuple[float, ...], ...]:
    """Seconds of ``runs`` forward passes of each ``(module, example)``, eval mode, no grad.

    The cases are run in alternation, one pass each per round, so that load from elsewhere
    on the machine falls on all of them alike. Training flags are restored afterwards.

    Returns:
        One tuple of ``runs`` durations per case, in the order given.

    Raises:
        ValueError: ``runs`` < 1 or ``warmup`` < 0.
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs must be >= 1 and warmup >= 0; got runs={runs}, warmup={warmup}")
    flags = [module.training for module, _ in cases]
    times: list[list[float]] = [[] for _ in cases]
    try:
        for module, _ in cases:
            module.eval()
        with torch.no_grad():
            for round_ in range(warmup + runs):
                for index, (module, example) in enumerate(cases):
                    start = time.perf_counter()
                    module(example)
                    if round_ >= warmup:
                        times[index].append(time.perf_counter() - start)
    finally:
        for (module, _), training in zip(cases, flags, strict=True):
            module.train(training)
    return tuple(tuple(durations) for durations in times)


def time_stages(
    stages: Sequence[BlockStage], options: NetOptions, input_size: tuple[int, int], *, batch: int = 1,
    runs: int = 5, warmup: int = 1, seed: int = 0,
) -> tuple[tuple[float, ...], ...]:
    """Time stages that take the same input (variants of one stage) on real float32 CPU tensors, in alternation.

    Each pass of a stage is its first block plus ``repeats − 1`` times its repeated block (see the module
    docstring). Weights keep PyTorch's default initialisation; the input is normal noise from ``seed``.
    """
    generator = torch.Generator().manual_seed(seed)
    example = torch.randn((batch, stages[0].in_channels, *input_size), generator=generator)
    cases: list[tuple[nn.Module, torch.Tensor]] = []
    for stage in stages:
        first = build_stage(replace(stage, repeats=1), options, input_size)
        cases.append((first.blocks, example))
        if stage.repeats > 1:
            repeated = replace(stage, stride=1, in_channels=stage.out_channels, repeats=1)
            example_out = torch.randn((batch, stage.out_channels, *first.output_size), generator=generator)
            cases.append((build_stage(repeated, options, first.output_size).blocks, example_out))
    times = iter(measure_latency(cases, runs, warmup))
    stage_times = []
    for stage in stages:
        first_times = next(times)
        repeat_times = next(times) if stage.repeats > 1 else (0.0,) * runs
        stage_times.append(tuple(head + (stage.repeats - 1) * tail
                                 for head, tail in zip(first_times, repeat_times, strict=True)))
    return tuple(stage_times)


@dataclass(frozen=True)
class StageTiming:
    """Measured passes of one stage variant: ``latency_runs`` in seconds."""

    stage: int
    as_built: bool
    latency_runs: tuple[float, ...]


@dataclass(frozen=True)
class StageTimings:
    """Every timed stage variant of a network, and how the timing ran (see :func:`time_study`)."""

    runs: int
    warmup: int
    threads: int
    timings: tuple[StageTiming, ...]


def time_study(model: str, resolution: int, stages: Sequence[int], *, batch: int = 1, runs: int = DEFAULT_RUNS,
               warmup: int = 1) -> StageTimings:
    """Time both variants of each of ``stages`` of ``model`` at ``resolution`` (see the module docstring).

    This runs real tensor arithmetic: the main report runs it as an isolated job (alone, after
    every other job has finished), never beside other work or inside a renderer.

    Raises:
        ValueError: ``runs`` < 1 or ``warmup`` < 0.
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs must be >= 1 and warmup >= 0; got runs={runs}, warmup={warmup}")
    _, net = staged_network(model, resolution)
    sizes = stage_input_sizes(net, resolution)
    timings = []
    for index in stages:
        variants = (net.spec.stages[index], swapped(net.spec.stages[index]))
        latency = time_stages(variants, net.options, sizes[index], batch=batch, runs=runs, warmup=warmup,
                              seed=index)
        timings += [StageTiming(index, True, latency[0]), StageTiming(index, False, latency[1])]
    return StageTimings(runs, warmup, torch.get_num_threads(), tuple(timings))


@dataclass(frozen=True)
class FusedJob:
    """The fused study's settings, and its timing job (:func:`time_study`), run alone when ``runs`` > 0
    (the counts are another job's, :class:`~convcost.studies.fused.FusedCountJob`).

    Attributes:
        stages: stage indices, None for all.
    """

    model: str = FUSED_MODEL
    runs: int = DEFAULT_RUNS
    warmup: int = 1
    stages: tuple[int, ...] | None = None

    @property
    def isolated(self) -> bool:
        """Timing runs real arithmetic: alone, so other work does not disturb it."""
        return self.runs > 0

    def run(self) -> StageTimings:
        """:func:`time_study` of the chosen stages at the model's native resolution."""
        side, net = staged_network(self.model, None)
        indices = range(len(net.spec.stages)) if self.stages is None else self.stages
        return time_study(self.model, side, list(indices), runs=self.runs, warmup=self.warmup)
