"""The convcost command line: list the zoo, analyze a model, compare models, explain another tool's
count, run a study, plan training memory, write the full report.

A MODEL is a registry name (see: convcost list), path/to/file.py:factory or
package.module:factory, where factory() takes no arguments and returns a torch.nn.Module.
Registry models default to their native resolution; your own models to a 1x3x224x224
input unless --input or --resolution says otherwise. Bad input exits with status 2 and a
one-line message.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from torch import nn
from tqdm import tqdm

import architectures
from reports.atomic import write_text
from reports.build import build_report, render_page
from reports.columns import Column
from reports.export import analysis_json, csv_text, frame_records, json_text, section_json, summaries_json
from reports.frames import PUBLISHED_FIELDS, layer_frame, stage_comparison, stage_totals, summary_frame
from reports.parallel import parallel_map
from reports.sections import Section
from reports.study_sections import fused_section, plan_section, reconciliation_section, study_sections
from reports.table import analysis_text, convention_text, footnote, frame_text, section_text, summary_text

from .analysis import Analysis
from .analyze import ENGINES, analyze
from .conventions import CONVENTIONS
from .errors import AnalysisError, InputShapeError
from .studies import suite
from .studies.fused import DEFAULT_RUNS, FusedStudy, fused_study, with_latency
from .studies.plan import DEFAULT_BATCHES, OPTIMIZER_STATES, parse_bytes, training_plan
from .studies.tools import conventions_study

EXIT_USAGE = 2
DEFAULT_RESOLUTION = 224
DEFAULT_REPORT_DIR = "convcost-report"
FORMATS = ("table", "csv", "json", "html")
#: Studies with a ``convcost study NAME`` command.
STUDY_COMMANDS = ("scaling", "dwsep", "se", "swish", "fused")
#: Sections of the main report, in order (``--studies``).
REPORT_STUDIES = suite.STUDIES
#: Timed passes per stage in the main report's fused study: few, to keep the report fast.
REPORT_LATENCY_RUNS = 3
_RANGE = re.compile(r"^(?P<stem>.*?)(?P<start>\d+)\.\.(?P<tail>[^\d.]*)(?P<end>\d+)$")
T = TypeVar("T")


class UsageError(Exception):
    """Bad command-line input; :func:`main` prints the message and exits with status 2."""


@dataclasses.dataclass(frozen=True)
class LoadedModel:
    """A model ready to analyze: its display name, the module, and its native resolution if known."""

    name: str
    module: nn.Module
    native_resolution: int | None = None


# --- argument types ------------------------------------------------------------------------


def input_shape(text: str) -> tuple[int, ...]:
    """``1x3x224x224`` → ``(1, 3, 224, 224)``."""
    parts = text.lower().split("x")
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape: give positive sizes joined by x, "
                                         "e.g. 1x3x224x224")
    return tuple(int(part) for part in parts)


def positive_int(text: str) -> int:
    """A positive integer."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def depth(text: str) -> int:
    """A depth: 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a depth (0, 1, 2, ...)")
    return int(text)


def resolution_or_native(text: str) -> int | None:
    """``native`` → None, else a positive number of pixels."""
    return None if text == "native" else positive_int(text)


def non_negative_int(text: str) -> int:
    """0 or a positive integer."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (0, 1, 2, ...)")
    return int(text)


def size(text: str) -> int:
    """Bytes in ``16GiB``, ``512MiB``, ``8GB`` … (see :func:`analyzer.studies.plan.parse_bytes`)."""
    try:
        return parse_bytes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def batch_sizes(text: str) -> tuple[int, ...]:
    """``1,2,8,24`` → ``(1, 2, 8, 24)``."""
    parts = text.split(",")
    if not all(part.strip().isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of batch sizes: give positive integers joined "
                                         "by commas, e.g. 1,2,8,24")
    return tuple(int(part) for part in parts)


def study_names(text: str) -> tuple[str, ...]:
    """``all``, ``none`` or a comma-separated list of :data:`REPORT_STUDIES`, returned in report order."""
    if text in ("all", "none"):
        return REPORT_STUDIES if text == "all" else ()
    names = {name.strip() for name in text.split(",")}
    if not names <= set(REPORT_STUDIES):
        raise argparse.ArgumentTypeError(f"{text!r}: give all, none or a comma-separated list of "
                                         f"{', '.join(REPORT_STUDIES)}")
    return tuple(name for name in REPORT_STUDIES if name in names)


