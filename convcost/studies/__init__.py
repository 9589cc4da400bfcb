"""The studies: one plug-in module each, registered on import (see :mod:`convcost.studies.base`).

- ``scaling``: EfficientNet B0–B7 costs and MACs against the compound-scaling law.
- ``dwsep``: depthwise-separable savings per layer and per network vs ``1/C_out + 1/k²``.
- ``se``: what squeeze-and-excitation costs and where its parameters sit.
- ``swish``: training memory of Swish, MemoryEfficientSwish and ``nn.SiLU``.
- ``fused``: MBConv vs Fused-MBConv per stage, with measured CPU latency.
- ``training``: one training step of every model, and FlopCounterMode's figure beside the truth.
- ``plan``: training memory against batch size and the largest batch within a budget.
- ``conventions``: why counting tools (fvcore, thop, ptflops …) disagree, operator by operator.

A study module holds the study's computation (pure functions from models or analyses to
frozen records of raw numbers), its report section and chart, and its :class:`Study`
plug-in. Every one runs the ``dispatch`` engine on ``meta`` models except the fused
study's latency. The registry imports every module of this package the first time it is
read, so a new study is one new module (and its test); :func:`registered_studies` lists them
in report order. Names here are imported on first use: this package alone loads no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convcost.analyzer.lazy import lazy_exports

if TYPE_CHECKING:
    from .base import (
        Invocation,
        Job,
        SettingsError,
        Study,
        StudyOption,
        get_study,
        register_study,
        registered_studies,
        study_names,
        unregister_study,
    )
    from .common import AnalysisJob, analyze_model

__all__ = [
    "AnalysisJob",
    "Invocation",
    "Job",
    "SettingsError",
    "Study",
    "StudyOption",
    "analyze_model",
    "get_study",
    "register_study",
    "registered_studies",
    "study_names",
    "unregister_study",
]
__getattr__, __dir__ = lazy_exports(__name__, {
    name: ".common" if name in ("AnalysisJob", "analyze_model") else ".base" for name in __all__
})
