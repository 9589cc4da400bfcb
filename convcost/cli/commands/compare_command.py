"""``convcost compare``: several models side by side."""

from __future__ import annotations

import argparse
from typing import Any

from convcost.analyzer.engines.names import EngineName, engine_choices

from ..arguments import FLOAT_DTYPES, add_training_options, positive_int, resolution_or_native, training_optimizer
from ..command import Command
from ..errors import UsageError
from ..output import add_output_options, emit, progress, renderer

#: Timed forwards per model of ``--latency`` (and untimed ones before them).
DEFAULT_RUNS = 10
DEFAULT_WARMUP = 2


def run(args: argparse.Namespace) -> int:
    """Analyse every model (and with ``--latency``, measure it) and render the comparison."""
    from convcost.reports.formats import ComparisonView
    from convcost.reports.profile_section import measured_summary

    from ..models import (
        analyze_loaded,
        example_inputs,
        expand_models,
        input_for,
        load_model,
        published_frame,
        scaling_series,
    )

    if args.runs is not None and not args.latency:
        raise UsageError("--runs counts the timed forwards of --latency; add --latency to measure latency")
    optimizer = training_optimizer(args)
    names = expand_models(args.models)
    analyses, times = [], []
    for name in progress(names, len(names), "analyzing", quiet=args.quiet):
        model = load_model(name)
        inputs = input_for(model, args.resolution, batch=args.batch)
        analysis = analyze_loaded(model, inputs, args.engine, args.dtype, training=args.train, optimizer=optimizer)
        analyses.append(analysis)
        if args.latency:
            times.append(_measured(model.module, example_inputs(inputs), analysis, args))
    measured = measured_summary(times) if args.latency else None
    view = ComparisonView(analyses, published_frame([n for n in names if ":" not in n]), scaling_series(),
                          measured=measured)
    emit(renderer(args).comparison(view), args, f"{len(analyses)} models")
    return 0


def _measured(module: Any, inputs: Any, analysis: Any, args: argparse.Namespace) -> Any:
    """The model's measured latency and its prediction (:func:`~convcost.analyzer.timed.measure_time`), on the
    counts of ``analysis`` when they are of its inference forward in float32."""
    import torch

    from convcost.analyzer.allocator import keep_freed_memory
    from convcost.analyzer.timed import measure_time

    keep_freed_memory()  # this command's process times: the fit and the measurement under one allocator
    dtype = getattr(torch, args.dtype or "float32")
    reusable = analysis if (analysis.training is None and analysis.engine == EngineName.DISPATCH
                            and analysis.dtype == str(dtype).removeprefix("torch.")) else None
    return measure_time(module, inputs, runs=args.runs or DEFAULT_RUNS, warmup=DEFAULT_WARMUP, dtype=dtype,
                        name=analysis.model, analysis=reusable)


def configure(parser: argparse.ArgumentParser) -> None:
    """The models, their input side, batch and dtype, the engine and the output."""
    parser.add_argument("models", nargs="+", metavar="MODEL", help="models, ranges or patterns")
    parser.add_argument("--resolution", type=resolution_or_native, default=None, metavar="native|N",
                        help="input side in pixels for every model (default: native)")
    parser.add_argument("--batch", type=positive_int, metavar="N", help="images per input (default: 1)")
    parser.add_argument("--dtype", choices=FLOAT_DTYPES, metavar="DTYPE",
                        help=f"dtype of weights, inputs and activations: {', '.join(FLOAT_DTYPES)} "
                             "(default: the model's own)")
    parser.add_argument("--engine", choices=engine_choices(), default=EngineName.DISPATCH.value,
                        help="counting engine (default: dispatch)")
    add_training_options(parser, freezing=False)
    parser.add_argument("--latency", action="store_true",
                        help="also measure each model's forward latency on this CPU (real tensors; median and "
                             "interquartile range of --runs forwards) and predict it from the counts alone")
    parser.add_argument("--runs", type=positive_int, default=None, metavar="N",
                        help=f"timed forwards per model with --latency (default: {DEFAULT_RUNS})")
    add_output_options(parser)
    parser.set_defaults(run=run)


COMMAND = Command("compare", "several models side by side",
                  "Whole-model figures and a per-stage breakdown, side by side. MODEL also takes ranges "
                  "(efficientnet_b0..b7) and shell patterns.", configure)
