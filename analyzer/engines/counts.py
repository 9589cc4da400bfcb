"""What an engine returns: per-module operator tallies, unsupported and free operators."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..formulas.ops import MATRIX_KEYS, OpKey

if TYPE_CHECKING:
    from .base import EngineName


@dataclass
class OpTally:
    """Accumulated cost of one operator key inside one module.

    ``in_elements`` and ``out_elements`` count the elements of each call's first tensor
    argument and first output: other tools' counting rules are stated in them.
    """

    calls: int = 0
    macs: int = 0
    flops: int = 0
    in_elements: int = 0
    out_elements: int = 0

    def add(self, calls: int, macs: int, flops: int, in_elements: int = 0, out_elements: int = 0) -> None:
        """Accumulate another call (or several)."""
        self.calls += calls
        self.macs += macs
        self.flops += flops
        self.in_elements += in_elements
        self.out_elements += out_elements


@dataclass
class EngineCounts:
    """Per-module *own* operator costs from one engine (see ``tracker`` for the attribution rule).

    Attributes:
        engine: name of the engine that counted.
        ops: module name → operator key → tally.
        unsupported: module name → aten operator name → calls with no formula.
        free: aten operator name → calls that cost nothing by a stated rule.
        ignored: aten operator name → calls the analysis was told to ignore.
    """

    engine: EngineName
    ops: dict[str, dict[OpKey, OpTally]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(OpTally)))
    unsupported: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    free: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)

    def macs(self, module: str) -> int:
        """Own multiply-accumulates of ``module`` (convolutions and matrix products)."""
        tallies = self.ops.get(module, {})
        return sum(tallies[key].macs for key in MATRIX_KEYS if key in tallies)
