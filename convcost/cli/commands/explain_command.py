"""``convcost explain``: convcost's all-op FLOPs against another tool's total, operator by operator."""

from __future__ import annotations

import argparse
from typing import Any

from convcost.analyzer import EngineName
from convcost.analyzer.conventions import CONVENTIONS, convention_total, explain
from convcost.reports.reconciliation import reconciliation_section

from ..models import add_model_options, analyze_loaded, input_for, load_model
from ..output import add_output_options, emit, renderer


def run(args: argparse.Namespace) -> int:
    """Analyse the model (dispatch engine) and render the reconciliation."""
    model = load_model(args.model)
    analysis = analyze_loaded(model, input_for(model, args.resolution, args.input), EngineName.DISPATCH)
    section = reconciliation_section(analysis, convention_total(analysis, args.vs), explain(analysis, args.vs))
    emit(renderer(args).section(section), args, section.title)
    return 0


def register(commands: Any) -> None:
    """Add ``explain``."""
    parser = commands.add_parser("explain", help="why another tool counts differently, operator by operator",
                                 description="convcost's all-op FLOPs against another tool's total, operator by "
                                             "operator, with the rule that tool applies and the totals.")
    add_model_options(parser)
    parser.add_argument("--vs", choices=[c.value for c in CONVENTIONS], required=True, metavar="TOOL",
                        help=f"the tool: {', '.join(CONVENTIONS)}")
    add_output_options(parser)
    parser.set_defaults(run=run)
