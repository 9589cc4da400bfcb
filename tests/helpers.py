"""Helpers shared by tests: the settings studies are tested with, and a section's chart drawn and checked."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from convcost.reports.charts import ChartJob
from convcost.reports.sections import Section
from convcost.studies import get_study

#: Settings that differ from the report's: the fused study untimed (its timing is tested on its own).
UNTIMED: dict[str, dict[str, Any]] = {"fused": {"runs": 0}}


def default_settings(name: str) -> Any:
    """The settings study ``name`` is tested with: the main report's, the fused study untimed."""
    study = get_study(name)
    return study.settings(UNTIMED[name]) if name in UNTIMED else study.report_settings()


def figure_of(section: Section) -> Figure:
    (job,) = section.figures
    assert isinstance(job, ChartJob)  # drawn only when a page needs it
    figure = job.build(*job.args)
    assert figure.get_suptitle() and figure.axes[0].get_ylabel()  # panels in a row may share the first's
    for axes in figure.axes:
        assert axes.get_xlabel() and axes.get_legend() is not None
        assert axes.get_title() or len(figure.axes) == 1  # several panels: each says what it shows
    return figure
