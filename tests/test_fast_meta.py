"""The dispatch engine's shape-only kernels (convolution, mm, addmm, broadcasting) against torch's own.

On ``meta`` tensors the engine answers these ops itself, so that counting never imports sympy or
torch._dynamo. Each kernel must give the shape and dtype torch's meta kernel gives, and refuse the
inputs torch refuses. Torch's meta kernels are laxer than its CPU kernels in places (a bias of the
wrong size, groups that do not divide the output channels, mixed dtypes): where the meta kernel
accepts what the CPU kernel refuses, the shape-only kernel may refuse too, but must not give
another shape.
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from convcost.analyzer import analyze
from convcost.analyzer.engines.dispatch import (
    _addmm_outputs,
    _broadcast,
    _convolution_outputs,
    _max_pool2d_outputs,
    _mm_outputs,
)

ROOT = Path(__file__).resolve().parents[1]
aten = torch.ops.aten
Outcome = tuple[tuple[int, ...], torch.dtype] | None  # None: the kernel raised


def outcome(kernel: Callable[..., torch.Tensor], *args: Any, **kwargs: Any) -> Outcome:
    try:
        out = kernel(*args, **kwargs)
    except Exception:
        return None
    return tuple(out.shape), out.dtype


def tensor(shape: Sequence[int] | None, device: str, dtype: torch.dtype = torch.float32) -> torch.Tensor | None:
    return None if shape is None else torch.zeros(tuple(shape), dtype=dtype, device=device)


def mismatch(fast: Outcome, meta: Outcome, cpu: Outcome) -> str | None:
    """Why ``fast`` is wrong given torch's meta and CPU outcomes, or None."""
    if meta is None:
        return None if fast is None else f"torch's meta kernel raises, the fast kernel gives {fast}"
    if cpu is not None:
        return None if fast == meta else f"torch gives {meta}, the fast kernel {fast or 'raises'}"
    # the meta kernel accepts what a real run refuses: refusing is fine, another shape is not
    return None if fast in (None, meta) else f"torch's meta kernel gives {meta}, the fast kernel {fast}"


# --- convolution --------------------------------------------------------------------------------


def conv_args(device: str, x: Sequence[int], w: Sequence[int], bias: Sequence[int] | None, stride: list[int],
              padding: list[int], dilation: list[int], groups: int, x_dtype: torch.dtype = torch.float32,
              w_dtype: torch.dtype = torch.float32) -> tuple[Any, ...]:
    return (tensor(x, device, x_dtype), tensor(w, device, w_dtype), tensor(bias, device, w_dtype), stride, padding,
            dilation, False, [0] * len(stride), groups)


def conv_mismatch(*case: Any) -> str | None:
    meta = outcome(aten.convolution.default, *conv_args("meta", *case))
    cpu = outcome(aten.convolution.default, *conv_args("cpu", *case))
    fast = outcome(_convolution_outputs, *conv_args("meta", *case))
    return mismatch(fast, meta, cpu)


