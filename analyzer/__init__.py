"""convcost analyzer: measures what a network costs and checks the numbers three ways.

``analyze(model, (1, 3, 224, 224))`` returns an :class:`Analysis` of per-layer records.
Operator formulas live in ``formulas.ops`` (add a new op there), layer formulas in
``formulas.layers``, engines in ``engines/`` (one plug-in module each). This package imports
neither the model zoo nor the reports.
"""

from .analysis import Analysis, Verdict
from .analyze import analyze
from .engines import ALL, EngineName, EngineSelection, registered_engines
from .errors import AnalysisError, InputShapeError
from .formulas.layers import ConvKind
from .formulas.ops import OpKey
from .layout import CostCategory, ModuleRole
from .records import Disagreement, EngineTotals, Execution, LayerCheck, LayerRecord, Totals

__all__ = [
    "ALL",
    "Analysis",
    "AnalysisError",
    "ConvKind",
    "CostCategory",
    "Disagreement",
    "EngineName",
    "EngineSelection",
    "EngineTotals",
    "Execution",
    "InputShapeError",
    "LayerCheck",
    "LayerRecord",
    "ModuleRole",
    "OpKey",
    "Totals",
    "Verdict",
    "analyze",
    "registered_engines",
]
