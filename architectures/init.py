"""Weight initialisation shared by the families (torchvision's scheme)."""

from __future__ import annotations

import math

from torch import nn


def init_weights(model: nn.Module) -> None:
    """Kaiming-normal (fan out) convs, unit/zero norms, uniform(±1/√out) linear weights, zero biases.

    A model on the ``meta`` device has no values to initialise and is left alone.
    """
    if any(p.is_meta for p in model.parameters()):
        return
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            bound = 1.0 / math.sqrt(module.out_features)
            nn.init.uniform_(module.weight, -bound, bound)
            nn.init.zeros_(module.bias)
