"""Freed memory kept for reuse while timing: glibc's thresholds raised once, and the latency model's fit keyed by
the allocator mode it was measured under."""

import subprocess
import sys

import pytest

from convcost.analyzer.allocator import AllocatorMode, allocator_mode
from convcost.analyzer.latency_model import cache_key
from convcost.analyzer.roofline import Roofline

SCRIPT = """
import resource, torch
from convcost.analyzer.allocator import allocator_mode, keep_freed_memory
from convcost.analyzer.latency_model import cache_key
from convcost.analyzer.roofline import Roofline
roof = Roofline(100.0, 20.0, "cpu", True, "test")
before = cache_key(roof, 2, "cpu")
mode = keep_freed_memory()
assert keep_freed_memory() is mode and allocator_mode() is mode  # once per process
def faults():
    for _ in range(3):
        torch.empty(64 * 2**20, dtype=torch.uint8).fill_(1)  # 64 MiB, freed at once
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        torch.empty(64 * 2**20, dtype=torch.uint8).fill_(1)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start
print(mode, faults(), before != cache_key(roof, 2, "cpu"))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_memory_is_reused_after_keep_freed_memory() -> None:
    # a process of its own: the setting lasts for the process
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout.split()
    mode, faults, key_changed = out
    assert mode == AllocatorMode.KEEP_FREED.value and key_changed == "True"
    # 5 × 64 MiB fills touch 81,920 fresh 4 KiB pages when each block goes back to the system; reused: none
    assert int(faults) < 1_000


def test_a_fit_is_keyed_by_the_allocator_mode() -> None:
    roof = Roofline(100.0, 20.0, "cpu", True, "test")
    assert cache_key(roof, 2, "cpu").endswith(f"|allocator {allocator_mode()}")