# --- models -------------------------------------------------------------------------------


def expand_models(specs: Iterable[str]) -> list[str]:
    """Registry ranges (``efficientnet_b0..b7``, ``..7``) and shell patterns expanded; other specs as given.

    Raises:
        UsageError: a pattern matches nothing, or a range runs backwards.
    """
    names: list[str] = []
    for spec in specs:
        match = _RANGE.match(spec)
        if match and match["stem"].endswith(match["tail"]):
            start, end = int(match["start"]), int(match["end"])
            if end < start:
                raise UsageError(f"range {spec!r} runs backwards")
            names += [f"{match['stem']}{i:0{len(match['start'])}d}" for i in range(start, end + 1)]
        elif any(char in spec for char in "*?["):
            found = architectures.list_models(spec)
            if not found:
                raise UsageError(f"no model matches {spec!r}; see convcost list")
            names += found
        else:
            names.append(spec)
    return list(dict.fromkeys(names))


def _import_file(path: Path) -> Any:
    """Execute ``path`` as a module (registered in ``sys.modules`` while it runs, as dataclasses need)."""
    name = f"convcost_user_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _load_factory(spec: str) -> LoadedModel:
    source, _, factory_name = spec.rpartition(":")
    if not source or not factory_name.isidentifier():
        raise UsageError(f"{spec!r}: expected path/to/file.py:factory or package.module:factory")
    is_file = source.endswith(".py") or "/" in source or os.sep in source
    if is_file and not Path(source).is_file():
        raise UsageError(f"no such file: {source}")
    try:
        module = _import_file(Path(source)) if is_file else importlib.import_module(source)
    except Exception as error:  # the user's code: report it, whatever it raised
        raise UsageError(f"cannot import {source}: {type(error).__name__}: {error}") from error
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        defined = sorted(n for n, v in vars(module).items()
                         if callable(v) and getattr(v, "__module__", None) == module.__name__)
        hint = f"; callables defined there: {', '.join(defined)}" if defined else ""
        raise UsageError(f"{source} has no factory {factory_name!r}{hint}")
    try:
        model = factory()
    except Exception as error:  # the user's code
        raise UsageError(f"{spec}: {factory_name}() failed: {type(error).__name__}: {error}") from error
    if not isinstance(model, nn.Module):
        raise UsageError(f"{spec}: {factory_name}() returned {type(model).__name__}, not a torch.nn.Module")
    return LoadedModel(spec, model)


def load_model(spec: str) -> LoadedModel:
    """A registry model (built on ``meta``) or a user's ``file.py:factory`` / ``module:factory`` model.

    Raises:
        UsageError: the model cannot be found, imported or built.
    """
    if ":" in spec:
        return _load_factory(spec)
    info = architectures.model_info(spec)
    return LoadedModel(spec, architectures.create_model(spec, device="meta"), info.resolution)


def input_for(model: LoadedModel, resolution: int | None, shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """The input shape: ``shape`` if given, else 1x3xRxR at ``resolution``, the native one, or 224."""
    if shape is not None:
        return shape
    side = resolution or model.native_resolution or DEFAULT_RESOLUTION
    return (1, 3, side, side)


def _analyze(model: LoadedModel, shape: tuple[int, ...], engine: str) -> Analysis:
    return analyze(model.module, shape, engine=engine, name=model.name)


def analyze_registered(name: str, engine: str) -> Analysis:
    """A registry model analysed at its native resolution (a picklable job for worker processes)."""
    model = load_model(name)
    return _analyze(model, input_for(model, None), engine)


def published_frame(names: Sequence[str]) -> pd.DataFrame:
    """Published figures of registry models, one row per figure (:data:`reports.frames.PUBLISHED_FIELDS`)."""
    rows = [{"model": name, "family": architectures.model_info(name).family, **dataclasses.asdict(figure)}
            for name in names for figure in architectures.model_info(name).published]
    return pd.DataFrame(rows, columns=list(PUBLISHED_FIELDS))


def scaling_series() -> list[str]:
    """The EfficientNet B0–B7 names, in order."""
    return [n for n in architectures.list_models() if architectures.model_info(n).family == "efficientnet"]


# --- output -------------------------------------------------------------------------------


def _progress(items: Iterable[T], total: int, what: str, unit: str = "model") -> Iterable[T]:
    """A progress bar on stderr when it is a terminal and there is more than one item."""
    quiet = total < 2 or not sys.stderr.isatty()
    return tqdm(items, total=total, desc=what, unit=unit, disable=quiet, file=sys.stderr, leave=False)


def _check_writable(path: Path) -> None:
    directory = path.parent
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"cannot write {path}: directory {directory} is not writable")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        write_text(output, text)


