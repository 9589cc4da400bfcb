"""Time convcost's ``analyze`` against fvcore and FlopCounterMode on the 14 reference cases.

Run by hand (not a test): ``python benchmarks/bench_analyze.py``. It prints, per case and
for the whole set, the seconds each tool took and convcost's time as a fraction of
theirs, then the peak RSS of a separate process that runs only convcost over the set.
Targets (issue 3): the whole set in <= 0.2x fvcore's time; that process <= 500 MB RSS.

convcost runs with its default engine (dispatch, on meta tensors) and builds full
per-layer records and memory figures; the other tools run a real forward on CPU tensors.
Building the models is not timed for any tool.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn

from convcost.analyzer import analyze
from convcost.architectures import create_model

CASES: list[tuple[str, int]] = [
    ("efficientnet_b0", 224), ("efficientnet_b1", 240), ("efficientnet_b2", 260), ("efficientnet_b2", 288),
    ("efficientnet_b3", 300), ("efficientnet_b4", 380), ("efficientnet_b5", 456), ("efficientnet_b6", 528),
    ("efficientnet_b7", 600), ("efficientnet_v2_s", 384), ("efficientnet_v2_m", 480), ("efficientnet_v2_l", 480),
    ("mobilenet_v2", 224), ("resnet50", 224),
]


def build_meta(name: str) -> nn.Module:
    """The model on ``meta``: what convcost analyses."""
    return create_model(name, device="meta")


def build_real(name: str) -> nn.Module:
    """The model with real (uninitialised) CPU weights: what the real-tensor tools need."""
    return create_model(name, device="meta").to_empty(device="cpu").eval()


def run_convcost(model: nn.Module, resolution: int) -> int:
    """convcost's conv+linear MACs (default engine, full per-layer records and memory)."""
    return analyze(model, (1, 3, resolution, resolution)).totals.macs


def run_fvcore(model: nn.Module, resolution: int) -> int:
    """fvcore's ``FlopCountAnalysis(...).total()`` on a real input."""
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, torch.zeros(1, 3, resolution, resolution))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    with torch.no_grad():
        return int(analysis.total())


def run_flop_counter(model: nn.Module, resolution: int) -> int:
    """``torch.utils.flop_counter.FlopCounterMode`` total on a real input."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, resolution, resolution))
    return counter.get_total_flops()


#: tool → (model builder, untimed; counting call, timed)
TOOLS: dict[str, tuple[Callable[[str], nn.Module], Callable[[nn.Module, int], int]]] = {
    "convcost": (build_meta, run_convcost),
    "fvcore": (build_real, run_fvcore),
    "FlopCounterMode": (build_real, run_flop_counter),
}


def timed(tool: str, name: str, resolution: int) -> float:
    """Seconds one count takes; building the model is not timed for any tool."""
    build, run = TOOLS[tool]
    model = build(name)
    start = time.perf_counter()
    run(model, resolution)
    return time.perf_counter() - start


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    Linux ``VmHWM`` is per address space; ``ru_maxrss`` survives ``exec`` and would report the
    parent's peak when the parent is bigger, so it is only the fallback off Linux.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def convcost_only() -> None:
    """Run convcost over the set and print this process's peak RSS in MB."""
    for name, resolution in CASES:
        run_convcost(build_meta(name), resolution)
    print(peak_rss_mb())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--convcost-only", action="store_true", help="run convcost only and print peak RSS (MB)")
    args = parser.parse_args()
    if args.convcost_only:
        convcost_only()
        return
    warnings.simplefilter("ignore")
    for tool in TOOLS:  # first-call costs (imports, lazy initialisation) are not measured
        timed(tool, "mobilenet_v2_035", 64)
    totals = dict.fromkeys(TOOLS, 0.0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'case':26} {'convcost s':>10} {'fvcore s':>9} {'FCM s':>7} {'vs fvcore':>9} {'vs FCM':>7}")
    for name, resolution in CASES:
        seconds = {tool: timed(tool, name, resolution) for tool in TOOLS}
        for tool, value in seconds.items():
            totals[tool] += value
        print(f"{name + ' @' + str(resolution):26} {seconds['convcost']:10.3f} {seconds['fvcore']:9.3f} "
              f"{seconds['FlopCounterMode']:7.3f} {seconds['convcost'] / seconds['fvcore']:9.3f} "
              f"{seconds['convcost'] / seconds['FlopCounterMode']:7.3f}")
    print(f"{'whole set':26} {totals['convcost']:10.3f} {totals['fvcore']:9.3f} {totals['FlopCounterMode']:7.3f} "
          f"{totals['convcost'] / totals['fvcore']:9.3f} {totals['convcost'] / totals['FlopCounterMode']:7.3f}")
    rss = subprocess.run([sys.executable, __file__, "--convcost-only"], capture_output=True, text=True, check=True)
    print(f"peak RSS of a process running only convcost over the set: {float(rss.stdout):.0f} MB")


if __name__ == "__main__":
    main()
