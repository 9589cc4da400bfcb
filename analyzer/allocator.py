"""Freed memory kept for reuse while convcost times a network.

glibc's ``malloc`` hands a freed block above its (dynamic, up to 32 MiB) threshold back to the system, so every
forward of a large network touches fresh pages again: 36,000–65,000 minor page faults a forward for
EfficientNet-B5 on this project's machine, where first touching memory costs about 0.3 ms per MiB. A single-layer
micro-benchmark reuses its memory and never pays that, so its fit and a whole network's timing measured two
different allocators. :func:`keep_freed_memory` tells glibc to keep freed memory (``mallopt``: the mmap threshold
and the trim threshold raised), as PyTorch's CUDA caching allocator or jemalloc do; convcost's commands and report
workers call it before they time anything, so the latency model is fitted and checked under the same allocator.
It changes the whole process, which is why :func:`~convcost.analyzer.profiling.profile` never calls it by itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

from .naming import StrEnum

#: ``mallopt`` parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap and stay there when freed (bytes).
MMAP_THRESHOLD_BYTES = 1 << 30
#: Free memory at the heap's top up to this size is kept, not trimmed (bytes).
TRIM_THRESHOLD_BYTES = (1 << 31) - 1


class AllocatorMode(StrEnum):
    """How the process's allocator treats freed memory."""

    #: the C library's defaults (glibc: large freed blocks go back to the system)
    DEFAULT = "default"
    #: freed memory kept for reuse (:func:`keep_freed_memory`)
    KEEP_FREED = "keep-freed"


_mode = AllocatorMode.DEFAULT


def keep_freed_memory() -> AllocatorMode:
    """Tell glibc to keep freed memory for reuse, for the rest of this process, and return the mode in force
    (:attr:`AllocatorMode.DEFAULT` where the C library is not glibc or refuses)."""
    global _mode
    if _mode is AllocatorMode.KEEP_FREED or not sys.platform.startswith("linux"):
        return _mode
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return _mode
    if mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1 and mallopt(_M_TRIM_THRESHOLD,
                                                                          TRIM_THRESHOLD_BYTES) == 1:
        _mode = AllocatorMode.KEEP_FREED
    return _mode


def allocator_mode() -> AllocatorMode:
    """The mode in force in this process."""
    return _mode


__all__ = ["AllocatorMode", "allocator_mode", "keep_freed_memory"]
