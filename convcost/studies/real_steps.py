"""The swish study's real training steps: saved-for-backward bytes reported by autograd on CPU tensors.

Apart from the counting and the report (:mod:`convcost.studies.swish`), this module imports only
torch, the architectures and the analyzer, so the fresh worker process that runs real steps (away
from forked workers) stays small: no plotting or table library is loaded there.
"""

from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass
from typing import Any

import torch

from convcost.analyzer.real_run import intra_op_threads
from convcost.analyzer.real_step import real_saved_bytes
from convcost.architectures import create_model, model_info

__all__ = ["CHECK_BATCH", "CHECK_RESOLUTION", "RealSavedJob", "measure_saved"]

#: Input of the real training step the saved bytes are checked against (small, so it runs in a second on CPU).
CHECK_BATCH, CHECK_RESOLUTION = 2, 64


def measure_saved(model: str, variant: str) -> int:
    """Bytes autograd saves in a real training step of registry ``model`` built with activation ``variant``, on
    CPU tensors of :data:`CHECK_BATCH` × :data:`CHECK_RESOLUTION` px."""
    overrides: dict[str, Any] = {"activation": variant}
    if "image_size" in model_info(model).overrides:
        overrides["image_size"] = CHECK_RESOLUTION
    module = create_model(model, device="meta", **overrides)
    image = torch.empty(CHECK_BATCH, 3, CHECK_RESOLUTION, CHECK_RESOLUTION, device="meta")
    return real_saved_bytes(module, (image,))


@dataclass(frozen=True)
class RealSavedJob:
    """Saved bytes of a real training step of registry ``model`` built with ``variant`` (:func:`measure_saved`)."""

    model: str
    variant: str

    @property
    def isolated(self) -> bool:
        """Real arithmetic: never in a forked worker (an OpenMP pool made before the fork hangs it)."""
        return True

    @property
    def timed(self) -> bool:
        """It counts bytes, not time: it may run while other work does."""
        return False

    def run(self) -> int:
        """:func:`measure_saved`, on one thread (it is small; the report's other work has the other cores)."""
        try:
            with intra_op_threads(1):
                return measure_saved(self.model, self.variant)
        finally:
            release_freed_memory()


def release_freed_memory() -> None:
    """Give the C allocator's freed blocks back to the system (glibc's ``malloc_trim``; elsewhere nothing), so a
    worker that runs a real step and then other work does not carry the step's high-water mark into it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        return
