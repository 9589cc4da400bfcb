"""Output formats, one plug-in module each (see :mod:`.base`); the registry imports them all when first read,
so naming a :class:`Format` loads no renderer (nor pandas)."""

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
