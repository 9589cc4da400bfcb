"""convcost: what a convolutional network costs, layer by layer, checked three ways.

The public API::

    from convcost import analyze, create_model, list_models

    analysis = analyze(create_model("efficientnet_b0", device="meta"), (1, 3, 224, 224))
    analysis.totals.macs  # 385814752 multiply-accumulates
    print(analysis.summary(depth=2))  # the table; also to_csv(), to_json(), to_html()

Subpackages: ``convcost.architectures`` (the model zoo, plain PyTorch), ``convcost.analyzer``
(engines, operator formulas, records), ``convcost.reports`` (tables, CSV/JSON, charts, HTML),
``convcost.studies`` (the studies, one plug-in module each) and ``convcost.cli`` (the command).
Names are imported on first use, so ``import convcost`` alone does not load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .analyzer import AnalysisError, InputShapeError
    from .analyzer.profiling import Profile, profile
    from .api import Analysis, analyze
    from .architectures import ModelInfo, UnknownModelError, create_model, list_models, model_info
    from .loading import LoadedModel, ModelLoadError, load_model

#: Public name → the module that defines it.
_SOURCES: dict[str, str] = {
    "Analysis": "convcost.api",
    "AnalysisError": "convcost.analyzer",
    "InputShapeError": "convcost.analyzer",
    "analyze": "convcost.api",
    "ModelInfo": "convcost.architectures",
    "UnknownModelError": "convcost.architectures",
    "create_model": "convcost.architectures",
    "list_models": "convcost.architectures",
    "model_info": "convcost.architectures",
    "LoadedModel": "convcost.loading",
    "ModelLoadError": "convcost.loading",
    "load_model": "convcost.loading",
    "Profile": "convcost.analyzer.profiling",
    "profile": "convcost.analyzer.profiling",
}

__all__ = [
    "Analysis",
    "AnalysisError",
    "InputShapeError",
    "LoadedModel",
    "ModelInfo",
    "ModelLoadError",
    "Profile",
    "UnknownModelError",
    "__version__",
    "analyze",
    "create_model",
    "list_models",
    "load_model",
    "model_info",
    "profile",
]


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'convcost' has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SOURCES})