def _section_output(section: Section, fmt: str) -> str:
    """One section as text (``table``), its main table (``csv``), every table (``json``) or a page (``html``)."""
    render: dict[str, Callable[[], str]] = {
        "table": lambda: section_text(section),
        "csv": lambda: csv_text(section.frame),
        "json": lambda: json_text(section_json(section)),
        "html": lambda: render_page([], title=f"convcost: {section.title}", sections=[section]),
    }
    return render[fmt]()


# --- commands -----------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    names = architectures.list_models(args.pattern)
    if not names:
        raise UsageError(f"no model matches {args.pattern!r}; convcost list shows them all")
    rows = []
    for name in names:
        info = architectures.model_info(name)
        base = {"model": name, "family": info.family, "resolution": info.resolution}
        rows += [{**base, "source": figure.source + (f" (at {figure.resolution} px)"
                                                     if figure.resolution != info.resolution else ""),
                  "params": figure.params, "macs": figure.macs, "top1": figure.top1}
                 for figure in info.published] or [{**base, "source": "(none published)"}]
    sys.stdout.write(frame_text(pd.DataFrame(rows, columns=[*base, "source", "params", "macs", "top1"])) + "\n")
    return 0


def _analyze_command(args: argparse.Namespace) -> int:
    if args.convention and args.format == "csv":
        raise UsageError("--convention is shown in table, json and html output; csv holds one row per layer")
    model = load_model(args.model)
    analysis = _analyze(model, input_for(model, args.resolution, args.input), args.engine)
    tools = conventions_study(analysis, (args.convention,)) if args.convention else None
    render: dict[str, Callable[[], str]] = {
        "table": lambda: analysis_text(analysis, args.depth) + (
            "\n" + convention_text(tools.totals[0], args.model) if tools else ""),
        "csv": lambda: csv_text(layer_frame(analysis)),
        "json": lambda: json_text(analysis_json(analysis) | (
            {"convention": frame_records(tools.to_dataframe())[0]} if tools else {})),
        "html": lambda: render_page([analysis], title=f"convcost: {analysis.model}", sections=(
            [reconciliation_section(tools, args.convention)] if tools else [])),
    }
    _emit(render[args.format](), args.output)
    return 0


