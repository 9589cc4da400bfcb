"""``convcost plan``: training memory of any model by batch size, and the largest batch within a budget."""

from __future__ import annotations

import argparse

from convcost.studies.arguments import batch_sizes, byte_size
from convcost.studies.training import DEFAULT_BATCHES, OPTIMIZER_STATES

from ..arguments import add_model_options
from ..command import Command
from ..errors import UsageError
from ..output import add_output_options, emit, renderer


def run(args: argparse.Namespace) -> int:
    """Plan the model and render the plan."""
    import torch

    from convcost.studies.plan import PlanModel, plan_section, training_plan

    from ..models import input_for, model_from

    if args.batch is not None:
        raise UsageError("plan tabulates batch sizes itself: give --batches LIST instead of --batch")
    model = model_from(args)
    inputs = input_for(model, args.resolution, args.input)
    if any(item.dtype is not None for item in inputs):
        raise UsageError("plan measures floating inputs of --dtype: give --input shapes without a :dtype")
    target = PlanModel.of_shapes(model.name, model.module, [item.shape for item in inputs])
    dtype = getattr(torch, args.dtype or "float32")
    if args.allowance is not None and not args.exact:
        raise UsageError("--allowance is added to the exact training step: add --exact")
    plan = training_plan(target, optimizer=args.optimizer, batches=args.batches, budget=args.budget, dtype=dtype,
                         exact=args.exact, allowance=args.allowance)
    section = plan_section([plan])
    emit(renderer(args).section(section), args, section.title)
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """The model and its input, the budget, the optimizer, the batch sizes and the output."""
    add_model_options(parser)
    parser.add_argument("--budget", type=byte_size, metavar="SIZE",
                        help="memory budget such as 16GiB, 512MiB or 8GB (binary units are powers of 1024)")
    parser.add_argument("--optimizer", choices=list(OPTIMIZER_STATES), default="sgd",
                        help="; ".join(f"{name} ({states} state tensor{'s' * (states > 1)} per parameter)"
                                       for name, states in OPTIMIZER_STATES.items()) + " (default: sgd)")
    parser.add_argument("--exact", action="store_true",
                        help="also count each batch's training step exactly (train-mode forward and backward on meta "
                             "tensors, gradients and optimizer state) and find the largest batch by it (slower)")
    parser.add_argument("--allowance", type=byte_size, metavar="SIZE",
                        help="with --exact: bytes the device adds, such as 600MiB for a CUDA context and allocator "
                             "rounding (default: none)")
    parser.add_argument("--batches", type=batch_sizes, default=DEFAULT_BATCHES, metavar="LIST",
                        help=f"batch sizes to tabulate (default: {','.join(map(str, DEFAULT_BATCHES))})")
    add_output_options(parser)
    parser.set_defaults(run=run)


COMMAND = Command("plan", "training memory against batch size, and the largest batch that fits",
                  "Weights, gradients, optimizer state and saved activations of one training step of any model, "
                  "by batch size, and the largest batch within a memory budget. The batch is the first size of "
                  "every input.", configure)
