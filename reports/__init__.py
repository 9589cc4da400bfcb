"""convcost reports: render analysis records as tables, CSV/JSON, charts and HTML.

Presentation only: this package reads :mod:`convcost.analyzer` records and never builds
models, hooks them or measures anything. Entry points: :func:`build_report` (a report
directory), :func:`render_page` (one HTML page), and the output formats of
:mod:`.formats` (one plug-in module each). Studies add to a report as :class:`Section` objects.
Names are imported on first use, so importing one light module (``atomic``, ``formats``)
loads neither pandas nor matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convcost.analyzer.lazy import lazy_exports

if TYPE_CHECKING:
    from .build import build_report, render_page
    from .columns import LAYER_COLUMNS, SUMMARY_COLUMNS, Column
    from .export import analysis_json, csv_text, json_text
    from .frames import layer_frame, summary_frame
    from .sections import Section, Table
    from .table import analysis_text

__all__ = [
    "LAYER_COLUMNS",
    "SUMMARY_COLUMNS",
    "Column",
    "Section",
    "Table",
    "analysis_json",
    "analysis_text",
    "build_report",
    "csv_text",
    "json_text",
    "layer_frame",
    "render_page",
    "summary_frame",
]
__getattr__, __dir__ = lazy_exports(__name__, {
    "build_report": ".build", "render_page": ".build",
    "LAYER_COLUMNS": ".columns", "SUMMARY_COLUMNS": ".columns", "Column": ".columns",
    "analysis_json": ".export", "csv_text": ".export", "json_text": ".export",
    "layer_frame": ".frames", "summary_frame": ".frames",
    "Section": ".sections", "Table": ".sections",
    "analysis_text": ".table",
})
