"""convcost analyzer: measures what a network costs and checks the numbers three ways.

``analyze(model, (1, 3, 224, 224))`` returns an :class:`Analysis` of per-layer records.
Operator formulas live in ``formulas.ops`` (add a new op there), layer formulas in
``formulas.layers``, engines in ``engines/``.
"""

from .analysis import Analysis
from .analyze import ENGINES, analyze
from .errors import AnalysisError, InputShapeError
from .records import Disagreement, EngineTotals, LayerCheck, LayerRecord, Totals

__all__ = [
    "ENGINES",
    "Analysis",
    "AnalysisError",
    "Disagreement",
    "EngineTotals",
    "InputShapeError",
    "LayerCheck",
    "LayerRecord",
    "Totals",
    "analyze",
]
