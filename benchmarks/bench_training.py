"""Time a training-step analysis against a forward-only one (target: at most 3x, EfficientNet-B7 at 600 px).

Run by hand (not a test): ``python benchmarks/bench_training.py [--runs N]``. Each analysis runs on
``meta`` tensors in this process after one untimed run of each; the median of ``--runs`` is printed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from convcost import analyze, create_model

CASES = (("efficientnet_b7", 600), ("efficientnet_v2_l", 480), ("resnet50", 224), ("mobilenet_v2", 224))


def median_seconds(model: torch.nn.Module, shape: tuple[int, ...], runs: int, *, training: bool) -> float:
    """Median wall time of ``runs`` analyses of ``model`` on ``shape``."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        analyze(model, shape, training=training)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case (default: 5)")
    args = parser.parse_args()
    print(f"{'case':24s} {'forward s':>10s} {'training s':>11s} {'ratio':>6s}")
    for name, side in CASES:
        model, shape = create_model(name, device="meta"), (1, 3, side, side)
        analyze(model, shape)
        analyze(model, shape, training=True)
        forward = median_seconds(model, shape, args.runs, training=False)
        training = median_seconds(model, shape, args.runs, training=True)
        print(f"{name + ' @' + str(side):24s} {forward:10.3f} {training:11.3f} {training / forward:6.2f}")


if __name__ == "__main__":
    main()
