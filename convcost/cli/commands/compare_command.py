"""``convcost compare``: several models side by side."""

from __future__ import annotations

import argparse
from typing import Any

from convcost.analyzer import EngineName
from convcost.analyzer.engines import selection_choices
from convcost.reports.formats import ComparisonView

from ..arguments import resolution_or_native
from ..models import analyze_loaded, expand_models, input_for, load_model, published_frame, scaling_series
from ..output import add_output_options, emit, progress, renderer


def run(args: argparse.Namespace) -> int:
    """Analyse every model and render the comparison."""
    names = expand_models(args.models)
    analyses = []
    for name in progress(names, len(names), "analyzing", quiet=args.quiet):
        model = load_model(name)
        analyses.append(analyze_loaded(model, input_for(model, args.resolution), args.engine))
    view = ComparisonView(analyses, published_frame([n for n in names if ":" not in n]), scaling_series())
    emit(renderer(args).comparison(view), args, f"{len(analyses)} models")
    return 0


def register(commands: Any) -> None:
    """Add ``compare``."""
    parser = commands.add_parser("compare", help="several models side by side",
                                 description="Whole-model figures and a per-stage breakdown, side by side. "
                                             "MODEL also takes ranges (efficientnet_b0..b7) and shell patterns.")
    parser.add_argument("models", nargs="+", metavar="MODEL", help="models, ranges or patterns")
    parser.add_argument("--resolution", type=resolution_or_native, default=None, metavar="native|N",
                        help="input side in pixels for every model (default: native)")
    parser.add_argument("--engine", choices=selection_choices(), default=EngineName.DISPATCH.value,
                        help="counting engine (default: dispatch)")
    add_output_options(parser)
    parser.set_defaults(run=run)
