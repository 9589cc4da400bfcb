"""The output-format plug-in seam: what a renderer is, what it renders, and the registry.

A format is one module in this package with a class implementing :class:`Renderer` (an
analysis, a comparison of several, one report section) and a :func:`register_renderer`
call, plus a member of :class:`Format`. The command line's ``--format`` choices and its
output all come from :func:`registered_renderers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from convcost.analyzer.naming import StrEnum, parse_member
from convcost.analyzer.plugins import Registry

if TYPE_CHECKING:
    import pandas as pd

    from convcost.analyzer import Analysis
    from convcost.analyzer.conventions import ConventionTotal, ReconciliationRow

    from ..sections import Section


class Format(StrEnum):
    """The output formats, in the order ``--help`` lists them."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    HTML = "html"
    MARKDOWN = "markdown"


@dataclass(frozen=True)
class ConventionView:
    """Another tool's total for an analysis, and the operator-by-operator reconciliation behind it."""

    total: ConventionTotal
    rows: tuple[ReconciliationRow, ...]


@dataclass(frozen=True)
class AnalysisView:
    """One analysis to render.

    Attributes:
        depth: deepest module level a tree table shows (None: all).
        convention: another tool's total to show beside convcost's, if asked for.
        own: a tree table shows each module's own costs (rows add up to the total) instead of its subtree's.
        legend: a text format adds the counting conventions.
    """

    analysis: Analysis
    depth: int | None = 3
    convention: ConventionView | None = None
    own: bool = False
    legend: bool = False


@dataclass(frozen=True)
class ComparisonView:
    """Several analyses side by side.

    Attributes:
        published: published figures, one row per figure (:data:`convcost.reports.frames.PUBLISHED_FIELDS`).
        scaling_models: model names of a scaling series (B0–B7), in order, for cost curves.
        measured: per-model measurements joined to the summary (``compare --latency``: a ``model`` column and
            the latency columns), None when nothing was measured.
    """

    analyses: Sequence[Analysis]
    published: pd.DataFrame | None = None
    scaling_models: Sequence[str] = field(default_factory=tuple)
    measured: pd.DataFrame | None = None


class Renderer(Protocol):
    """An output format.

    Attributes:
        format: its registry key.
        description: one line for ``--help``.
        holds: what one analysis becomes in it (``one row per layer``), for messages.
        shows_convention: whether it shows another tool's total beside an analysis.
    """

    format: Format
    description: str
    holds: str
    shows_convention: bool

    def analysis(self, view: AnalysisView) -> str:
        """One analysis."""
        ...

    def comparison(self, view: ComparisonView) -> str:
        """Several analyses side by side."""
        ...

    def section(self, section: Section) -> str:
        """One report section (a study, a reconciliation)."""
        ...


_RENDERERS: Registry[Format, Renderer] = Registry("renderer of format", lambda renderer: renderer.format,
                                                  lambda renderer: list(Format).index(renderer.format),
                                                  plugins=__package__)


def register_renderer(renderer: Renderer) -> Renderer:
    """Add ``renderer`` to the registry.

    Raises:
        ValueError: its format is not a :class:`Format` member, or already has a renderer.
    """
    if not isinstance(renderer.format, Format):
        raise ValueError(f"a renderer's format must be a Format member; got {renderer.format!r}")
    return _RENDERERS.register(renderer)


def unregister_renderer(fmt: Format) -> Renderer | None:
    """Remove and return the renderer of ``fmt`` (for tests that stand another in its place)."""
    return _RENDERERS.unregister(fmt)


def registered_renderers() -> tuple[Renderer, ...]:
    """Every registered renderer, in :class:`Format` order."""
    return tuple(_RENDERERS)


def get_renderer(fmt: Format | str) -> Renderer:
    """The renderer of ``fmt``.

    Raises:
        ValueError: not a format, or no renderer registered for it (the message lists them).
    """
    return _RENDERERS.get(parse_member(Format, fmt, "format"))
