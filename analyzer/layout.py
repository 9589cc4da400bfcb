"""What a model declares about its parts, and each module's part and cost category.

A network may declare which of its submodules are its stem, stages, head, classifier and
squeeze-and-excitation gates with a ``module_roles()`` method returning ``{module name:
role}`` (the built-in zoo does, as timm's ``feature_info`` names stages). Nothing is guessed
from module names: a model that declares nothing has no stages, and its modules fall in no
part (``part`` is None) and in no SE or head category.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from torch import nn

from .formulas.layers import ConvKind
from .naming import StrEnum


class ModuleRole(StrEnum):
    """A declared part of a network."""

    STEM = "stem"
    STAGE = "stage"
    HEAD = "head"
    CLASSIFIER = "classifier"
    SE = "se"


class CostCategory(StrEnum):
    """What a module's cost is spent on, in report order: conv/linear kinds, SE, head and classifier, other."""

    STANDARD = "standard"
    DEPTHWISE = "depthwise"
    POINTWISE = "pointwise"
    GROUPED = "grouped"
    TRANSPOSED = "transposed"
    LINEAR = "linear"
    SE = "SE"
    HEAD = "head/classifier"
    OTHER = "other"


#: The category of each conv/linear kind outside SE gates, heads and classifiers.
KIND_CATEGORIES: dict[ConvKind, CostCategory] = {
    ConvKind.STANDARD: CostCategory.STANDARD, ConvKind.DEPTHWISE: CostCategory.DEPTHWISE,
    ConvKind.POINTWISE: CostCategory.POINTWISE, ConvKind.GROUPED: CostCategory.GROUPED,
    ConvKind.TRANSPOSED: CostCategory.TRANSPOSED, ConvKind.LINEAR: CostCategory.LINEAR,
}
#: Roles that make a module a part of the network (the unit of per-stage breakdowns).
PART_ROLES: frozenset[ModuleRole] = frozenset({ModuleRole.STEM, ModuleRole.STAGE, ModuleRole.HEAD,
                                               ModuleRole.CLASSIFIER})
#: The method a model declares its roles with.
DECLARATION = "module_roles"


@dataclass(frozen=True)
class Layout:
    """The roles a model declares (empty when it declares none).

    Attributes:
        roles: module name → role, in the order declared.
    """

    roles: Mapping[str, ModuleRole] = field(default_factory=dict)

    @property
    def declared(self) -> bool:
        """The model declared its parts."""
        return bool(self.roles)

    @property
    def stages(self) -> tuple[str, ...]:
        """Module names of the declared stages, in order."""
        return tuple(name for name, role in self.roles.items() if role is ModuleRole.STAGE)

    def _enclosing(self, name: str) -> list[tuple[str, ModuleRole]]:
        """Declared modules that are ``name`` or hold it, innermost first."""
        found = []
        parts = name.split(".") if name else []
        for end in range(len(parts), 0, -1):
            prefix = ".".join(parts[:end])
            role = self.roles.get(prefix)
            if role is not None:
                found.append((prefix, role))
        return found

    def part_of(self, name: str) -> str | None:
        """The innermost declared stem, stage, head or classifier holding module ``name``, if any."""
        return next((prefix for prefix, role in self._enclosing(name) if role in PART_ROLES), None)

    def category(self, name: str, kind: ConvKind | None) -> CostCategory:
        """Inside a declared head or classifier: ``head/classifier``; inside a declared SE gate: ``SE``;
        else the conv/linear ``kind``, else ``other``."""
        roles = {role for _, role in self._enclosing(name)}
        if roles & {ModuleRole.HEAD, ModuleRole.CLASSIFIER}:
            return CostCategory.HEAD
        if ModuleRole.SE in roles:
            return CostCategory.SE
        return KIND_CATEGORIES[kind] if kind is not None else CostCategory.OTHER


def declared_layout(model: nn.Module) -> Layout:
    """The roles ``model`` declares through ``module_roles()``, or an empty layout (no method, or it returns None).

    Raises:
        ValueError: the declaration names a module the model does not have, or a role that is not a
            :class:`ModuleRole` (the message says which).
    """
    declare = getattr(model, DECLARATION, None)
    if not callable(declare):
        return Layout()
    declared = declare()
    if declared is None:  # the model has the method but declares nothing
        return Layout()
    if not isinstance(declared, Mapping):
        raise ValueError(f"{type(model).__name__}.{DECLARATION}() must return a mapping of module name to role; "
                         f"got {type(declared).__name__}")
    names = {name for name, _ in model.named_modules()}
    roles: dict[str, ModuleRole] = {}
    valid = ", ".join(role.value for role in ModuleRole)
    for name, role in declared.items():
        if name not in names:
            raise ValueError(f"{type(model).__name__}.{DECLARATION}() names {name!r}, which is not one of its modules")
        try:
            roles[name] = ModuleRole(role)
        except ValueError:
            raise ValueError(f"{type(model).__name__}.{DECLARATION}() gives {name!r} the role {role!r}; "
                             f"roles are {valid}") from None
    return Layout(roles)
