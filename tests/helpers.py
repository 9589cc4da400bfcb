"""Helpers shared by tests: the settings studies are tested with, and a section's chart drawn and checked."""

from __future__ import annotations

from typing import Any

import torch
from matplotlib.figure import Figure
from torch import nn

from convcost.reports.charts import ChartJob
from convcost.reports.sections import Section
from convcost.studies import get_study

#: Settings that differ from the report's: the fused and scaling studies untimed (their timing is tested on its
#: own), the latency study on one small model, timed once.
UNTIMED: dict[str, dict[str, Any]] = {
    "fused": {"runs": 0}, "scaling": {"scaling_runs": 0}, "dwsep": {"dwsep_runs": 0},
    "latency": {"models": ("mobilenet_v2_035",), "profile_runs": 1, "profile_warmup": 0}}


def default_settings(name: str) -> Any:
    """The settings study ``name`` is tested with: the main report's, the fused study untimed, the latency study
    on one small model."""
    study = get_study(name)
    return study.settings(UNTIMED[name]) if name in UNTIMED else study.report_settings()


def figure_of(section: Section) -> Figure:
    (job,) = section.figures
    assert isinstance(job, ChartJob)  # drawn only when a page needs it
    figure = job.build(*job.args)
    assert figure.get_suptitle() and figure.axes[0].get_ylabel()  # panels in a row may share the first's
    for axes in figure.axes:
        assert axes.get_xlabel() and (figure.legends or axes.get_legend() is not None)  # legends sit outside
        assert axes.get_title() or len(figure.axes) == 1  # several panels: each says what it shows
    return figure


# --- the model never changes ------------------------------------------------------------


class TensorState:
    """A tensor as a snapshot sees it: identity, ``_version``, ``requires_grad``, dtype, device, shape and (off
    ``meta``) its values bit for bit; equal when all of them are."""

    def __init__(self, tensor: torch.Tensor) -> None:
        self.key = (id(tensor), tensor._version, tensor.requires_grad, tensor.dtype, tensor.device.type,
                    tuple(tensor.shape))
        self.bits = None if tensor.is_meta else tensor.detach().clone().contiguous().reshape(-1).view(torch.uint8)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TensorState) or self.key != other.key:
            return False
        if self.bits is None or other.bits is None:
            return self.bits is other.bits
        return torch.equal(self.bits, other.bits)

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"TensorState{self.key}"


def _state(value: Any, seen: frozenset[int] = frozenset()) -> Any:
    """``value`` as a snapshot sees it: a tensor by :class:`TensorState`; a list, tuple, dict or set by its type,
    identity and items, recursively (a container met again inside itself by identity only); anything else by
    identity."""
    if isinstance(value, torch.Tensor):
        return TensorState(value)
    if id(value) in seen or not isinstance(value, (list, tuple, dict, set)):
        return id(value)
    inner = seen | {id(value)}
    if isinstance(value, dict):
        items: Any = tuple((key, _state(item, inner)) for key, item in value.items())
    elif isinstance(value, set):
        items = frozenset(id(item) for item in value)
    else:
        items = tuple(_state(item, inner) for item in value)
    return (type(value), id(value), items)


def snapshot(model: nn.Module) -> dict[str, Any]:
    """Everything analysis must leave as it found it (see the module docstring)."""
    state: dict[str, Any] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        state[f"{name}:module"] = (id(module), type(module), module.training)
        for table in ("_parameters", "_buffers"):
            for key, tensor in getattr(module, table).items():
                state[f"{name}:{table}:{key}"] = None if tensor is None else TensorState(tensor)
        for key, value in module.__dict__.items():
            if key in ("_parameters", "_buffers", "_modules"):
                state[f"{name}:attr:{key}"] = (id(value), tuple((k, id(v)) for k, v in value.items()))
            else:
                state[f"{name}:attr:{key}"] = _state(value)
    return state


def assert_unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert before.keys() == after.keys(), set(before) ^ set(after)
    for key, old in before.items():
        assert old == after[key], key


def run_cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    """``convcost ARGV`` in this process: exit status, stdout, stderr."""
    from convcost.cli.app import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
