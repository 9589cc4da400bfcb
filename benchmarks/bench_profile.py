"""Is measured time consistent and repeatable? ``profile`` on built-in models at native resolution.

Run by hand (not a test): ``python benchmarks/bench_profile.py [--models a,b] [--runs N] [--threads N]``.
For each model, two profiles one after the other print the hook-free whole-model median of each
(repeatable: within ±10% of each other on a quiet machine), and for the first, the modules' own
medians added up against its hook-free median (consistent: within ±10%), with the hook cost per
call that was taken out and the spread of the runs. Each profile waits, as ``convcost profile``
does, for the machine the latency model's fit met (``convcost.analyzer.quiet``; the fit is read from
the cache, or made first), for up to ``--max-time`` seconds, and says how many of its runs met it
(``quiet``: of all; ``*``: too few, so its figures are over every run).
"""

from __future__ import annotations

import argparse

from convcost import create_model, list_models, model_info
from convcost.analyzer.allocator import keep_freed_memory
from convcost.analyzer.latency_model import quiet_gate
from convcost.analyzer.profiling import MAX_SECONDS, profile
from convcost.analyzer.timed import machine_models
from convcost.cli.arguments import seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(list_models()), help="comma-separated registry names")
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each kind per profile (default: 10)")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    parser.add_argument("--max-time", type=seconds, default=MAX_SECONDS,
                        help=f"seconds a profile waits for quiet runs (default: {MAX_SECONDS:g})")
    parser.add_argument("--no-wait-for-quiet", dest="wait", action="store_false", help="keep every run")
    args = parser.parse_args()
    keep_freed_memory()  # as convcost profile times
    latency_model = machine_models(args.threads)[1] if args.wait else None
    gate = quiet_gate(latency_model)
    print(f"quiet gate: {f'probe within {gate.limit_ms:.3f} ms' if gate else 'none, every run kept'}")
    print(f"{'model':20s} {'px':>4s} {'hook-free ms':>12s} {'again ms':>9s} {'repeat':>7s} {'modules ms':>11s} "
          f"{'consistent':>10s} {'IQR ms':>7s} {'hook us':>8s} {'quiet':>13s}")
    for name in args.models.split(","):
        side = model_info(name).resolution
        model = create_model(name, device="meta")
        first, again = (profile(model, (1, 3, side, side), runs=args.runs, threads=args.threads, quiet_gate=gate,
                                max_seconds=args.max_time) for _ in range(2))
        free, other = first.latency.median_ms, again.latency.median_ms
        print(f"{name:20s} {side:4d} {free:12.2f} {other:9.2f} {other / free:7.3f} {first.layer_sum_ms:11.2f} "
              f"{first.layer_sum_ms / free:10.3f} {first.latency.iqr_ms:7.2f} {first.hook_ms * 1e3:8.1f} "
              f"{first.quiet_tally + ', ' + again.quiet_tally:>13s}")


if __name__ == "__main__":
    main()
