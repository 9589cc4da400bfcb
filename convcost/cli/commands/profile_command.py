"""``convcost profile``: measured latency per layer on real tensors, beside each layer's counts."""

from __future__ import annotations

import argparse

from convcost.analyzer.time_records import MAX_SECONDS, MIN_SECONDS, Device

from ..arguments import add_model_options, non_negative_int, positive_int, seconds
from ..command import Command
from ..errors import UsageError
from ..output import add_output_options, emit, renderer

#: Where ``--device`` may run the model.
DEVICES = tuple(device.value for device in Device)


def run(args: argparse.Namespace) -> int:
    """Measure the model and render the profile."""
    import torch

    from convcost.analyzer import analyze
    from convcost.analyzer.allocator import keep_freed_memory
    from convcost.analyzer.latency_model import FITTED_DTYPE, quiet_gate
    from convcost.analyzer.profiling import Machine, profile
    from convcost.analyzer.real_run import intra_op_threads
    from convcost.analyzer.roofline import machine_roofline
    from convcost.analyzer.timed import machine_models
    from convcost.reports.profile_section import profile_section

    from ..models import example_inputs, input_for, model_from

    if args.device == Device.CUDA and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available here; use --device cpu")
    model = model_from(args)
    inputs = input_for(model, args.resolution, args.input, args.batch)
    dtype = getattr(torch, args.dtype or "float32")
    analysis = analyze(model.module, example_inputs(inputs), dtype=dtype, name=model.name)  # bad input fails first
    keep_freed_memory()  # this command's process times: the fit and the profile under one allocator
    roofline, latency_model = None, None
    if args.roofline and args.device == Device.CPU.value:
        roofline, latency_model = machine_models(args.threads, predict=dtype == FITTED_DTYPE)
    elif args.roofline:
        with intra_op_threads(args.threads) as threads:
            roofline = machine_roofline(args.device, threads, Machine.here(Device(args.device), threads).processor)
    result = profile(model.module, example_inputs(inputs), runs=args.runs, warmup=args.warmup,
                     min_seconds=args.min_time, threads=args.threads, device=args.device, dtype=dtype,
                     name=model.name, roofline=roofline, analysis=analysis,
                     quiet_gate=quiet_gate(latency_model) if args.wait_for_quiet else None,
                     max_seconds=args.max_time)
    prediction = latency_model.predict(analysis) if latency_model is not None else None
    section = profile_section(result, prediction)
    emit(renderer(args).section(section), args, section.title)
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """The model and its input, the runs, the threads, the device and the output."""
    add_model_options(parser)
    parser.add_argument("--runs", type=positive_int, default=20, metavar="N",
                        help="timed forwards of the whole model and of the hooked one (default: 20)")
    parser.add_argument("--warmup", type=non_negative_int, default=3, metavar="N",
                        help="untimed forwards first (default: 3)")
    parser.add_argument("--min-time", type=seconds, default=MIN_SECONDS, metavar="SECONDS",
                        help="time more than --runs forwards until they have taken this long, so a fast model's runs "
                             f"outlast a burst of other work on a shared machine; 0: exactly --runs "
                             f"(default: {MIN_SECONDS:g})")
    parser.add_argument("--max-time", type=seconds, default=MAX_SECONDS, metavar="SECONDS",
                        help="with the latency model at hand, keep timing until --runs forwards met a quiet machine "
                             "or the timing has taken this long in all; --runs forwards are timed whatever it takes "
                             f"(default: {MAX_SECONDS:g})")
    parser.add_argument("--wait-for-quiet", action=argparse.BooleanOptionalAction, default=True,
                        help="keep only the forwards that met the quiet machine the latency model was fitted on: a "
                             "probe of the machine runs before each, and those it finds slowed by other work are "
                             "set aside; --no-wait-for-quiet keeps every forward (default: wait; without the "
                             "latency model, as with --no-roofline, --device cuda or a dtype other than float32, every "
                             "forward is kept)")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="intra-op CPU threads while measuring (default: torch's)")
    parser.add_argument("--device", choices=DEVICES, default=Device.CPU.value,
                        help=f"where to run (default: {Device.CPU})")
    parser.add_argument("--no-roofline", dest="roofline", action="store_false",
                        help="skip the machine's roofline and, on the CPU in float32, the latency model's "
                             "prediction (each measured once per machine and thread count, then cached in "
                             "$CONVCOST_CACHE_DIR or ~/.cache/convcost)")
    add_output_options(parser)
    parser.set_defaults(run=run)


COMMAND = Command("profile", "measured latency per layer, beside its MACs, FLOPs and bytes",
                  "A copy of the model runs on real tensors: the whole forward timed with no hook, then every leaf "
                  "module timed by hooks (median and interquartile range over --runs), with each layer's MACs, "
                  "FLOPs and bytes moved, achieved GFLOP/s and arithmetic intensity.", configure)
