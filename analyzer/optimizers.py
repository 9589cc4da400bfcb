"""Optimizer steps, counted from their update rules, per trainable parameter element.

Each rule is PyTorch's update with its default settings (``torch.optim``), one FLOP per
elementary operation (a square root counts as one); per-step scalars (bias corrections, the
step size) are not per element and not counted. State is what the optimizer keeps between
steps, in parameter-sized slots of the parameter's dtype (Adam's per-parameter ``step`` scalar
is not counted). A new optimizer is one :func:`register_optimizer` call.
"""

from __future__ import annotations

from dataclasses import dataclass

from .naming import StrEnum

__all__ = ["OPTIMIZER_RULES", "Optimizer", "OptimizerRule", "optimizer_rule", "register_optimizer"]


class Optimizer(StrEnum):
    """An optimizer whose step is counted."""

    SGD = "sgd"
    SGD_MOMENTUM = "sgd-momentum"
    ADAM = "adam"
    ADAMW = "adamw"


@dataclass(frozen=True)
class OptimizerRule:
    """What one step costs per trainable parameter element: ``flops``, and ``state_slots`` parameter-sized
    tensors kept between steps; ``rule`` says it in words."""

    optimizer: Optimizer
    flops: int
    state_slots: int
    rule: str


OPTIMIZER_RULES: dict[Optimizer, OptimizerRule] = {}


def register_optimizer(rule: OptimizerRule) -> OptimizerRule:
    """Add (or replace) the rule of ``rule.optimizer``."""
    OPTIMIZER_RULES[rule.optimizer] = rule
    return rule


def optimizer_rule(optimizer: Optimizer | str) -> OptimizerRule:
    """The rule of ``optimizer`` (a member or its name).

    Raises:
        ValueError: an unknown optimizer (the message lists the known ones).
    """
    try:
        return OPTIMIZER_RULES[Optimizer(optimizer)]
    except ValueError:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(o.value for o in Optimizer)}")\
            from None


register_optimizer(OptimizerRule(Optimizer.SGD, 2, 0, "p −= lr·g: a multiply and an add"))
register_optimizer(OptimizerRule(Optimizer.SGD_MOMENTUM, 4, 1,
                                 "b = μ·b + g (2), p −= lr·b (2); the momentum buffer is kept"))
register_optimizer(OptimizerRule(
    Optimizer.ADAM, 13, 2,
    "m = m + (1 − β1)·(g − m) (3), v = β2·v + (1 − β2)·g² (4), d = √v / c2 + ε (3), p −= s·m / d (3); "
    "the two moments are kept"))
register_optimizer(OptimizerRule(Optimizer.ADAMW, 14, 2, "Adam's 13, and the decoupled decay p ·= 1 − lr·λ (1)"))
