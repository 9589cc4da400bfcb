"""Output formats, one plug-in module each (see :mod:`.base`); importing this package registers them all."""

from convcost.analyzer.plugins import load_plugins

from .base import (
    AnalysisView,
    ComparisonView,
    ConventionView,
    Format,
    Renderer,
    get_renderer,
    register_renderer,
    registered_renderers,
    unregister_renderer,
)

load_plugins(__name__)

__all__ = [
    "AnalysisView",
    "ComparisonView",
    "ConventionView",
    "Format",
    "Renderer",
    "get_renderer",
    "register_renderer",
    "registered_renderers",
    "unregister_renderer",
]
