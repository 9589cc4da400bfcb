"""The studies of the design (issue 5): pure functions from models or analyses to typed records.

One module per study; each returns frozen dataclasses of raw integers and floats with a
``to_dataframe()`` helper, and prints or plots nothing (``reports`` renders them).

- ``scaling``: EfficientNet B0–B7 costs and MACs against the compound-scaling law.
- ``dwsep``: depthwise-separable savings per layer and per network vs ``1/C_out + 1/k²``.
- ``se``: what squeeze-and-excitation costs and where its parameters sit.
- ``swish``: training memory of Swish, MemoryEfficientSwish and ``nn.SiLU``.
- ``fused``: MBConv vs Fused-MBConv per stage, with measured CPU latency.
- ``plan``: training memory against batch size and the largest batch within a budget.
- ``tools``: why counting tools (fvcore, thop, ptflops …) disagree, operator by operator.

``suite`` lists the analyses and plans the main report's studies need and assembles the
studies from their results, so the report can run them in its worker pool.

All but the latency measurement run the ``dispatch`` engine on ``meta`` models, so they
spend no real memory; ``common.analyze_model`` is the shared entry point.
"""

from .common import analyze_model
from .dwsep import DwsepStudy, dwsep_study, separable_network, separable_pairs, textbook_pair
from .fused import FusedStudy, fused_study
from .plan import TrainingPlan, parse_bytes, training_plan
from .scaling import ScalingStudy, efficientnet_macs, scaling_from_analyses, scaling_study
from .se import SeComparison, SeStudy, compare_se, se_study
from .suite import StudyResults
from .swish import SwishStudy, swish_from_analyses, swish_study
from .tools import ConventionsStudy, conventions_study

__all__ = [
    "ConventionsStudy",
    "DwsepStudy",
    "FusedStudy",
    "ScalingStudy",
    "SeComparison",
    "SeStudy",
    "StudyResults",
    "SwishStudy",
    "TrainingPlan",
    "analyze_model",
    "compare_se",
    "conventions_study",
    "dwsep_study",
    "efficientnet_macs",
    "fused_study",
    "parse_bytes",
    "scaling_from_analyses",
    "scaling_study",
    "se_study",
    "separable_network",
    "separable_pairs",
    "swish_from_analyses",
    "swish_study",
    "textbook_pair",
    "training_plan",
]
