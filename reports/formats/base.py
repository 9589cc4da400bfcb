"""The output-format plug-in seam: what a renderer is, what it renders, and the registry.

A format is one module in this package with a class implementing :class:`Renderer` (an
analysis, a comparison of several, one report section; the file suffixes it is written to)
and a :func:`register_renderer` call, plus a member of :class:`Format`. The command line's
``--format`` choices, the format ``-o FILE`` implies and its output all come from
:func:`registered_renderers`.

The command line reads the registry to build its parser (``--help`` lists the formats and their
suffixes), so a format module must import nothing heavy at its top: its renderer imports what it
renders with (pandas, tabulate, matplotlib) inside its methods, when it renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from convcost.analyzer.naming import StrEnum
from convcost.analyzer.plugins import NotRegisteredError, Registry

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

    @property
    def suffixes(self) -> tuple[str, ...]:
        """The file suffixes ``-o FILE`` writes in this format (lower case, with the dot; ``--format`` overrides
        them), each claimed by one renderer; a class attribute will do."""
        ...

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
                                                  plugins=__package__, rank=list(Format).index)


def register_renderer(renderer: Renderer) -> Renderer:
    """Add ``renderer`` to the registry.

    Raises:
        ValueError: its format is not a :class:`Format` member, or already has a renderer; a suffix is not
            lower case with a leading dot, or another renderer claims it.
    """
    if not isinstance(renderer.format, Format):
        raise ValueError(f"a renderer's format must be a Format member; got {renderer.format!r}")
    for suffix in renderer.suffixes:
        if not (suffix.startswith(".") and len(suffix) > 1 and suffix == suffix.lower()):
            raise ValueError(f"a renderer's suffix is lower case with a leading dot; {renderer.format} has {suffix!r}")
        claimed = suffix_formats().get(suffix)
        if claimed is not None and claimed != renderer.format:
            raise ValueError(f"suffix {suffix} is {claimed}'s; {renderer.format} cannot claim it too")
    return _RENDERERS.register(renderer)


def unregister_renderer(fmt: Format) -> Renderer | None:
    """Remove and return the renderer of ``fmt`` (for tests that stand another in its place)."""
    return _RENDERERS.unregister(fmt)


def registered_renderers() -> tuple[Renderer, ...]:
    """Every registered renderer, in :class:`Format` order."""
    return tuple(_RENDERERS)


def suffix_formats() -> dict[str, Format]:
    """File suffix → the format of the renderer that claims it, in :class:`Format` order (what ``-o FILE``
    implies)."""
    return {suffix: renderer.format for renderer in registered_renderers() for suffix in renderer.suffixes}


def get_renderer(fmt: Format | str) -> Renderer:
    """The renderer of ``fmt``.

    Raises:
        NotRegisteredError: no renderer is registered for it (the message lists the registered formats).
    """
    valid = [renderer.format.value for renderer in registered_renderers()]
    if fmt not in valid:
        raise NotRegisteredError(f"format must be one of {', '.join(valid)}; got {fmt!r}")
    return _RENDERERS.get(Format(fmt))
