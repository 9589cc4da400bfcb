"""Assemble reports: the charts for a set of analyses, a single HTML page, or a whole report directory.

A report directory holds ``index.html``, ``summary.csv``/``summary.json``, ``models/<name>.csv``
and ``.json`` per model, ``charts/<name>.png`` and ``.svg``, ``sections/<name>.csv`` for
every table of the extra sections, and the marker file ``.convcost-report``. It is replaced as a
whole (:mod:`.directory`): a reader, or a run killed at any instant, finds the previous report or the new one.

Charts are drawn in worker processes (:func:`convcost.analyzer.parallel.parallel_map`). Reports only
render: every section arrives made, with its measurements (latency included) already taken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from convcost.analyzer import Analysis
from convcost.analyzer.parallel import started_map

from . import charts
from .atomic import write_bytes, write_text
from .charts import ChartJob, RenderedChart
from .columns import Column
from .directory import report_directory
from .export import analysis_json, csv_text, json_text, summaries_json
from .frames import (
    PUBLISHED_FIELDS,
    breakdown_frame,
    category_share,
    joined_measurements,
    layer_frame,
    summary_frame,
)
from .html import ModelView, Page, model_views, render_html, render_model_page, section_view
from .sections import Section, slug

_SCALING_NAMES = {"index": "scaling-by-index", "resolution": "scaling-by-resolution"}


def _published(published: pd.DataFrame | None) -> pd.DataFrame:
    return pd.DataFrame(columns=list(PUBLISHED_FIELDS)) if published is None else published


def overview_jobs(analyses: Sequence[Analysis], published: pd.DataFrame | None = None,
                  scaling_models: Sequence[str] = ()) -> list[ChartJob]:
    """Cross-model charts: scaling curves of ``scaling_models`` (when two or more were analysed), the
    accuracy–cost frontier (when an analysed model has a published top-1), and the MAC share by conv kind.
    No analyses, no charts."""
    if not analyses:
        return []
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
        jobs += [ChartJob(f"accuracy-vs-{name}", charts.accuracy_frontier, (summary, published, column))
                 for name, column in (("macs", Column.MACS), ("params", Column.PARAMS))]
    jobs.append(ChartJob("mac-share-by-kind", charts.category_share_chart, (category_share(analyses),)))
    return jobs


def stage_job(analysis: Analysis) -> ChartJob:
    """Per-stage MACs and params of one model, stacked by conv kind."""
    return ChartJob(f"stages-{slug(analysis.model)}", charts.stage_bars, (breakdown_frame(analysis), analysis.model))


#: Wraps the charts as they are drawn (``(charts, how many)`` → the same charts), to show progress.
ChartProgress = Callable[[Iterator[RenderedChart], int], Iterable[RenderedChart]]


def _quietly(charts: Iterator[RenderedChart], _total: int) -> Iterable[RenderedChart]:
    return charts


@dataclass(frozen=True)
class _Drawn:
    """Every chart of a page, drawn: the overview, one per model, and each section's."""

    overview: list[RenderedChart]
    model_charts: dict[str, RenderedChart]
    sections: list[tuple[Section, list[RenderedChart]]]


def _section_job(section: Section, index: int) -> ChartJob:
    """Figure ``index`` of ``section`` as a job under its file name (a built figure is wrapped as is)."""
    figure = section.figures[index]
    if isinstance(figure, ChartJob):
        return replace(figure, name=section.chart_name(index))
    return ChartJob(section.chart_name(index), _built, (figure,))


def _built(figure: Figure) -> Figure:
    return figure


@contextmanager
def _drawing(analyses: Sequence[Analysis], overview: Sequence[ChartJob], sections: Sequence[Section],
             workers: int, progress: ChartProgress = _quietly) -> Iterator[Callable[[], _Drawn]]:
    """Start drawing the overview, per-model and section charts in ``workers`` processes; inside the block
    this process is free for other work, and calling what it gives waits for every chart."""
    section_jobs = [[_section_job(section, i) for i in range(len(section.figures))] for section in sections]
    jobs = [*overview, *(stage_job(a) for a in analyses), *(job for jobs in section_jobs for job in jobs)]

    with started_map(ChartJob.run, jobs, workers) as charts_:
        def collect() -> _Drawn:
            rendered = iter(list(progress(charts_, len(jobs))))
            drawn_overview = [next(rendered) for _ in overview]
            model_charts = {a.model: next(rendered) for a in analyses}
            drawn_sections = [(section, [next(rendered) for _ in chart_jobs])
                              for section, chart_jobs in zip(sections, section_jobs, strict=True)]
            return _Drawn(drawn_overview, model_charts, drawn_sections)

        yield collect


def _draw(analyses: Sequence[Analysis], overview: Sequence[ChartJob], sections: Sequence[Section],
          workers: int, progress: ChartProgress = _quietly) -> _Drawn:
    """Draw the overview, per-model and section charts in ``workers`` processes."""
    with _drawing(analyses, overview, sections, workers, progress) as collect:
        return collect()


