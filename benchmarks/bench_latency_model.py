"""Does the latency model predict whole-model latency from counts alone? Fit here, then check.

Run by hand (not a test): ``python benchmarks/bench_latency_model.py [--models a,b] [--held-out N] [--runs N]``.
Measures the roofline and fits the latency model on this machine's single-layer micro-benchmarks
(fresh, not from the cache; with ``--cached-fit``, the fit convcost's commands use), prints each
kernel class's fit, then for every built-in model at native resolution and for ``--held-out``
networks built from random stage tables (never used in the fit) the predicted latency beside the
measured hook-free median of ``profile``, and the error.
Each network is profiled once per round, the rounds going over the whole list, and its measured
latency is the median of its rounds' medians (the upper of two; its IQR: of the round that gave it)
over the rounds whose figures are over quiet runs (all its rounds if none is): a burst of other work
on a shared machine meets each network once. Each profile waits, as ``convcost profile`` does, for
the quiet machine the fit met (the fit's quiet probe time, ``convcost.analyzer.quiet``) for
up to ``--max-time`` seconds, and keeps the runs that met it; the table says how many of each
round's runs did. (The micro-benchmarks keep their fastest round, the quiet machine a prediction is
for; the check keeps the median of the quiet runs, what a user measures.) Target: within ±15% on
every model.
"""

from __future__ import annotations

import argparse
import logging
import random
import time

from torch import nn

from convcost import analyze, create_model, list_models, model_info
from convcost.analyzer.allocator import keep_freed_memory
from convcost.analyzer.latency_model import fit_latency_model
from convcost.analyzer.microbench import microbenchmarks, module_call_ms, run_microbenchmarks
from convcost.analyzer.profiling import profile
from convcost.analyzer.quiet_floor import quietest_probe_ms, record_probe_ms
from convcost.analyzer.real_run import intra_op_threads
from convcost.analyzer.roofline import measure_roofline
from convcost.analyzer.time_records import MAX_SECONDS, Device, Machine, Profile
from convcost.analyzer.timed import machine_models
from convcost.architectures.specs import BlockStage, NetOptions
from convcost.architectures.staged_net import NetSpec, StagedConvNet
from convcost.cli.arguments import seconds


def random_network(seed: int) -> tuple[str, nn.Module, int]:
    """A user-style network from a random stage table: its name, the module and its resolution."""
    rng = random.Random(seed)
    resolution = rng.choice((160, 192, 224, 256, 288))
    channels = rng.choice((16, 24, 32, 40))
    stem = channels
    stages = []
    for index in range(rng.randint(4, 7)):
        block = rng.choice(("fused", "mbconv", "ir", "ds") if index < 2 else ("mbconv", "ir"))
        out = channels + rng.choice((0, 8, 16, 24, 40, 64)) * (1 + index // 2)
        stages.append(BlockStage(block, rng.choice((1, 4, 6)) if block != "ds" else 1, rng.choice((3, 5)),
                                 rng.choice((1, 2)) if index else 1, channels, out, rng.randint(1, 4),
                                 rng.choice((0.0, 0.25)) if block == "mbconv" else 0.0))
        channels = out
    spec = NetSpec(stem, tuple(stages), rng.choice((640, 1024, 1280)))
    options = NetOptions(image_size=resolution, activation=rng.choice(("silu", "relu6", "relu")))
    return f"random-{seed}", StagedConvNet(spec, options), resolution


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(list_models()), help="comma-separated registry names")
    parser.add_argument("--held-out", type=int, default=3, help="random stage-table networks to check (default: 3)")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per profile (default: 10)")
    parser.add_argument("--rounds", type=int, default=3, help="profiles per network, one per round (default: 3)")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    parser.add_argument("--cached-fit", action="store_true",
                        help="check the fit convcost's commands use (cached, fitted again when stale), not a fresh one")
    parser.add_argument("--max-time", type=seconds, default=MAX_SECONDS,
                        help=f"seconds a profile waits for quiet runs (default: {MAX_SECONDS:g})")
    args = parser.parse_args()
    logging.basicConfig(format="%(message)s")
    logging.getLogger("convcost").setLevel(logging.INFO)  # the micro-benchmarks timed again, if any
    print(f"allocator: {keep_freed_memory()} (the fit and every profile under it, as convcost's commands time)")
    with intra_op_threads(args.threads) as threads:
        started = time.perf_counter()
        processor = Machine.here(Device.CPU, threads).processor
        if args.cached_fit:
            _, cached = machine_models(threads)
            assert cached is not None  # asked for
            model = cached
        else:
            roofline = measure_roofline("cpu")
            run = run_microbenchmarks(microbenchmarks(), quietest_ms=quietest_probe_ms(processor, threads))
            record_probe_ms(processor, threads, run.quiet_probe_ms)
            model = fit_latency_model(run.samples, roofline, module_call_ms(), threads, run.quiet_probe_ms)
    print(f"{'cached fit read' if args.cached_fit else 'fitted'} on {model.samples} micro-benchmarks in "
          f"{time.perf_counter() - started:.1f} s; {model.roofline.source}")
    print(f"module call {model.call_ms * 1e3:.2f} us; quiet probe {model.quiet_probe_ms or 0:.3f} ms; machine "
          f"quietest {quietest_probe_ms(processor, threads) or 0:.3f} ms")
    print(f"{'class':13s} {'library':8s} {'n':>4s} {'op us':>7s} {'compute eff':>11s} {'memory eff':>10s} "
          f"{'median err':>10s}")
    for fit in model.classes:
        compute = f"{fit.compute_efficiency:.3f}" if fit.compute_efficiency else "-"
        memory = f"{fit.memory_efficiency:.3f}" if fit.memory_efficiency else "-"
        library = fit.library.value if fit.library else "all"
        print(f"{fit.kernel_class.value:13s} {library:8s} {fit.samples:4d} {fit.op_ms * 1e3:7.2f} {compute:>11s} "
              f"{memory:>10s} {fit.median_error:10.1%}")
    networks = [(name, create_model(name, device="meta"), model_info(name).resolution)
                for name in args.models.split(",") if name]
    networks += [random_network(seed) for seed in range(1, args.held_out + 1)]
    rounds: dict[str, list[Profile]] = {name: [] for name, _, _ in networks}
    for _ in range(args.rounds):
        for name, network, side in networks:
            rounds[name].append(profile(network, (1, 3, side, side), runs=args.runs, threads=args.threads,
                                        quiet_gate=model.quiet_gate, max_seconds=args.max_time))
    print(f"\n{'model':20s} {'px':>4s} {'predicted ms':>12s} {'measured ms':>11s} {'IQR ms':>7s} {'error':>7s}  "
          "rounds ms (quiet runs of all)")
    worst = 0.0
    for name, network, side in networks:
        predicted = model.predict(analyze(network, (1, 3, side, side), name=name)).predicted_ms
        quiet = [each for each in rounds[name] if each.quiet is None or each.quiet.over_quiet_runs] or rounds[name]
        measured = sorted((each.latency for each in quiet), key=lambda spread: spread.median_ms)[len(quiet) // 2]
        error = predicted / measured.median_ms - 1
        worst = max(worst, abs(error))
        each = ", ".join(f"{one.latency.median_ms:.2f} ({one.quiet_tally})" for one in rounds[name])
        print(f"{name:20s} {side:4d} {predicted:12.2f} {measured.median_ms:11.2f} {measured.iqr_ms:7.2f} "
              f"{error:+7.1%}  {each}")
    print(f"\nworst error {worst:.1%}")




if __name__ == "__main__":
    main()
