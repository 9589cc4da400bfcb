"""``convcost plan``: training memory of any model by batch size, and the largest batch within a budget."""

from __future__ import annotations

import argparse

from convcost.studies.arguments import batch_sizes, byte_size
from convcost.studies.training import DEFAULT_BATCHES, OPTIMIZER_STATES

from ..arguments import add_freezing_options, add_model_options
from ..command import Command
from ..errors import UsageError
from ..output import add_output_options, emit, renderer


def run(args: argparse.Namespace) -> int:
    """Plan the model and render the plan."""
    import torch

    from convcost.studies.plan import PlanModel, plan_section, training_plan

    from ..models import apply_freezing, input_for, model_from

    if args.batch is not None:
        raise UsageError("plan tabulates batch sizes itself: give --batches LIST instead of --batch")
    model = model_from(args)
    apply_freezing(model.module, args.freeze, args.trainable)
    inputs = input_for(model, args.resolution, args.input)
    if any(item.dtype is not None for item in inputs):
        raise UsageError("plan measures floating inputs of --dtype: give --input shapes without a :dtype")
    target = PlanModel.of_shapes(model.name, model.module, [item.shape for item in inputs])
    dtype = getattr(torch, args.dtype or "float32")
    if args.exact and args.estimate:
        raise UsageError("--exact and --estimate exclude each other: the plan is exact unless --estimate is given")
    plan = training_plan(target, optimizer=args.optimizer, batches=args.batches, budget=args.budget, dtype=dtype,
                         exact=not args.estimate, allowance=args.allowance)
    section = plan_section([plan])
    emit(renderer(args).section(section), args, section.title)
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """The model and its input, the budget, the optimizer, the batch sizes and the output."""
    add_model_options(parser)
    parser.add_argument("--budget", type=byte_size, metavar="SIZE",
                        help="memory budget such as 16GiB, 512MiB or 8GB (binary units are powers of 1024)")
    add_freezing_options(parser)
    parser.add_argument("--optimizer", choices=list(OPTIMIZER_STATES), default="sgd",
                        help="; ".join(f"{name} ({states} state tensor{'s' * (states > 1)} per parameter)"
                                       for name, states in OPTIMIZER_STATES.items())
                             + " (default: sgd, which keeps a momentum buffer as SGD is trained)")
    parser.add_argument("--exact", action="store_true",
                        help="count each batch's training step exactly: train-mode forward and backward on meta "
                             "tensors, gradients and optimizer state (the default; kept for scripts)")
    parser.add_argument("--estimate", action="store_true",
                        help="plan with the quick eval-mode estimate alone (saved activations plus weights, "
                             "gradients and state), without counting the training step")
    parser.add_argument("--allowance", type=byte_size, metavar="SIZE",
                        help="bytes the device adds to every figure, such as 600MiB for a CUDA context, allocator "
                             "rounding and convolution workspaces (default: none)")
    parser.add_argument("--batches", type=batch_sizes, default=DEFAULT_BATCHES, metavar="LIST",
                        help=f"batch sizes to tabulate (default: {','.join(map(str, DEFAULT_BATCHES))})")
    add_output_options(parser)
    parser.set_defaults(run=run)


COMMAND = Command("plan", "training memory against batch size, and the largest batch that fits",
                  "The peak memory of one training step of any model (train-mode forward, backward, gradients, "
                  "optimizer state and parameters, counted exactly on meta tensors) by batch size, and the largest "
                  "batch within a memory budget. The batch is the first size of every input.", configure)
