"""Output formats, one plug-in module each (see :mod:`.base`); the registry imports them all when first read.
A format module loads nothing heavy until it renders, so listing the formats and their suffixes (``--help``)
loads no pandas."""

from .base import (
    AnalysisView,
    ComparisonView,
    ConventionView,
    Format,
    Renderer,
    get_renderer,
    register_renderer,
    registered_renderers,
    suffix_formats,
    unregister_renderer,
)

__all__ = [
    "AnalysisView",
    "ComparisonView",
    "ConventionView",
    "Format",
    "Renderer",
    "get_renderer",
    "register_renderer",
    "registered_renderers",
    "suffix_formats",
    "unregister_renderer",
]
