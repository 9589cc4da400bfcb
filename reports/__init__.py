"""convcost reports: render analysis records as tables, CSV/JSON, charts and HTML.

Presentation only: this package reads :mod:`analyzer` records and never builds models or
hooks them. Entry points: :func:`build_report` (a report directory), :func:`render_page`
(one HTML page), :func:`analysis_text` (the terminal table), :func:`analysis_json` and
:func:`csv_text` (files). Studies add to a report as :class:`Section` objects.
"""

from .build import build_report, render_page
from .columns import LAYER_COLUMNS, SUMMARY_COLUMNS, Column
from .export import analysis_json, csv_text, json_text
from .frames import layer_frame, summary_frame
from .sections import Section
from .table import analysis_text

__all__ = [
    "LAYER_COLUMNS",
    "SUMMARY_COLUMNS",
    "Column",
    "Section",
    "analysis_json",
    "analysis_text",
    "build_report",
    "csv_text",
    "json_text",
    "layer_frame",
    "render_page",
    "summary_frame",
]
