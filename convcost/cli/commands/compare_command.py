"""``convcost compare``: several models side by side."""

from __future__ import annotations

import argparse

from convcost.analyzer.engines.names import EngineName, engine_choices

from ..arguments import FLOAT_DTYPES, add_training_options, positive_int, resolution_or_native, training_optimizer
from ..command import Command
from ..output import add_output_options, emit, progress, renderer


def run(args: argparse.Namespace) -> int:
    """Analyse every model and render the comparison."""
    from convcost.reports.formats import ComparisonView

    from ..models import analyze_loaded, expand_models, input_for, load_model, published_frame, scaling_series

    optimizer = training_optimizer(args)
    names = expand_models(args.models)
    analyses = []
    for name in progress(names, len(names), "analyzing", quiet=args.quiet):
        model = load_model(name)
        analyses.append(analyze_loaded(model, input_for(model, args.resolution, batch=args.batch), args.engine,
                                       args.dtype, training=args.train, optimizer=optimizer))
    view = ComparisonView(analyses, published_frame([n for n in names if ":" not in n]), scaling_series())
    emit(renderer(args).comparison(view), args, f"{len(analyses)} models")
    return 0


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
    add_output_options(parser)
    parser.set_defaults(run=run)


COMMAND = Command("compare", "several models side by side",
                  "Whole-model figures and a per-stage breakdown, side by side. MODEL also takes ranges "
                  "(efficientnet_b0..b7) and shell patterns.", configure)
