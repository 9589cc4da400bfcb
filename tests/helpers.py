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


def _items(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(id(item) for item in value)
    if isinstance(value, dict):
        return tuple((key, id(item)) for key, item in value.items())
    return None


def snapshot(model: nn.Module) -> dict[str, Any]:
    """Everything analysis must leave as it found it (see the module docstring)."""
    state: dict[str, Any] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        state[f"{name}:module"] = (id(module), type(module), module.training)
        for table in ("_parameters", "_buffers"):
            for key, tensor in getattr(module, table).items():
                state[f"{name}:{table}:{key}"] = None if tensor is None else (
                    id(tensor), tensor._version, tensor.requires_grad, tensor.detach().clone())
        for key, value in module.__dict__.items():
            if key not in ("_parameters", "_buffers", "_modules"):
                state[f"{name}:attr:{key}"] = (id(value), _items(value))
    return state


def assert_unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert before.keys() == after.keys(), set(before) ^ set(after)
    for key, old in before.items():
        new = after[key]
        if isinstance(old, tuple) and len(old) == 4 and isinstance(old[3], torch.Tensor):
            assert old[:3] == new[:3], key
            assert torch.equal(old[3], new[3]), key
        else:
            assert old == new, key


def run_cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    """``convcost ARGV`` in this process: exit status, stdout, stderr."""
    from convcost.cli.app import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