def _explain(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    analysis = _analyze(model, input_for(model, args.resolution, args.input), "dispatch")
    section = reconciliation_section(conventions_study(analysis, (args.vs,)), args.vs)
    _emit(_section_output(section, args.format), args.output)
    return 0


def _study(args: argparse.Namespace) -> int:
    if args.runs is not None and args.name != "fused":
        raise UsageError(f"--runs times the fused study's stages; the {args.name} study measures no latency")
    if args.name == "fused":
        section = fused_section(fused_study(runs=DEFAULT_RUNS if args.runs is None else args.runs))
    else:
        (section,) = study_sections(suite.compute([args.name]))
    _emit(_section_output(section, args.format), args.output)
    return 0


def _plan(args: argparse.Namespace) -> int:
    if ":" in args.model:
        raise UsageError(f"{args.model!r}: plan takes a registry model (see convcost list)")
    architectures.model_info(args.model)  # an unknown name fails here, naming the closest ones
    plan = training_plan(args.model, args.resolution, optimizer=args.optimizer, batches=args.batches,
                         budget=args.budget)
    _emit(_section_output(plan_section([plan]), args.format), args.output)
    return 0


def _stage_sections(analyses: Sequence[Analysis]) -> list[Section]:
    return [Section(f"{column.title} per stage",
                    f"{column.title} of each stage (a top-level module, or stages.i) of each model, summed over "
                    "its modules; empty where a model has no such stage.", stage_comparison(analyses, column))
            for column in (Column.MACS, Column.PARAMS)]


def _compare_text(analyses: Sequence[Analysis]) -> str:
    parts = [summary_text(summary_frame(analyses))]
    for column in (Column.MACS, Column.PARAMS):
        parts.append(f"{column.title} per stage\n" + frame_text(stage_comparison(analyses, column), column))
    parts.append(footnote(analyses[0].dtype))
    return "\n\n".join(parts) + "\n"


def _compare_json(analyses: Sequence[Analysis]) -> dict[str, Any]:
    stages = [{"model": a.model, **row} for a in analyses for row in stage_totals(a).to_dict(orient="records")]
    return {"models": summaries_json(analyses), "stages": stages}


def _compare(args: argparse.Namespace) -> int:
    names = expand_models(args.models)
    analyses = []
    for name in _progress(names, len(names), "analyzing"):
        model = load_model(name)
        analyses.append(_analyze(model, input_for(model, args.resolution), args.engine))
    render: dict[str, Callable[[], str]] = {
        "table": lambda: _compare_text(analyses),
        "csv": lambda: csv_text(summary_frame(analyses)),
        "json": lambda: json_text(_compare_json(analyses)),
        "html": lambda: render_page(analyses, title="convcost comparison", published=published_frame(
            [n for n in names if ":" not in n]), scaling_models=scaling_series(), sections=_stage_sections(analyses)),
    }
    _emit(render[args.format](), args.output)
    return 0


def _call(job: Callable[[], T]) -> T:
    """Run a zero-argument job (a picklable callable, for worker processes)."""
    return job()


def _timed_fused_section(study: FusedStudy, runs: int) -> Section:
    """``study`` timed with ``runs`` passes per stage, as a report section (real tensors: call it last)."""
    return fused_section(with_latency(study, runs))


def _study_jobs(studies: Sequence[str], names: Sequence[str]) -> list[suite.Job]:
    """The jobs the report's studies need beyond the native analyses of ``names``, which the report makes anyway."""
    return [job for job in suite.jobs(studies)
            if not (isinstance(job, suite.AnalysisSpec) and job.native and job.model in names)]


def _report(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    names = expand_models([args.models])
    for name in names:
        architectures.model_info(name)  # unknown names fail here, before any work
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create {args.out}: {error.strerror}") from error
    _check_writable(args.out / "index.html")
    jobs = args.jobs or os.cpu_count() or 1
    extra_jobs = _study_jobs(args.studies, names)
    work: list[Callable[[], Any]] = [*(partial(analyze_registered, name, args.engine) for name in names),
                                     *(job.run for job in extra_jobs)]
    results = list(_progress(parallel_map(_call, work, jobs), len(work), "analyzing", unit="job"))
    analyses = results[:len(names)]
    done = {suite.AnalysisSpec.of(name): analysis for name, analysis in zip(names, analyses, strict=True)}
    studied = suite.assemble(args.studies, done | dict(zip(extra_jobs, results[len(names):], strict=True)))
    # the latency needs real tensors: build_report calls this after its last worker has finished
    fused = None if studied.fused is None else partial(_timed_fused_section, studied.fused, REPORT_LATENCY_RUNS)
    sections = study_sections(studied, fused)
    index = build_report(analyses, args.out, published=published_frame(names), scaling_models=scaling_series(),
                         sections=sections, jobs=jobs)
    print(f"wrote {index} ({len(analyses)} models, {len(sections)} studies, "
          f"{time.perf_counter() - started:.1f} s)")
    return 0


# --- parser -------------------------------------------------------------------------------


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="registry name, path/to/file.py:factory or module:factory")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--resolution", type=positive_int, metavar="N",
                       help="input side in pixels (default: native, or 224 for your own model)")
    shape.add_argument("--input", type=input_shape, metavar="SHAPE", help="full input shape, e.g. 1x3x224x224")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subcommand per job."""
    parser = argparse.ArgumentParser(prog="convcost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="the zoo: native resolution and published figures",
                                  description="The model zoo with native resolution and published params, MACs, "
                                              "top-1 and their source.")
    listing.add_argument("pattern", nargs="?", default="*", metavar="PATTERN", help="shell-style name filter")
    listing.set_defaults(run=_list)

    single = commands.add_parser("analyze", help="per-layer costs of one model",
                                 description="Per-layer params, MACs, FLOPs and memory of one model.")
    _add_model_options(single)
    single.add_argument("--engine", choices=ENGINES, default="dispatch",
                        help="counting engine; all cross-checks every conv/linear layer (default: dispatch)")
    single.add_argument("--depth", type=depth, default=3, metavar="N",
                        help="table only: show modules down to depth N (default: 3)")
    single.add_argument("--convention", choices=CONVENTIONS, metavar="TOOL",
                        help=f"also give the total under TOOL's counting rules: {', '.join(CONVENTIONS)}")
    _add_output_options(single)
    single.set_defaults(run=_analyze_command)

    explain = commands.add_parser("explain", help="why another tool counts differently, operator by operator",
                                  description="convcost's all-op FLOPs against another tool's total, operator by "
                                              "operator, with the rule that tool applies and the totals.")
    _add_model_options(explain)
    explain.add_argument("--vs", choices=CONVENTIONS, required=True, metavar="TOOL",
                         help=f"the tool: {', '.join(CONVENTIONS)}")
    _add_output_options(explain)
    explain.set_defaults(run=_explain)

    study = commands.add_parser("study", help="one study: scaling, dwsep, se, swish or fused",
                                description="A study of the design, as a table, CSV (its main table), JSON "
                                            "(every table) or an HTML page with its charts.")
    study.add_argument("name", choices=STUDY_COMMANDS, metavar="NAME", help=", ".join(STUDY_COMMANDS))
    study.add_argument("--runs", type=non_negative_int, default=None, metavar="N",
                       help=f"fused only: timed passes per stage, 0 for none (default: {DEFAULT_RUNS})")
    _add_output_options(study)
    study.set_defaults(run=_study)

    plan = commands.add_parser("plan", help="training memory against batch size, and the largest batch that fits",
                               description="Weights, gradients, optimizer state and saved activations of one "
                                           "training step of a registry model, by batch size, and the largest "
                                           "batch within a memory budget.")
    plan.add_argument("model", metavar="MODEL", help="registry name")
    plan.add_argument("--resolution", type=positive_int, metavar="N", help="input side in pixels (default: native)")
    plan.add_argument("--budget", type=size, metavar="SIZE",
                      help="memory budget such as 16GiB, 512MiB or 8GB (binary units are powers of 1024)")
    plan.add_argument("--optimizer", choices=tuple(OPTIMIZER_STATES), default="sgd",
                      help="sgd (with momentum: 1 state tensor) or adam (2) (default: sgd)")
    plan.add_argument("--batches", type=batch_sizes, default=DEFAULT_BATCHES, metavar="LIST",
                      help=f"batch sizes to tabulate (default: {','.join(map(str, DEFAULT_BATCHES))})")
    _add_output_options(plan)
    plan.set_defaults(run=_plan)

    compare = commands.add_parser("compare", help="several models side by side",
                                  description="Whole-model figures and a per-stage breakdown, side by side. "
                                              "MODEL also takes ranges (efficientnet_b0..b7) and shell patterns.")
    compare.add_argument("models", nargs="+", metavar="MODEL", help="models, ranges or patterns")
    compare.add_argument("--resolution", type=resolution_or_native, default=None, metavar="native|N",
                         help="input side in pixels for every model (default: native)")
    compare.add_argument("--engine", choices=ENGINES, default="dispatch", help="counting engine (default: dispatch)")
    _add_output_options(compare)
    compare.set_defaults(run=_compare)

    report = commands.add_parser("report", help="the full report of the zoo and the studies",
                                 description="Every built-in model at native resolution and every study: "
                                             "index.html, per-model and summary CSV/JSON, a CSV per study table, "
                                             "and charts (PNG and SVG).")
    report.add_argument("--out", type=Path, default=Path(DEFAULT_REPORT_DIR), metavar="DIR",
                        help=f"output directory (default: {DEFAULT_REPORT_DIR})")
    report.add_argument("--engine", choices=("dispatch", "all"), default="dispatch",
                        help="all also runs fvcore and the analytic engine (much slower) (default: dispatch)")
    report.add_argument("--models", default="*", metavar="PATTERN",
                        help="only models matching this pattern or range (default: all)")
    report.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                        help="worker processes (default: one per CPU)")
    report.add_argument("--studies", type=study_names, default=REPORT_STUDIES, metavar="LIST",
                        help=f"study sections: all, none or some of {','.join(REPORT_STUDIES)} (default: all; "
                             f"the fused study times {REPORT_LATENCY_RUNS} runs per stage)")
    report.set_defaults(run=_report)
    return parser


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``convcost`` with ``argv`` (default: the process arguments); returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "output", None) is not None:  # fail before any work, not after
            _check_writable(args.output)
        return args.run(args)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2), already printed
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    except (UsageError, architectures.UnknownModelError, InputShapeError, AnalysisError, OSError) as error:
        print(f"convcost: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
