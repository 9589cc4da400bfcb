"""The studies: one plug-in module each, registered on import (see :mod:`convcost.studies.base`).

Nothing here lists them (a list would go stale): :func:`registered_studies` gives every study
in report order, and ``convcost study --help`` names each with its title. A study module
holds the study's computation (pure functions from models or analyses to frozen records of
raw numbers), its report section and chart, and its :class:`Study` plug-in. Its counting
jobs run the ``dispatch`` engine on ``meta`` models; a job that needs real tensors (timing,
a real training step) says so (``isolated``) and runs alone. The registry imports every
module of this package the first time it is read, so a new study is one new module (and its
test). Names here are imported on first use: this package alone loads no torch.
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
