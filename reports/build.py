"""Assemble reports: the charts for a set of analyses, a single HTML page, or a whole report directory.

A report directory holds ``index.html``, ``summary.csv``/``summary.json``, ``models/<name>.csv``
and ``.json`` per model, ``charts/<name>.png`` and ``.svg``, and ``sections/<name>.csv`` for
extra sections. Every file is written atomically; ``index.html`` is written last.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analyzer import Analysis

from . import charts
from .atomic import write_bytes, write_text
from .charts import ChartJob, RenderedChart
from .export import analysis_json, csv_text, json_text, summaries_json
from .frames import PUBLISHED_FIELDS, breakdown_frame, category_share, layer_frame, summary_frame
from .html import Page, SectionView, render_html, section_view
from .parallel import parallel_map
from .sections import Section, slug

_SCALING_NAMES = {"index": "scaling-by-index", "resolution": "scaling-by-resolution"}


def _published(published: pd.DataFrame | None) -> pd.DataFrame:
    return pd.DataFrame(columns=list(PUBLISHED_FIELDS)) if published is None else published


def overview_jobs(analyses: Sequence[Analysis], published: pd.DataFrame | None = None,
                  scaling_models: Sequence[str] = ()) -> list[ChartJob]:
    """Cross-model charts: scaling curves of ``scaling_models`` (when two or more were analysed), the
    accuracy–cost frontier (when an analysed model has a published top-1), and the MAC share by conv kind."""
    published = _published(published)
    summary = summary_frame(analyses)
    analysed = set(summary["model"])
    series = summary.set_index("model").loc[[m for m in scaling_models if m in analysed]].reset_index()
    jobs = []
    if len(series) >= 2:
        dtype = analyses[0].dtype
        jobs += [ChartJob(name, charts.scaling_curves, (series, published, x, dtype))
                 for x, name in _SCALING_NAMES.items()]
    if published[published["model"].isin(analysed)]["top1"].notna().any():
        jobs.append(ChartJob("accuracy-vs-macs", charts.accuracy_frontier, (summary, published)))
    jobs.append(ChartJob("mac-share-by-kind", charts.category_share_chart, (category_share(analyses),)))
    return jobs


def stage_job(analysis: Analysis) -> ChartJob:
    """Per-stage MACs and params of one model, stacked by conv kind."""
    return ChartJob(f"stages-{slug(analysis.model)}", charts.stage_bars, (breakdown_frame(analysis), analysis.model))


def _render(jobs: Sequence[ChartJob], workers: int) -> list[RenderedChart]:
    return list(parallel_map(ChartJob.run, jobs, workers))


def _section_views(sections: Sequence[Section], csv_paths: bool) -> list[SectionView]:
    return [section_view(section, [charts.render(f"{section.slug}-{i}", f) for i, f in enumerate(section.figures)],
                         f"sections/{section.slug}.csv" if csv_paths else None)
            for section in sections]


def render_page(analyses: Sequence[Analysis], *, title: str = "convcost report",
                published: pd.DataFrame | None = None, scaling_models: Sequence[str] = (),
                sections: Sequence[Section] = (), jobs: int = 1) -> str:
    """One self-contained HTML page (no files beside it) for ``analyses`` and extra ``sections``.

    Args:
        jobs: worker processes for drawing charts.
    """
    overview = overview_jobs(analyses, published, scaling_models) if len(analyses) > 1 else []
    rendered = _render([*overview, *(stage_job(a) for a in analyses)], jobs)
    page = Page(title=title, charts=rendered[:len(overview)], sections=_section_views(sections, csv_paths=False),
                model_charts={a.model: chart for a, chart in zip(analyses, rendered[len(overview):], strict=True)})
    return render_html(analyses, page)


def _file_stems(analyses: Sequence[Analysis]) -> dict[str, str]:
    """A distinct file stem per model name."""
    stems: dict[str, str] = {}
    for analysis in analyses:
        stem = slug(analysis.model)
        while stem in stems.values():
            stem += "-"
        stems[analysis.model] = stem
    return stems


def build_report(analyses: Sequence[Analysis], out_dir: str | Path, *, title: str = "convcost report",
                 published: pd.DataFrame | None = None, scaling_models: Sequence[str] = (),
                 sections: Sequence[Section] = (), jobs: int = 1) -> Path:
    """Write the report directory for ``analyses`` and return the path of its ``index.html``.

    Args:
        published: published figures, one row per figure (:data:`reports.frames.PUBLISHED_FIELDS`).
        scaling_models: model names of a scaling series (such as B0–B7), in order, for the cost curves.
        sections: extra sections (studies), appended after the models.
        jobs: worker processes for drawing charts.

    Raises:
        OSError: the directory cannot be created or written.
    """
    out = Path(out_dir)
    for folder in ("models", "charts", "sections"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    stems = _file_stems(analyses)
    for analysis in analyses:
        write_text(out / "models" / f"{stems[analysis.model]}.csv", csv_text(layer_frame(analysis)))
        write_text(out / "models" / f"{stems[analysis.model]}.json", json_text(analysis_json(analysis)))
    write_text(out / "summary.csv", csv_text(summary_frame(analyses)))
    write_text(out / "summary.json", json_text(summaries_json(analyses)))
    for section in sections:
        write_text(out / "sections" / f"{section.slug}.csv", csv_text(section.frame))

    overview = overview_jobs(analyses, published, scaling_models)
    rendered = _render([*overview, *(stage_job(a) for a in analyses)], jobs)
    views = _section_views(sections, csv_paths=True)
    for chart in [*rendered, *(chart for view in views for chart in view.charts)]:
        write_bytes(out / "charts" / f"{chart.name}.png", chart.png)
        write_bytes(out / "charts" / f"{chart.name}.svg", chart.svg)

    page = Page(
        title=title,
        charts=rendered[:len(overview)],
        sections=views,
        model_charts={a.model: chart for a, chart in zip(analyses, rendered[len(overview):], strict=True)},
        model_files={a.model: {"CSV": f"models/{stems[a.model]}.csv", "JSON": f"models/{stems[a.model]}.json"}
                     for a in analyses},
        files={"summary CSV": "summary.csv", "summary JSON": "summary.json"},
    )
    return write_text(out / "index.html", render_html(analyses, page))
