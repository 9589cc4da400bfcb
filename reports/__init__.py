"""convcost reports: render analysis records as tables, CSV/JSON, charts and HTML.

Presentation only: this package reads :mod:`convcost.analyzer` records and never builds
models, hooks them or measures anything. Entry points: :func:`build_report` (a report
directory), :func:`render_page` (one HTML page), and the output formats of
:mod:`.formats` (one plug-in module each). Studies add to a report as :class:`Section` objects.
"""

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
