"""convcost analyzer: measures what a network costs and checks the numbers three ways.

``analyze(model, (1, 3, 224, 224))`` returns an :class:`Analysis` of per-layer records.
Operator formulas live in ``formulas.ops`` (add a new op there), layer formulas in
``formulas.layers``, engines in ``engines/`` (one plug-in module each). This package imports
neither the model zoo nor the reports, and its names are imported on first use
(:mod:`.lazy`): ``from convcost.analyzer.engines.names import EngineName`` loads no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

if TYPE_CHECKING:
    from .analysis import Analysis, Verdict
    from .engines import ALL, EngineName, EngineSelection, registered_engines
    from .errors import AnalysisError, InputShapeError
    from .formulas.layers import ConvKind
    from .formulas.ops import OpKey
    from .layout import CostCategory, ModuleRole
    from .measure import analyze
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
__getattr__, __dir__ = lazy_exports(__name__, {
    "ALL": ".engines.names", "EngineName": ".engines.names", "EngineSelection": ".engines.names",
    "registered_engines": ".engines.base",
    "Analysis": ".analysis", "Verdict": ".analysis",
    "analyze": ".measure",
    "AnalysisError": ".errors", "InputShapeError": ".errors",
    "ConvKind": ".formulas.layers", "OpKey": ".formulas.ops",
    "CostCategory": ".layout", "ModuleRole": ".layout",
    **{name: ".records" for name in ("Disagreement", "EngineTotals", "Execution", "LayerCheck", "LayerRecord",
                                     "Totals")},
})
