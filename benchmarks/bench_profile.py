"""Is measured time consistent and repeatable? ``profile`` on built-in models at native resolution.

Run by hand (not a test): ``python benchmarks/bench_profile.py [--models a,b] [--runs N] [--threads N]``.
For each model, two profiles one after the other print the hook-free whole-model median of each
(repeatable: within ±10% of each other on a quiet machine), and for the first, the modules' own
medians added up against its hook-free median (consistent: within ±10%), with the hook cost per
call that was taken out and the spread of the runs.
"""

from __future__ import annotations

import argparse

from convcost import create_model, list_models, model_info
from convcost.analyzer.profiling import profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(list_models()), help="comma-separated registry names")
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each kind per profile (default: 10)")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    args = parser.parse_args()
    print(f"{'model':20s} {'px':>4s} {'hook-free ms':>12s} {'again ms':>9s} {'repeat':>7s} {'modules ms':>11s} "
          f"{'consistent':>10s} {'IQR ms':>7s} {'hook us':>8s}")
    for name in args.models.split(","):
        side = model_info(name).resolution
        model = create_model(name, device="meta")
        first = profile(model, (1, 3, side, side), runs=args.runs, threads=args.threads)
        again = profile(model, (1, 3, side, side), runs=args.runs, threads=args.threads)
        free, other = first.latency.median_ms, again.latency.median_ms
        print(f"{name:20s} {side:4d} {free:12.2f} {other:9.2f} {other / free:7.3f} {first.layer_sum_ms:11.2f} "
              f"{first.layer_sum_ms / free:10.3f} {first.latency.iqr_ms:7.2f} {first.hook_ms * 1e3:8.1f}")


if __name__ == "__main__":
    main()
