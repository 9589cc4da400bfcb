"""Predicted memory against measured: an inference forward and a training step, on real CPU tensors.

Run by hand (not a test): ``python benchmarks/memory_truth.py [--models a,b] [--batches 2,8]``.

For each model and batch, a fresh process builds the model (real weights, float32), runs one
warm-up step (so optimizer state exists and the allocator has seen the shapes), sets the
gradients to None, and then measures, as its resident high-water mark above the resident size
just before (``VmHWM`` after resetting it through ``/proc/self/clear_refs``):

- **inference**: one forward under ``torch.no_grad()``, input created inside the measurement;
  predicted: ``analyze(...).totals.peak_bytes``;
- **saved**: what the train-mode forward leaves alive for the backward, read as the resident
  size right after the forward (the graph still held) above the size before; predicted: the
  bytes each module's forward allocated that are alive when the backward starts (``held``:
  saved tensors, the output, the input);
- **training step**: forward, ``backward`` of the output's sum, the optimizer's step and
  ``zero_grad``; predicted: the analysis's live peak of activations and gradients over the step
  (``training.live_peak_bytes``; parameters, buffers and optimizer state are resident before
  and after, in the baseline).

The inference prediction is the CPU peak (``totals.workspace_peak_bytes``): oneDNN, PyTorch's CPU
convolution, holds a copy of the larger of a convolution's input and output in its blocked layout,
and of its weight, while it runs; on CUDA it is ``totals.peak_bytes`` (cuDNN's workspaces are the
allocator's and are not modelled).

glibc's allocator is told to map every block of 64 KiB or more on its own
(``MALLOC_MMAP_THRESHOLD_``), so freed tensors leave the resident size at once, as they leave
the prediction; what the measurement adds beyond tensors (oneDNN scratch space, small
blocks kept by the allocator) is the gap reported. With ``--device cuda`` (a GPU present) the
step runs there and the measurement is the CUDA allocator's peak above what was allocated
before (``torch.cuda.max_memory_allocated``), which leaves out the context and the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

DEFAULT_MODELS = ("resnet50", "se_resnet50", "senet18", "mobilenet_v2", "efficientnet_b0", "efficientnet_v2_s")
RESOLUTION = 224
#: The swish study's activations (``--swish``): written out, the custom autograd function, the native op.
SWISH_ACTIVATIONS = ("swish", "memory_efficient_swish", "silu")
MIB = 2**20

_CHILD = r"""
import json, sys, torch
from convcost import create_model

name, batch, side, device = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
overrides = json.loads(sys.argv[5])

def rss(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)

def measured(work):
    if device == "cuda":  # the allocator's own peak: every tensor, no caching, no context
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        work()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset VmHWM to the current resident size
    before = rss("VmRSS")
    work()
    return rss("VmHWM") - before

torch.manual_seed(0)
model = create_model(name, **overrides).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
shape = (batch, 3, side, side)

held = []

def step():
    x = torch.randn(shape, device=device)
    out = model(x).sum()
    held.append(rss("VmRSS") if device != "cuda" else torch.cuda.memory_allocated())
    out.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)

def infer():
    with torch.no_grad():
        x = torch.randn(shape, device=device)
        model(x)

def saved():
    before = rss("VmRSS") if device != "cuda" else torch.cuda.memory_allocated()
    step()
    return held[-1] - before

model.train(); step(); step()
training = measured(step)
kept = saved()
model.eval(); infer(); infer()
inference = measured(infer)
print(json.dumps({"training": training, "saved": kept, "inference": inference}))
"""


def measure(name: str, batch: int, device: str, overrides: dict[str, str]) -> dict[str, int]:
    """Measured bytes of one model (built with ``overrides``) and batch, in a fresh process on ``device``."""
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    done = subprocess.run([sys.executable, "-c", _CHILD, name, str(batch), str(RESOLUTION), device,
                           json.dumps(overrides)], capture_output=True, text=True, check=True, env=environment)
    result: dict[str, int] = json.loads(done.stdout)
    return result


def predict(name: str, batch: int, overrides: dict[str, str], device: str) -> dict[str, int]:
    """Predicted bytes of one model (built with ``overrides``) and batch (meta tensors) on ``device``."""
    from convcost import analyze, create_model

    analysis = analyze(create_model(name, device="meta", **overrides), (batch, 3, RESOLUTION, RESOLUTION),
                       training=True)
    assert analysis.training is not None
    inference = analysis.totals.workspace_peak_bytes if device == "cpu" else analysis.totals.peak_bytes
    return {"training": analysis.training.live_peak_bytes, "inference": inference,
            "saved": sum(held.bytes for held in analysis.training.held.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated registry names")
    parser.add_argument("--batches", default="2,8", help="comma-separated batch sizes (default: 2,8)")
    parser.add_argument("--swish", action="store_true",
                        help="EfficientNet-B0 with each of the swish study's activations instead of --models")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the real step runs; cuda measures torch.cuda.max_memory_allocated (default: cpu)")
    args = parser.parse_args()
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            parser.error("--device cuda: no CUDA device is available here (torch.cuda.is_available() is False)")
    print(f"{'model':40s} {'batch':>5s} {'what':10s} {'predicted MiB':>14s} {'measured MiB':>13s} {'gap':>7s}")
    cases = ([("efficientnet_b0", {"activation": name}) for name in SWISH_ACTIVATIONS] if args.swish
             else [(name, {}) for name in args.models.split(",")])
    for name, overrides in cases:
        label = name + "".join(f" {value}" for value in overrides.values())
        for batch in (int(b) for b in args.batches.split(",")):
            predicted = predict(name, batch, overrides, args.device)
            real = measure(name, batch, args.device, overrides)
            for what in ("inference", "saved", "training"):
                gap = real[what] / predicted[what] - 1
                print(f"{label:40s} {batch:5d} {what:10s} {predicted[what] / MIB:14.1f} {real[what] / MIB:13.1f} "
                      f"{gap:+7.1%}")

if __name__ == "__main__":
    main()