def render_page(analyses: Sequence[Analysis], *, title: str = "convcost report",
                published: pd.DataFrame | None = None, scaling_models: Sequence[str] = (),
                sections: Sequence[Section] = (), jobs: int = 1, measured: pd.DataFrame | None = None,
                families: Mapping[str, str] | None = None) -> str:
    """One self-contained HTML page (no files beside it) for ``analyses`` (possibly none) and extra ``sections``.

    Args:
        jobs: worker processes for drawing charts.
        measured: per-model measurements joined to the summary table (:func:`~.frames.summary_frame`).
        families: each model's family, for the summary's comparison with the family's smallest member.
    """
    overview = overview_jobs(analyses, published, scaling_models) if len(analyses) > 1 else []
    drawn = _draw(analyses, overview, sections, jobs)
    page = Page(title=title, charts=drawn.overview, model_charts=drawn.model_charts,
                sections=[section_view(section, charts_) for section, charts_ in drawn.sections],
                measured=joined_measurements([frame for frame in (measured, section_measurements(sections))
                                              if frame is not None]),
                published=published, families=dict(families or {}))
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
                 sections: Sequence[Section] = (), jobs: int = 1, families: Mapping[str, str] | None = None) -> Path:
    """Write the report directory for ``analyses`` and return the path of its ``index.html``.

    ``out_dir`` is replaced as a whole (:func:`~convcost.reports.directory.report_directory`): files of a
    previous report that this one lacks are gone, and a failure leaves the previous report as it was.

    Args:
        published: published figures, one row per figure (:data:`convcost.reports.frames.PUBLISHED_FIELDS`).
        scaling_models: model names of a scaling series (such as B0–B7), in order, for the cost curves.
        sections: extra sections (studies), appended after the models, in order.
        jobs: worker processes for drawing charts.
        families: each model's family, for the summary's comparison with the family's smallest member.

    Raises:
        ReportDirectoryError: another run is writing ``out_dir``, or it is a file, or a directory that is
            neither empty nor a report (checked before any chart is drawn).
        OSError: the directory cannot be created or written.
    """
    with report_directory(out_dir) as staging:
        write_report(analyses, staging, title=title, published=published, scaling_models=scaling_models,
                     sections=sections, jobs=jobs, families=families)
    return Path(out_dir) / "index.html"


def _write_tables(analyses: Sequence[Analysis], sections: Sequence[Section], directory: Path,
                  stems: Mapping[str, str]) -> list[ModelView]:
    """Write the per-model, summary and section CSV/JSON files; the models' page parts (:func:`model_views`)."""
    for analysis in analyses:
        write_text(directory / "models" / f"{stems[analysis.model]}.csv", csv_text(layer_frame(analysis)))
        write_text(directory / "models" / f"{stems[analysis.model]}.json", json_text(analysis_json(analysis)))
    measured = section_measurements(sections)
    write_text(directory / "summary.csv", csv_text(summary_frame(analyses, measured)))
    write_text(directory / "summary.json", json_text(summaries_json(analyses, measured)))
    for section in sections:
        for file in section.csv_files():
            write_text(directory / "sections" / f"{file.stem}.csv", csv_text(file.frame))
    return model_views(analyses, _model_files(stems))


def section_measurements(sections: Sequence[Section]) -> pd.DataFrame | None:
    """The per-model figures the sections add to the summary, joined on the model (None: none add any)."""
    return joined_measurements([section.summary for section in sections if section.summary is not None])


def _model_files(stems: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Each model's downloadable files, label → path in the report."""
    return {model: {"CSV": f"models/{stem}.csv", "JSON": f"models/{stem}.json"} for model, stem in stems.items()}


def write_report(analyses: Sequence[Analysis], directory: Path, *, title: str = "convcost report",
                 published: pd.DataFrame | None = None, scaling_models: Sequence[str] = (),
                 sections: Sequence[Section] = (), jobs: int = 1, progress: ChartProgress = _quietly,
                 families: Mapping[str, str] | None = None) -> Path:
    """Write the files of the report for ``analyses`` into the existing, empty ``directory`` (the staging
    directory of :func:`~convcost.reports.directory.report_directory`, for a caller that holds it across
    the analysis) and return the path of its ``index.html``; arguments as :func:`build_report`, and
    ``progress`` wraps the charts as they are drawn.
    """
    stems = _file_stems(analyses)
    overview = overview_jobs(analyses, published, scaling_models)
    for folder in ("models", "charts", "sections"):
        (directory / folder).mkdir(exist_ok=True)
    with _drawing(analyses, overview, sections, jobs, progress) as collect, \
            ThreadPoolExecutor(1, thread_name_prefix="convcost-tables") as tables:
        # the tables are written while the charts are drawn, and progress shows the drawing as it goes
        views = tables.submit(_write_tables, analyses, sections, directory, stems)
        drawn = collect()
        made = views.result()
    every_chart = [*drawn.overview, *drawn.model_charts.values(), *(c for _, cs in drawn.sections for c in cs)]
    for chart in every_chart:
        write_bytes(directory / "charts" / f"{chart.name}.png", chart.png)
        write_bytes(directory / "charts" / f"{chart.name}.svg", chart.svg)
    for view in made:
        stem = stems[view.analysis.model]
        stage_chart = drawn.model_charts.get(view.analysis.model)
        chart_files = {} if stage_chart is None else {"chart PNG": f"../charts/{stage_chart.name}.png",
                                                      "chart SVG": f"../charts/{stage_chart.name}.svg"}
        own = replace(view, chart=stage_chart, files={"CSV": f"{stem}.csv", "JSON": f"{stem}.json", **chart_files})
        write_text(directory / "models" / f"{stem}.html", render_model_page(own, title, "../index.html"))

    page = Page(
        title=title,
        charts=drawn.overview,
        sections=[section_view(section, charts_, "sections") for section, charts_ in drawn.sections],
        model_charts=drawn.model_charts,
        model_files=_model_files(stems),
        files={"summary CSV": "summary.csv", "summary JSON": "summary.json"},
        measured=section_measurements(sections),
        published=published,
        families=dict(families or {}),
        model_pages={model: f"models/{stem}.html" for model, stem in stems.items()},
    )
    return write_text(directory / "index.html", render_html(analyses, page, made))
