"""Closed-form cost formulas: per aten operator (``ops``) and per layer from hyper-parameters (``layers``)."""

from .ops import FREE_OPS, OP_FORMULAS, OpCall, OpCost, OpFormula, TensorArg, conv_macs, register_free, register_op

__all__ = [
    "FREE_OPS",
    "OP_FORMULAS",
    "OpCall",
    "OpCost",
    "OpFormula",
    "TensorArg",
    "conv_macs",
    "register_free",
    "register_op",
]
