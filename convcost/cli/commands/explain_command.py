"""``convcost explain``: convcost's all-op FLOPs against another tool's total, operator by operator."""

from __future__ import annotations

import argparse

from convcost.analyzer.conventions import CONVENTIONS
from convcost.analyzer.engines.names import EngineName

from ..arguments import add_model_options
from ..command import Command
from ..output import add_output_options, emit, renderer


def run(args: argparse.Namespace) -> int:
    """Analyse the model (dispatch engine) and render the reconciliation."""
    from convcost.analyzer.conventions import convention_total, explain
    from convcost.reports.reconciliation import reconciliation_section

    from ..models import analyze_loaded, input_for, model_from

    model = model_from(args)
    inputs = input_for(model, args.resolution, args.input, args.batch)
    analysis = analyze_loaded(model, inputs, EngineName.DISPATCH, args.dtype)
    section = reconciliation_section(analysis, convention_total(analysis, args.vs), explain(analysis, args.vs))
    emit(renderer(args).section(section), args, section.title)
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """The model, its input, the other tool and the output."""
    add_model_options(parser)
    parser.add_argument("--vs", choices=[c.value for c in CONVENTIONS], required=True, metavar="TOOL",
                        help=f"the tool: {', '.join(CONVENTIONS)}")
    add_output_options(parser)
    parser.set_defaults(run=run)


COMMAND = Command("explain", "why another tool counts differently, operator by operator",
                  "convcost's all-op FLOPs against another tool's total, operator by operator, with the rule "
                  "that tool applies and the totals.", configure)
