"""``convcost report``: every model at its native resolution and every study, as one report directory.

The models' analyses and the studies' jobs run together, each once, in worker processes; a
job that measures time runs afterwards, alone. Reports only render what arrives.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import importlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from convcost.analyzer.engines.names import ALL, EngineName, engine_choices

from ..arguments import positive_int
from ..command import Command
from ..errors import UsageError
from ..output import add_common_options, log, progress

if TYPE_CHECKING:
    from convcost.analyzer.parallel import FreshWorker
    from convcost.studies import Job

DEFAULT_REPORT_DIR = "convcost-report"


def study_list(text: str) -> tuple[str, ...]:
    """``all``, ``none`` or a comma-separated list of registered studies, returned in report order.

    Raises:
        UsageError: a name that is not a registered study (the message lists them).
    """
    from convcost.studies import study_names

    every = study_names()
    if text in ("all", "none"):
        return every if text == "all" else ()
    chosen = {name.strip() for name in text.split(",")}
    if not chosen <= set(every):
        raise UsageError(f"--studies {text!r}: give all, none or a comma-separated list of {', '.join(every)}")
    return tuple(name for name in every if name in chosen)


def _model_job(name: str, engine: str) -> Job:
    """The report's analysis of one model, with its training step: with the default engine, the very job the
    studies share."""
    from convcost.studies import AnalysisJob

    from ..models import RegistryAnalysis

    return AnalysisJob.of(name, training=True) if engine == EngineName.DISPATCH else RegistryAnalysis(name, engine)


def _stand_ins(names: list[str], engine: str) -> dict[Job, Job]:
    """Studies' native analyses (with or without the training step) that a model job of the report answers: its
    records are the dispatch engine's whenever that engine is primary (``dispatch``, or ``all`` with more engines
    beside it), and it counts the training step."""
    from convcost.analyzer.engines import parse_selection
    from convcost.studies import AnalysisJob

    if parse_selection(engine) not in (EngineName.DISPATCH, ALL):
        return {}
    return {job: _model_job(name, engine) for name in names
            for job in (AnalysisJob.of(name), AnalysisJob.of(name, training=True)) if job != _model_job(name, engine)}


def run(args: argparse.Namespace) -> int:
    """Analyse, run the studies, draw and write the directory, holding it from the start (a second run into it
    fails at once) and replacing it as a whole at the end.

    Studies' timings run in a fresh worker process, started first: it imports torch on the core that this
    process's imports leave idle, and the timings' real tensors never enter this process's memory (nor do
    this process's plotting and table libraries enter the timing's)."""
    from convcost.analyzer.parallel import FreshWorker

    warm_up = functools.partial(importlib.import_module, "convcost.architectures")  # torch, mostly
    with FreshWorker(warm_up) if args.studies != "none" else contextlib.nullcontext() as fresh:
        return _report(args, fresh)


def _report(args: argparse.Namespace, fresh: FreshWorker | None) -> int:
    from convcost import architectures
    from convcost.analyzer import Analysis
    from convcost.reports.build import write_report
    from convcost.reports.directory import report_directory
    from convcost.studies.suite import assemble, gather_jobs, report_runs, run_jobs

    from ..models import expand_models, published_frame, scaling_series

    gc.freeze()  # what is imported lives to the end: collections need not walk it (a second of CPU)
    started = time.perf_counter()
    studies = study_list(args.studies)
    names = expand_models([args.models])
    for name in names:
        architectures.model_info(name)  # unknown names fail here, before any work
    workers = args.jobs or os.cpu_count() or 1
    with report_directory(args.out) as staging:
        runs = report_runs(studies)
        model_jobs = [_model_job(name, args.engine) for name in names]
        stand_ins = _stand_ins(names, args.engine)
        jobs = list(dict.fromkeys([*model_jobs, *(stand_ins.get(job, job) for job in gather_jobs(runs))]))
        log.info("%d models, %d studies: %d jobs in %d workers", len(names), len(runs), len(jobs), workers)
        results = dict(progress(run_jobs(jobs, workers, fresh), len(jobs), "analyzing", unit="job",
                                quiet=args.quiet))
        if fresh is not None:
            fresh.close()
        log.info("jobs done at %.1f s", time.perf_counter() - started)
        results.update({job: results[model_job] for job, model_job in stand_ins.items()})
        analyses: list[Analysis] = [results[job] for job in model_jobs]
        sections = [outcome.section() for outcome in assemble(runs, results)]
        log.info("drawing and writing from %.1f s", time.perf_counter() - started)
        write_report(analyses, staging, published=published_frame(names), scaling_models=scaling_series(),
                     sections=sections, jobs=workers,
                     families={name: architectures.model_info(name).family for name in names},
                     progress=lambda charts, total: progress(charts, total, "drawing", unit="chart",
                                                             quiet=args.quiet))
        log.info("written at %.1f s; replacing %s", time.perf_counter() - started, args.out)
    print(f"wrote {args.out / 'index.html'} ({len(analyses)} models, {len(sections)} studies, "
          f"{time.perf_counter() - started:.1f} s)")
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """The directory, the engine, which models and studies, and how many workers."""
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_REPORT_DIR), metavar="DIR",
                        help=f"output directory (default: {DEFAULT_REPORT_DIR})")
    parser.add_argument("--engine", choices=engine_choices(), default=EngineName.DISPATCH.value,
                        help="counting engine; all also runs fvcore and the analytic engine (much slower) "
                             "(default: dispatch)")
    parser.add_argument("--models", default="*", metavar="PATTERN",
                        help="only models matching this pattern or range (default: all)")
    parser.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                        help="worker processes (default: one per CPU)")
    parser.add_argument("--studies", default="all", metavar="LIST",
                        help="study sections: all, none or a comma-separated list of study names "
                             "(convcost study --help lists them) (default: all)")
    add_common_options(parser)
    parser.set_defaults(run=run)


COMMAND = Command("report", "the full report of the zoo and the studies",
                  "Every built-in model at native resolution and every study: index.html, per-model and summary "
                  "CSV/JSON, a CSV per study table, and charts (PNG and SVG).", configure)
