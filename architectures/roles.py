"""Which part of a network each submodule is: the roles a zoo model's ``module_roles()`` reports.

Analysis tools read ``module_roles()`` by duck typing (as timm's ``feature_info`` names
stages), so they can group per-layer costs by part without knowing the zoo's attribute names.

Roles:
    ``stem``: the input conv(s) before the first stage.
    ``stage``: one stage, a direct child of the network's ``stages``.
    ``head``: the conv after the last stage that widens features before pooling.
    ``classifier``: the final linear layer.
    ``se``: a squeeze-and-excitation gate inside a block.
"""

from __future__ import annotations

from typing import Literal, get_args

from torch import nn

from .blocks import PoolSqueezeExcite
from .layers import SqueezeExcite

ModuleRole = Literal["stem", "stage", "head", "classifier", "se"]
#: Every role ``module_roles()`` may report, in network order.
MODULE_ROLES: tuple[str, ...] = get_args(ModuleRole)

#: The zoo's squeeze-and-excitation classes; a module has role ``se`` when it is an instance of one.
SQUEEZE_EXCITE_TYPES: tuple[type[nn.Module], ...] = (SqueezeExcite, PoolSqueezeExcite)


def layout_roles(model: nn.Module) -> dict[str, str]:
    """Roles of a ``stem → stages → [head] → fc`` network, keyed by ``model.named_modules()`` name.

    Order: ``stem``, each child of ``stages`` in order, ``head`` (only if the model has one),
    ``fc``, then every squeeze-and-excitation module in ``named_modules()`` order.
    """
    children = dict(model.named_children())
    roles: dict[str, ModuleRole] = {"stem": "stem"}
    for name, _ in children["stages"].named_children():
        roles[f"stages.{name}"] = "stage"
    if "head" in children:
        roles["head"] = "head"
    roles["fc"] = "classifier"
    for name, module in model.named_modules():
        if isinstance(module, SQUEEZE_EXCITE_TYPES):
            roles[name] = "se"
    return dict(roles)
