"""The public ``analyze``: an analysis that also renders itself (table, CSV, JSON, HTML, Jupyter).

:func:`convcost.analyzer.analyze` measures; this layer, which may use the reports, returns
the same records as :class:`Analysis`, a subclass with the rendering methods a notebook
or script wants: ``analysis.summary()``, ``to_csv()``, ``to_json()``, ``to_html()`` and a
compact table when Jupyter shows it.
"""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Any

from markupsafe import escape
from torch import nn

from .analyzer import analysis as analysis_records
from .analyzer import analyze as measure
from .reports.atomic import write_text
from .reports.formats import AnalysisView, Format, get_renderer
from .reports.frames import summary_frame
from .reports.html import table_html
from .reports.verdict import check_view


class Analysis(analysis_records.Analysis):
    """An :class:`convcost.analyzer.Analysis` that renders itself."""

    @classmethod
    def of(cls, records: analysis_records.Analysis) -> Analysis:
        """The same records, with the rendering methods."""
        return cls(**{field.name: getattr(records, field.name) for field in fields(records)})

    def _render(self, fmt: Format, path: str | os.PathLike[str] | None, depth: int | None = 3) -> str:
        text = get_renderer(fmt).analysis(AnalysisView(self, depth))
        if path is not None:
            write_text(path, text)
        return text

    def summary(self, depth: int | None = 3, *, own: bool = False, legend: bool = False) -> str:
        """The terminal table: the module tree down to ``depth`` (None: every module), each row its subtree's
        costs (``own``: the module's own), then the memory, coverage and cross-check lines (``legend``: and the
        counting conventions)."""
        return get_renderer(Format.TABLE).analysis(AnalysisView(self, depth, own=own, legend=legend))

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """One row per module, raw integers (written to ``path`` too, when given)."""
        return self._render(Format.CSV, path)

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The totals, the cross-check and one object per module (written to ``path`` too, when given)."""
        return self._render(Format.JSON, path)

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A self-contained page with charts and the sortable layer table (written to ``path`` too, when given)."""
        return self._render(Format.HTML, path)

    def _repr_html_(self) -> str:
        """What Jupyter shows: the whole-model figures in one small table, and the cross-check in words."""
        check = check_view(self)
        verdict = "".join(f"<p>{escape(sentence)}</p>" for sentence in check.sentences)
        return f"{table_html(summary_frame([self]), compact=True)}{verdict}"


def analyze(model: nn.Module, input_shape: Any = (1, 3, 224, 224), **options: Any) -> Analysis:
    """:func:`convcost.analyzer.analyze`, returning an :class:`Analysis` that renders itself.

    Takes the same arguments: the model, its input (a shape, shapes, tensors, or keyword
    tensors) and ``engine``, ``dtype``, ``name``, ``execution``.
    """
    return Analysis.of(measure(model, input_shape, **options))
