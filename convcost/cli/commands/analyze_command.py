"""``convcost analyze``: per-layer costs of one model, optionally under another tool's convention."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from convcost.analyzer.conventions import CONVENTIONS
from convcost.analyzer.engines.names import EngineName, engine_choices

from ..arguments import add_model_options, add_training_options, depth, training_optimizer
from ..command import Command
from ..errors import UsageError
from ..output import add_output_options, emit, log, renderer

if TYPE_CHECKING:
    from convcost.analyzer import Analysis
    from convcost.analyzer.conventions import ConventionTotal


def run(args: argparse.Namespace) -> int:
    """Analyse the model and render it."""
    from convcost.analyzer.conventions import explain
    from convcost.reports.formats import AnalysisView, ConventionView, registered_renderers

    from ..models import analyze_loaded, apply_freezing, input_for, model_from

    chosen = renderer(args)
    if args.convention and not chosen.shows_convention:
        showing = ", ".join(r.format.value for r in registered_renderers() if r.shows_convention)
        raise UsageError(f"--convention is shown in {showing} output; {chosen.format} holds {chosen.holds}")
    optimizer = training_optimizer(args)
    model = model_from(args)
    apply_freezing(model.module, args.freeze, args.trainable)
    inputs = input_for(model, args.resolution, args.input, args.batch)
    log.info("analysing %s on input %s, engine %s", model.name,
             ", ".join("x".join(map(str, item.shape)) for item in inputs), args.engine)
    started = time.perf_counter()
    analysis = analyze_loaded(model, inputs, args.engine, args.dtype, training=args.train, optimizer=optimizer)
    log.info("counted in %.2f s on %s tensors %s", time.perf_counter() - started, analysis.execution,
             analysis.execution_reason)
    convention = (ConventionView(_convention_total(analysis, args.convention), explain(analysis, args.convention))
                  if args.convention else None)
    emit(chosen.analysis(AnalysisView(analysis, args.depth, convention, own=args.own, legend=args.legend)),
         args, f"{len(analysis.layers)} modules")
    return 0


def _convention_total(analysis: Analysis, tool: str) -> ConventionTotal:
    """``tool``'s total; with a training step, FlopCounterMode's counts its backward too (the only tool that
    counts one)."""
    from convcost.analyzer.conventions import Convention, convention_total, flopcounter_training_total

    if analysis.training is not None and tool == Convention.FLOPCOUNTER:
        return flopcounter_training_total(analysis)
    return convention_total(analysis, tool)


def configure(parser: argparse.ArgumentParser) -> None:
    """The model, its input, the engine, the table's shape and the output."""
    add_model_options(parser)
    parser.add_argument("--engine", choices=engine_choices(), default=EngineName.DISPATCH.value,
                        help="counting engine; all cross-checks every module's MACs, convolutions and matrix "
                             "products (attention included) (default: dispatch)")
    parser.add_argument("--depth", type=depth, default=3, metavar="N",
                        help="table only: show modules down to depth N (default: 3)")
    parser.add_argument("--own", action="store_true",
                        help="table only: each row shows its module's own costs, not its subtree's (rows add up)")
    parser.add_argument("--legend", action="store_true", help="table only: add the counting conventions")
    add_training_options(parser)
    parser.add_argument("--convention", choices=[c.value for c in CONVENTIONS], metavar="TOOL",
                        help=f"also give the total under TOOL's counting rules: {', '.join(CONVENTIONS)}")
    add_output_options(parser)
    parser.set_defaults(run=run)


COMMAND = Command("analyze", "per-layer costs of one model",
                  "Per-layer params, MACs, FLOPs and memory of one model.", configure)
