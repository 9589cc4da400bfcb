"""The convcost model zoo: plain PyTorch networks that know nothing about analysis.

Families register themselves on import: EfficientNet B0–B7, EfficientNetV2 S/M/L,
MobileNetV2 (width multipliers), ResNet-50 / SE-ResNet-50 and the CIFAR SENet18.
Add a family as a module that builds from a typed stage table and calls ``register_model``.
"""

from . import efficientnet, efficientnet_v2, mobilenet_v2, resnet  # noqa: F401  (registration)
from .efficientnet import (
    ALPHA,
    B0_HEAD_CHANNELS,
    B0_STAGES,
    B0_STEM_CHANNELS,
    BETA,
    EFFICIENTNET_SCALING,
    GAMMA,
    CompoundScaling,
    efficientnet_spec,
)
from .efficientnet_v2 import EFFICIENTNET_V2_SPECS
from .mobilenet_v2 import WIDTH_MULTIPLIERS, mobilenet_v2_spec
from .registry import ModelInfo, PublishedFigure, UnknownModelError, create_model, list_models, model_info
from .resnet import RESNET50_STAGES, SENET18_STAGES, ResNet
from .roles import MODULE_ROLES, ModuleRole
from .specs import BlockStage, NetOptions, ResNetStage, make_divisible, round_filters, round_repeats
from .staged_net import BuiltStage, NetSpec, StagedConvNet, build_stage

__all__ = [
    "ALPHA",
    "B0_HEAD_CHANNELS",
    "B0_STAGES",
    "B0_STEM_CHANNELS",
    "BETA",
    "EFFICIENTNET_SCALING",
    "EFFICIENTNET_V2_SPECS",
    "GAMMA",
    "MODULE_ROLES",
    "RESNET50_STAGES",
    "SENET18_STAGES",
    "WIDTH_MULTIPLIERS",
    "BlockStage",
    "BuiltStage",
    "CompoundScaling",
    "ModelInfo",
    "ModuleRole",
    "NetOptions",
    "NetSpec",
    "PublishedFigure",
    "ResNet",
    "ResNetStage",
    "StagedConvNet",
    "UnknownModelError",
    "build_stage",
    "create_model",
    "efficientnet_spec",
    "list_models",
    "make_divisible",
    "mobilenet_v2_spec",
    "model_info",
    "round_filters",
    "round_repeats",
]
