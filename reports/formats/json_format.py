"""``json``: one document of raw values (the schema is in :mod:`convcost.reports.export`)."""

from __future__ import annotations

from typing import Any

from ..sections import Section
from .base import AnalysisView, ComparisonView, ConventionView, Format, register_renderer

# pandas is imported when a renderer renders, not when the registry lists the formats (see .base)


def convention_json(view: AnalysisView, convention: ConventionView) -> dict[str, Any]:
    """Another tool's total beside convcost's FLOPs and MACs, and its ratio to each (None for zero)."""
    totals, total = view.analysis.totals, convention.total
    return {"tool": total.tool.value, "source": total.source, "unit": total.unit, "total": total.total,
            "flops": totals.flops, "macs": totals.macs,
            "of_flops": total.total / totals.flops if totals.flops else None,
            "of_macs": total.total / totals.macs if totals.macs else None}


class JsonRenderer:
    """JSON: raw integers, field names from the column vocabulary."""

    format = Format.JSON
    description = "one JSON document of raw values"
    holds = "one object with the totals and a layers array"
    shows_convention = True
    suffixes = (".json",)

    def analysis(self, view: AnalysisView) -> str:
        """The totals and one object per layer; ``convention`` when another tool's total was asked for."""
        from ..export import analysis_json, json_text

        document = analysis_json(view.analysis)
        if view.convention is not None:
            document["convention"] = convention_json(view, view.convention)
        return json_text(document)

    def comparison(self, view: ComparisonView) -> str:
        """``models`` (whole-model figures) and ``stages`` (params and MACs per declared part and model)."""
        from ..export import json_text, summaries_json
        from ..frames import stage_totals

        stages = [{"model": a.model, **row} for a in view.analyses
                  for row in stage_totals(a).to_dict(orient="records")]
        return json_text({"models": summaries_json(view.analyses, view.measured), "stages": stages})

    def section(self, section: Section) -> str:
        """Title, intro, notes, every table's rows and the total row."""
        from ..export import json_text, section_json

        return json_text(section_json(section))


register_renderer(JsonRenderer())