CONV_CASES = {
    # name: (input, weight, bias, stride, padding, dilation, groups)
    "2d": ((2, 3, 8, 8), (4, 3, 3, 3), (4,), [1, 1], [0, 0], [1, 1], 1),
    "2d-stride-padding": ((1, 3, 9, 7), (5, 3, 3, 2), None, [2, 3], [1, 2], [1, 1], 1),
    "2d-dilation": ((1, 2, 9, 9), (2, 2, 3, 3), (2,), [1, 1], [0, 1], [2, 3], 1),
    "1d": ((2, 4, 10), (6, 4, 3), (6,), [2], [1], [1], 1),
    "1d-grouped": ((1, 6, 10), (9, 2, 5), None, [1], [2], [2], 3),
    "3d": ((1, 2, 5, 6, 7), (3, 2, 3, 3, 3), (3,), [1, 2, 1], [1, 0, 1], [1, 1, 2], 1),
    "3d-depthwise": ((1, 4, 4, 4, 4), (4, 1, 3, 3, 3), None, [2, 2, 2], [1, 1, 1], [1, 1, 1], 4),
    "depthwise": ((1, 8, 6, 6), (8, 1, 3, 3), (8,), [1, 1], [1, 1], [1, 1], 8),
    "depthwise-multiplier": ((1, 4, 6, 6), (8, 1, 3, 3), None, [1, 1], [1, 1], [1, 1], 4),
    "grouped": ((1, 6, 8, 8), (4, 3, 3, 3), None, [1, 1], [0, 0], [1, 1], 2),
    "groups-do-not-divide-input-channels": ((1, 6, 8, 8), (4, 2, 3, 3), None, [1, 1], [0, 0], [1, 1], 4),
    "groups-do-not-divide-output-channels": ((1, 6, 8, 8), (5, 3, 3, 3), None, [1, 1], [0, 0], [1, 1], 2),
    "weight-channels-wrong": ((1, 3, 8, 8), (4, 2, 3, 3), None, [1, 1], [0, 0], [1, 1], 1),
    "kernel-larger-than-input": ((1, 3, 2, 2), (4, 3, 3, 3), None, [1, 1], [0, 0], [1, 1], 1),
    "kernel-larger-than-input-1d": ((1, 3, 2), (4, 3, 5), None, [1], [1], [1], 1),
    "padding-makes-room": ((1, 3, 2, 2), (4, 3, 3, 3), None, [1, 1], [1, 1], [1, 1], 1),
    "dilation-larger-than-input": ((1, 3, 4, 4), (4, 3, 3, 3), None, [1, 1], [0, 0], [2, 2], 1),
    "stride-larger-than-input": ((1, 3, 4, 4), (4, 3, 1, 1), None, [5, 5], [0, 0], [1, 1], 1),
    "bias-too-long": ((1, 3, 8, 8), (4, 3, 3, 3), (5,), [1, 1], [0, 0], [1, 1], 1),
    "bias-too-short": ((1, 3, 8, 8), (4, 3, 3, 3), (1,), [1, 1], [0, 0], [1, 1], 1),
    "bias-2d": ((1, 3, 8, 8), (4, 3, 3, 3), (4, 1), [1, 1], [0, 0], [1, 1], 1),
    "weight-of-another-rank": ((1, 3, 8, 8), (4, 3, 3), None, [1], [0], [1], 1),
    "unbatched-input": ((3, 8, 8), (4, 3, 3, 3), None, [1, 1], [0, 0], [1, 1], 1),
    "empty-batch": ((0, 3, 8, 8), (4, 3, 3, 3), (4,), [1, 1], [0, 0], [1, 1], 1),
    "no-output-channels": ((1, 3, 8, 8), (0, 3, 3, 3), None, [1, 1], [0, 0], [1, 1], 1),
    "groups-zero": ((1, 6, 8, 8), (6, 1, 3, 3), None, [1, 1], [0, 0], [1, 1], 0),
    "stride-zero": ((1, 3, 8, 8), (4, 3, 3, 3), None, [0, 0], [0, 0], [1, 1], 1),
}


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_convolution_cases(case: tuple[Any, ...]) -> None:
    assert conv_mismatch(*case) is None


