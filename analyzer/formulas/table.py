"""The operator formulas one analysis uses: the registry's, with overrides and ignored operators of its own.

``analyze(model, shape, ops={"aten::silu": formula}, ignore=["aten::dropout"])`` counts with
a formula for this analysis only (the registry of :mod:`.ops` is not touched) and counts
ignored operators as nothing, listing them by name with their calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .ops import FREE_OPS, OP_FORMULAS, OpFormula


def op_name(op: Any) -> str:
    """``"aten::silu"``, ``torch.ops.aten.silu`` or ``torch.ops.aten.silu.default`` as ``aten::silu``.

    Raises:
        ValueError: not an operator name of the form ``namespace::name`` or a torch operator.
    """
    if isinstance(op, str):
        name = op
    elif hasattr(op, "_qualified_op_name"):  # an OpOverloadPacket
        name = str(op._qualified_op_name)
    elif callable(getattr(op, "name", None)):  # an OpOverload: "aten::silu.default"
        name = str(op.name()).split(".")[0]
    else:
        raise ValueError(f"an operator is named like 'aten::silu' or given as torch.ops.aten.silu; got {op!r}")
    namespace, separator, base = name.partition("::")
    if not separator or not namespace.isidentifier() or not base.isidentifier():
        raise ValueError(f"an operator is named like 'aten::silu' (namespace::name, no overload); got {name!r}")
    return name


@dataclass(frozen=True)
class OpTable:
    """Formulas and free operators by aten name, and the names counted as nothing.

    Attributes:
        formulas: aten name → formula; free: aten name → why it costs nothing.
        ignored: aten names counted as nothing (listed in the analysis as ignored, with their calls).
    """

    formulas: Mapping[str, OpFormula] = field(default_factory=lambda: OP_FORMULAS)
    free: Mapping[str, str] = field(default_factory=lambda: FREE_OPS)
    ignored: frozenset[str] = frozenset()

    def formula(self, name: str) -> OpFormula | None:
        """The formula of ``name``, None when it has none or is ignored."""
        return None if name in self.ignored else self.formulas.get(name)


#: The registry's formulas, as every analysis uses them unless told otherwise.
DEFAULT_OPS = OpTable()


def op_table(ops: Mapping[Any, OpFormula] | None = None, ignore: Iterable[Any] = ()) -> OpTable:
    """The registry's table with ``ops`` overriding (or adding) formulas and ``ignore`` counted as nothing.

    Raises:
        ValueError: a name that is not an operator name, or a formula that is not an :class:`OpFormula`.
    """
    if not ops and not ignore:
        return DEFAULT_OPS
    formulas = dict(OP_FORMULAS)
    free = dict(FREE_OPS)
    for op, formula in (ops or {}).items():
        name = op_name(op)
        if not isinstance(formula, OpFormula):
            raise ValueError(f"the formula for {name} must be an OpFormula(key, cost, rule); got "
                             f"{type(formula).__name__}")
        formulas[name] = formula
        free.pop(name, None)
    return OpTable(formulas, free, frozenset(op_name(op) for op in ignore))
