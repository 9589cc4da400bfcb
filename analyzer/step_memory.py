"""The training step's memory timeline: every allocation's live level, and when the backward frees what each
module's forward left for it.

A :class:`StepMemory` is the :class:`~convcost.analyzer.engines.dispatch.LiveBytes` of a training step: it
records, after every allocation, the live bytes and the moment (module and phase), so the peak at another
batch size can be found from a few analyses (:class:`MemoryTimeline`); and it notes, for each module, the bytes
its forward allocated that are still alive when the backward starts (saved for backward, or the outputs) and
the module whose backward frees the last of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .engines.dispatch import Allocation, LiveBytes
from .records import HeldBytes, MemoryTimeline, Phase

__all__ = ["StepMemory"]


@dataclass
class _Held:
    bytes: int = 0
    freed_by: str | None = None


class StepMemory(LiveBytes):
    """Live bytes of a training step, with its timeline and what each module holds for the backward.

    ``backward_module`` names the module whose backward is running (it is read when a storage is freed).
    """

    def __init__(self, excluded: set[int], backward_module: Callable[[], str]) -> None:
        super().__init__(excluded)
        self._backward_module = backward_module
        self._in_backward = False
        self._levels: list[int] = []
        self._moments: list[tuple[str, str]] = []
        self._held: dict[str, _Held] = {}
        self._holding: set[int] = set()  # numbers of the allocations the backward found alive

    def allocated(self, entry: Allocation) -> None:
        """Record the live level after ``entry``, and when it was made."""
        self._levels.append(self.current)
        self._moments.append((entry.module, entry.phase))

    def freed(self, entry: Allocation) -> None:
        """A storage the forward left for the backward is freed: the running backward module freed it."""
        if entry.number in self._holding:
            self._held[entry.module].freed_by = self._backward_module() if self._in_backward else None

    def start_backward(self) -> None:
        """The forward is over: what is alive now is held for the backward, by the module that made it."""
        for entry in self.live():
            if entry.phase == Phase.FORWARD.value:
                self._held.setdefault(entry.module, _Held()).bytes += entry.bytes
                self._holding.add(entry.number)
        self._in_backward = True

    def end_backward(self) -> None:
        """The backward is over: what is freed from now on lived through the step."""
        self._in_backward = False

    @property
    def held(self) -> dict[str, HeldBytes]:
        """Module → bytes its forward allocated that the backward found alive, and who freed the last of them."""
        return {module: HeldBytes(held.bytes, held.freed_by) for module, held in self._held.items()}

    @property
    def timeline(self) -> MemoryTimeline:
        """The live level after every allocation, with its moment."""
        modules = tuple(module for module, _ in self._moments)
        phases = tuple(Phase(phase) for _, phase in self._moments)
        return MemoryTimeline(tuple(self._levels), modules, phases)