def test_convolution_outputs_are_the_meta_kernels() -> None:
    x, w = tensor((2, 3, 9, 9), "meta"), tensor((6, 3, 3, 3), "meta")
    out = _convolution_outputs(x, w, None, [2, 2], [1, 1], [1, 1], False, [0, 0], 1)
    assert (tuple(out.shape), out.dtype, out.device.type) == ((2, 6, 5, 5), torch.float32, "meta")  # (9+2-3)//2+1
    f16 = torch.float16
    half = _convolution_outputs(tensor((1, 3, 9, 9), "meta", f16), tensor((6, 3, 3, 3), "meta", f16),
                                tensor((6,), "meta", f16), [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
    assert (tuple(half.shape), half.dtype) == ((1, 6, 7, 7), torch.float16)


def test_convolution_transposed_goes_to_torch() -> None:
    args = (tensor((1, 4, 5, 5), "meta"), tensor((4, 2, 3, 3), "meta"), None, [2, 2], [1, 1], [1, 1], True, [1, 1], 1)
    assert outcome(_convolution_outputs, *args) == outcome(aten.convolution.default, *args) == (
        (1, 2, 10, 10), torch.float32)  # (5-1)*2 - 2*1 + (3-1) + 1 + 1


@pytest.mark.parametrize(("x_dtype", "w_dtype"), [(torch.float16, torch.float16), (torch.float64, torch.float64),
                                                  (torch.bfloat16, torch.bfloat16), (torch.float32, torch.float16),
                                                  (torch.float16, torch.float32)])
def test_convolution_dtypes(x_dtype: torch.dtype, w_dtype: torch.dtype) -> None:
    case = ((1, 3, 6, 6), (4, 3, 3, 3), (4,), [1, 1], [1, 1], [1, 1], 1, x_dtype, w_dtype)
    assert conv_mismatch(*case) is None


def test_convolution_grid() -> None:
    rng = random.Random(20261129)
    wrong: list[str] = []
    for spatial in (1, 2, 3):
        for _ in range(400 if spatial < 3 else 150):
            channels, groups = rng.choice((1, 2, 3, 4, 6)), rng.choice((1, 1, 2, 3))
            weight_in = rng.choice((channels // groups or 1, channels // groups or 1, 1, 2))
            out = rng.choice((1, 2, 3, 4, 6))
            sizes = [rng.randint(1, 7) for _ in range(spatial)]
            kernel = [rng.randint(1, 4) for _ in range(spatial)]
            stride = [rng.randint(1, 3) for _ in range(spatial)]
            padding = [rng.randint(0, 2) for _ in range(spatial)]
            dilation = [rng.randint(1, 3) for _ in range(spatial)]
            bias = rng.choice((None, (out,), (out,), (out + 1,)))
            case = ((rng.choice((1, 2)), channels, *sizes), (out, weight_in, *kernel), bias, stride, padding, dilation,
                    groups)
            problem = conv_mismatch(*case)
            if problem:
                wrong.append(f"{case}: {problem}")
    assert not wrong, "\n".join(wrong[:20])


@pytest.mark.parametrize(("stride", "padding", "dilation"), [([2], [1], [1]), ([1], [0], [2]), ([2, 2], [1], [1, 1]),
                                                             ([1, 1], [0, 0], [2])])
def test_convolution_takes_one_value_for_every_dimension(stride: list[int], padding: list[int],
                                                         dilation: list[int]) -> None:
    # BUG: torch (meta and CPU) expands a one-element stride, padding or dilation to every spatial dimension, as in
    # torch.convolution(x, w, None, [2], [1], [1], False, [0], 1); the fast kernel indexes past it (IndexError)
    case = ((1, 3, 8, 8), (4, 3, 3, 3), None, stride, padding, dilation, 1)
    assert conv_mismatch(*case) is None


class OneValueStride(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(4, 3, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.convolution(x, self.weight, None, [2], [1], [1], False, [0], 1)


def test_a_one_value_stride_is_counted_on_meta() -> None:
    # the same bug seen from analyze(): the counts are right, but only because the walk falls back to real tensors
    # ("the forward cannot run on meta tensors: IndexError: list index out of range")
    analysis = analyze(OneValueStride(), (1, 3, 8, 8))
    assert analysis.totals.macs == 3 * 4 * 9 * 4 * 4  # output 4x4: (8 + 2 - 3) // 2 + 1
    assert analysis.execution.value == "meta", analysis.execution_reason


def test_convolution_of_no_input_channels() -> None:
    # torch gives no output channels for an input with none (meta and CPU alike: (1, 0, 6, 6)); the fast kernel
    # gives the weight's four
    assert conv_mismatch((1, 0, 8, 8), (4, 0, 3, 3), None, [1, 1], [0, 0], [1, 1], 1) is None


# --- mm and addmm -------------------------------------------------------------------------------

MATRIX_SHAPES = [(2, 3), (3, 4), (4, 3), (3, 3), (1, 1), (3,), (4,), (1, 2, 3), (0, 3), (3, 0), (2, 0), (0, 4), ()]
DTYPE_PAIRS = [(torch.float32, torch.float32), (torch.float16, torch.float16), (torch.float64, torch.float64),
               (torch.float16, torch.float32), (torch.float32, torch.float16), (torch.bfloat16, torch.float32)]


def mm_mismatch(a: Sequence[int], b: Sequence[int], a_dtype: torch.dtype, b_dtype: torch.dtype) -> str | None:
    meta = outcome(aten.mm.default, tensor(a, "meta", a_dtype), tensor(b, "meta", b_dtype))
    cpu = outcome(aten.mm.default, tensor(a, "cpu", a_dtype), tensor(b, "cpu", b_dtype))
    fast = outcome(_mm_outputs, tensor(a, "meta", a_dtype), tensor(b, "meta", b_dtype))
    return mismatch(fast, meta, cpu)


def test_mm_grid() -> None:
    wrong = [f"{a} {a_dtype} @ {b} {b_dtype}: {problem}"
             for a, b in itertools.product(MATRIX_SHAPES, repeat=2) for a_dtype, b_dtype in DTYPE_PAIRS
             if (problem := mm_mismatch(a, b, a_dtype, b_dtype))]
    assert not wrong, "\n".join(wrong[:20])


@pytest.mark.parametrize(("a", "b", "expected"), [((2, 3), (3, 4), (2, 4)), ((2, 3), (4, 3), None),
                                                  ((3,), (3, 4), None), ((2, 3), (3,), None), ((2, 0), (0, 4), (2, 4))])
def test_mm_shapes(a: tuple[int, ...], b: tuple[int, ...], expected: tuple[int, ...] | None) -> None:
    result = outcome(_mm_outputs, tensor(a, "meta"), tensor(b, "meta"))
    assert result == (None if expected is None else (expected, torch.float32))
    assert mm_mismatch(a, b, torch.float32, torch.float32) is None


def test_mm_refuses_mixed_dtypes() -> None:
    assert outcome(_mm_outputs, tensor((2, 3), "meta", torch.float16), tensor((3, 4), "meta")) is None
    assert outcome(_mm_outputs, tensor((2, 3), "meta", torch.float16), tensor((3, 4), "meta", torch.float16)) == (
        (2, 4), torch.float16)


def addmm_mismatch(bias: Sequence[int], a: Sequence[int], b: Sequence[int], bias_dtype: torch.dtype = torch.float32,
                   dtype: torch.dtype = torch.float32, **kwargs: Any) -> str | None:
    def args(device: str) -> tuple[Any, ...]:
        return tensor(bias, device, bias_dtype), tensor(a, device, dtype), tensor(b, device, dtype)

    meta = outcome(aten.addmm.default, *args("meta"), **kwargs)
    cpu = outcome(aten.addmm.default, *args("cpu"), **kwargs)
    fast = outcome(_addmm_outputs, *args("meta"), **kwargs)
    return mismatch(fast, meta, cpu)


def bias_shapes(m: int, n: int) -> list[tuple[int, ...]]:
    return [(), (n,), (1,), (m, n), (m, 1), (1, n), (1, 1), (m,), (n + 1,), (n, m), (0,), (1, m, n), (m, n, 1),
            (2, m, n), (m + 1, n)]


@pytest.mark.parametrize(("m", "k", "n"), [(2, 3, 4), (3, 2, 3), (1, 5, 1), (4, 1, 2), (0, 3, 2)])
def test_addmm_bias_shapes(m: int, k: int, n: int) -> None:
    wrong = [f"bias {bias} + ({m}, {k}) @ ({k}, {n}): {problem}" for bias in bias_shapes(m, n)
             if (problem := addmm_mismatch(bias, (m, k), (k, n)))]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("bias", [(4,), (1,), (2, 4), (2, 1), (1, 4), ()])
def test_addmm_accepts_every_broadcastable_bias(bias: tuple[int, ...]) -> None:
    assert outcome(_addmm_outputs, tensor(bias, "meta"), tensor((2, 3), "meta"), tensor((3, 4), "meta")) == (
        (2, 4), torch.float32)


@pytest.mark.parametrize("bias", [(3,), (2,), (4, 2), (2, 4, 1), (0,), (5,)])
def test_addmm_refuses_a_bias_that_does_not_broadcast(bias: tuple[int, ...]) -> None:
    assert outcome(_addmm_outputs, tensor(bias, "meta"), tensor((2, 3), "meta"), tensor((3, 4), "meta")) is None
    assert addmm_mismatch(bias, (2, 3), (3, 4)) is None


def test_addmm_matrices() -> None:
    wrong = [f"({a}) @ ({b}): {problem}" for a, b in itertools.product(MATRIX_SHAPES, repeat=2)
             if (problem := addmm_mismatch((1,), a, b))]
    assert not wrong, "\n".join(wrong[:20])


@pytest.mark.parametrize(("bias_dtype", "dtype"), [(torch.float16, torch.float32), (torch.float32, torch.float16),
                                                   (torch.float16, torch.float16), (torch.float64, torch.float64)])
def test_addmm_dtypes(bias_dtype: torch.dtype, dtype: torch.dtype) -> None:
    assert addmm_mismatch((4,), (2, 3), (3, 4), bias_dtype, dtype) is None
    fast = outcome(_addmm_outputs, tensor((4,), "meta", bias_dtype), tensor((2, 3), "meta", dtype),
                   tensor((3, 4), "meta", dtype))
    assert fast == (((2, 4), dtype) if bias_dtype == dtype else None)


def test_addmm_takes_beta_and_alpha() -> None:
    assert addmm_mismatch((4,), (2, 3), (3, 4), beta=0.5, alpha=2) is None
    assert outcome(_addmm_outputs, tensor((4,), "meta"), tensor((2, 3), "meta"), tensor((3, 4), "meta"), beta=0.5,
                   alpha=2) == ((2, 4), torch.float32)


# --- broadcasting ---------------------------------------------------------------------------------


def broadcast_outcome(function: Callable[..., Sequence[int]], *shapes: Sequence[int]) -> tuple[int, ...] | None:
    try:
        return tuple(function(*shapes))
    except Exception:
        return None


def every_shape(max_dims: int, sizes: Sequence[int]) -> list[tuple[int, ...]]:
    return [shape for dims in range(max_dims + 1) for shape in itertools.product(sizes, repeat=dims)]


def test_broadcast_pairs() -> None:
    shapes = every_shape(3, (0, 1, 2, 3))
    wrong = [f"{a}, {b}: torch {expected}, fast {got}" for a, b in itertools.product(shapes, repeat=2)
             if (expected := broadcast_outcome(torch.broadcast_shapes, a, b)) != (
                 got := broadcast_outcome(_broadcast, a, b))]
    assert not wrong, "\n".join(wrong[:20])


def test_broadcast_triples_and_none() -> None:
    shapes = every_shape(2, (1, 2, 3))
    wrong = [f"{shapes_}: torch {expected}, fast {got}" for shapes_ in itertools.product(shapes, repeat=3)
             if (expected := broadcast_outcome(torch.broadcast_shapes, *shapes_)) != (
                 got := broadcast_outcome(_broadcast, *shapes_))]
    assert not wrong, "\n".join(wrong[:20])
    assert _broadcast() == tuple(torch.broadcast_shapes()) == ()
    assert _broadcast((5, 1, 3), (4, 1), torch.Size([1])) == (5, 4, 3)
    with pytest.raises(RuntimeError):
        _broadcast((2, 3), (2,))


# --- what the kernels are for ---------------------------------------------------------------------

CHILD = """
import json, sys
from torch import nn
from convcost.analyzer import analyze

model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(8 * 6 * 6, 4))
analysis = analyze(model, (2, 3, 8, 8))
print(json.dumps({"macs": analysis.totals.macs, "execution": str(analysis.execution.value),
                  "loaded": [name for name in ("sympy", "torch._dynamo") if name in sys.modules]}))
"""


def test_counting_loads_neither_sympy_nor_dynamo() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["execution"] == "meta"  # counted on meta tensors, where the shape-only kernels answer
    assert report["loaded"] == []
    assert report["macs"] == 2 * (3 * 8 * 9 * 6 * 6) + 2 * (8 * 6 * 6 * 4)  # 15,552 + 2,304


# --- max pooling --------------------------------------------------------------------------------


def _pool_outcome(kernel: Callable[..., Any], *args: Any) -> tuple[tuple[int, ...], torch.dtype, torch.dtype] | None:
    try:
        out, indices = kernel(*args)
    except Exception:
        return None
    return tuple(out.shape), out.dtype, indices.dtype


@pytest.mark.parametrize("batched", [True, False])
def test_max_pool2d_grid_is_the_meta_kernels(batched: bool) -> None:
    reference = torch.ops.aten.max_pool2d_with_indices.default
    cases = itertools.product([1, 2, 5, 8, 13], [6, 9], [[1], [3], [2, 3]], [[], [1], [2], [2, 1]], [[0], [1], [0, 1]],
                              [[1], [2]], [False, True])
    for height, width, kernel, stride, padding, dilation, ceil_mode in cases:
        x = torch.empty((2, 3, height, width) if batched else (3, height, width), device="meta")
        args = (x, kernel, stride, padding, dilation, ceil_mode)
        assert _pool_outcome(_max_pool2d_outputs, *args) == _pool_outcome(reference, *args), args
