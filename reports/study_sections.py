"""Each study result as a report :class:`~reports.sections.Section`: an intro with the headline figures,
tables of raw values, notes, and charts (as :class:`~reports.charts.ChartJob`, drawn only when needed).

Counts in the intros are exact integers; tables keep raw values (bytes columns are shown in
binary units, see :func:`reports.display.display_frame`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from . import study_charts
from .charts import ChartJob
from .sections import Section, SectionSource
from .units import human_bytes, shape_text

if TYPE_CHECKING:
    from analyzer.studies import (
        ConventionsStudy,
        DwsepStudy,
        FusedStudy,
        ScalingStudy,
        SeStudy,
        StudyResults,
        SwishStudy,
        TrainingPlan,
    )

#: Steadier latency needs more runs than the report spends; the intro says how to get them.
STEADY_RUNS = 20

_SCALING_COLUMNS = ["model", "phi", "width_coefficient", "depth_coefficient", "resolution", "params", "macs",
                    "measured_ratio", "coefficient_prediction", "phi_prediction", "compound_prediction", "total_drift",
                    "structure_effect", "channels_effect", "repeats_effect", "sizes_effect", "analytic_matches"]
_EFFECTS = {"structure_effect": "structure", "channels_effect": "channels rounded to multiples of 8",
            "repeats_effect": "repeats rounded up", "sizes_effect": "feature maps rounded up"}
_PAIR_COLUMNS = ["model", "block", "in_channels", "out_channels", "kernel", "stride", "output_size", "pair_params",
                 "standard_params", "pair_macs", "standard_macs", "macs_ratio", "theory_ratio",
                 "macs_ratio_is_theory"]
_TEXTBOOK_COLUMNS = ["in_channels", "out_channels", "kernel", "output_size", "depthwise_params",
                     "pointwise_params", "pair_params", "standard_params", "params_ratio", "macs_ratio",
                     "theory_ratio"]
_SE_COLUMNS = ["base_model", "se_model", "module", "base_params", "se_params", "extra_params",
               "share_of_extra_params", "base_macs", "extra_macs", "base_flops", "extra_flops",
               "extra_training_bytes"]
_FUSED_COLUMNS = ["stage", "variant", "block", "input_size", "params", "macs", "activation_bytes",
                  "arithmetic_intensity", "latency_ms", "latency_min_ms", "flops", "training_bytes", "expand_ratio",
                  "kernel", "se_ratio"]
_PLAN_FIXED_COLUMNS = ["optimizer", "params", "weight_bytes", "gradient_bytes", "optimizer_bytes", "buffer_bytes",
                       "fixed_bytes", "saved_bytes_per_sample", "saved_bytes_constant", "batch_model",
                       "budget_bytes", "max_batch"]
WHOLE_MODEL = "(whole model)"


def _bytes(value: int) -> str:
    """``2069696448`` → ``2,069,696,448 B (1.93 GiB)``."""
    return f"{value:,} B ({human_bytes(value)})"


def _span(values: Sequence[float]) -> str:
    """``[1.5, 6.52]`` → ``×1.50–6.52``; values that look alike at two decimals → ``×1.50``."""
    low, high = f"{min(values):.2f}", f"{max(values):.2f}"
    return f"×{low}" if low == high else f"×{low}–{high}"


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    """``1, "run"`` → ``1 run``; ``3, "run"`` → ``3 runs``; ``plural`` when it is not ``noun + "s"``."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _names(items: Sequence[str]) -> str:
    """``["a", "b", "c"]`` → ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _verb(subjects: Sequence[str]) -> str:
    """``count`` for several subjects, ``counts`` for one."""
    return "counts" if len(subjects) == 1 else "count"


# --- scaling ------------------------------------------------------------------------------


def scaling_section(study: ScalingStudy) -> Section:
    """Measured MACs of B0–B7 against the compound-scaling law, and the drift split into its causes."""
    frame = study.to_dataframe().rename(columns={"width": "width_coefficient", "depth": "depth_coefficient"})
    frame = frame[_SCALING_COLUMNS]
    first, last, drift = study.rows[0], study.rows[-1], study.drift[-1]
    largest = max(((getattr(row, key), row.model, label) for row in study.drift for key, label in _EFFECTS.items()),
                  key=lambda item: abs(math.log(item[0])))
    exact = sum(row.analytic_matches for row in study.drift)
    intro = (
        f"Compound scaling (Tan & Le 2019) multiplies depth, width and resolution by α^φ, β^φ and γ^φ "
        f"(α = {study.alpha}, β = {study.beta}, γ = {study.gamma}), so conv MACs should grow as d·w²·r², about "
        f"2^φ since α·β²·γ² = {study.compound_base:.3f}. Measured at native resolution, {last.model} has "
        f"{last.measured_ratio:.2f}× the MACs of {first.model} ({last.macs:,} against {first.macs:,}); its "
        f"official coefficients predict {last.coefficient_prediction:.2f}×, 2^φ {last.phi_prediction:.0f}× and "
        f"{study.compound_base:.3f}^φ {last.compound_prediction:.2f}×. The drift from the coefficient prediction "
        f"(×{drift.total_drift:.3f} for {drift.model}) is the product of four effects, switched on one at a time "
        f"in an exact analytic model of the network: structure ×{drift.structure_effect:.3f} (the fixed 3-channel "
        f"stem, the head and classifier that are not repeated, SE convs on pooled maps, each stage's first block), "
        f"channels rounded to multiples of 8 ×{drift.channels_effect:.3f}, repeats rounded up "
        f"×{drift.repeats_effect:.3f}, and feature maps rounded up at each stride ×{drift.sizes_effect:.3f}. "
        f"The largest single effect is {largest[2]} (×{largest[0]:.3f} for {largest[1]}). With every rounding on, "
        f"the analytic model reproduces the measured MACs of {exact} of {len(study.drift)} models exactly."
    )
    parts = study.parts_dataframe()
    growth = parts.pivot(index="model", columns="part", values="ideal_growth")
    law = parts.groupby("model", sort=False)["law_growth"].first()
    order = list(dict.fromkeys(parts["model"]))
    growth_frame = pd.concat([law.rename("law_growth"), growth[list(dict.fromkeys(parts["part"]))]], axis=1)
    growth_frame = growth_frame.loc[order].reset_index()
    return Section(
        "Scaling: EfficientNet B0–B7 against the compound-scaling law", intro, frame,
        figures=[ChartJob("scaling", study_charts.scaling_chart, (frame, study.compound_base))],
        tables=[("Growth of each part over B0 with no rounding, against the law d·w²·r²: parts that are not "
                 "repeated or not widened grow slower", growth_frame)],
    )


# --- dwsep --------------------------------------------------------------------------------


def dwsep_section(study: DwsepStudy) -> Section:
    """Depthwise-separable savings per layer against ``1/C_out + 1/k²`` and per network against ``separable=False``."""
    networks = study.networks_dataframe().rename(columns={"params": "separable_params", "macs": "separable_macs"})
    networks.insert(3, "pairs", [len(network.pairs) for network in study.networks])
    frame = networks[["model", "resolution", "pairs", "separable_params", "standard_params", "params_ratio",
                      "separable_macs", "standard_macs", "macs_ratio", "pairs_macs_ratio"]]
    pairs = study.to_dataframe()
    textbook, per_pair = pairs.iloc[:1][_TEXTBOOK_COLUMNS], pairs.iloc[1:][_PAIR_COLUMNS].reset_index(drop=True)
    book = study.textbook
    every = [pair for network in study.networks for pair in network.pairs]
    exact = sum(pair.macs_ratio_is_theory for pair in every)
    nets = study.networks
    savings = (f"built with standard convs instead (separable=False), {_names([n.model for n in nets])} need "
               f"{_names([f'{1 / n.macs_ratio:.2f}×' for n in nets])} the MACs (ratios "
               f"{_names([f'{n.macs_ratio:.4f}' for n in nets])}, against "
               f"{_names([f'{n.pairs_macs_ratio:.4f}' for n in nets])} for their pairs alone)")
    intro = (
        "A depthwise k×k conv on C channels followed by a pointwise 1×1 conv to C_out costs C·k² + C·C_out weights "
        "(and as many MACs per output pixel) against C·C_out·k² for one standard k×k conv: a ratio of exactly "
        f"1/C_out + 1/k² (MobileNet, Howard et al. 2017). The textbook case, {book.in_channels} → "
        f"{book.out_channels} channels with a {book.kernel}×{book.kernel} kernel and no bias, measured: "
        f"{book.pair_params} parameters against {book.standard_params} ({book.params_ratio:.4f} = "
        f"1/{book.out_channels} + 1/{book.kernel ** 2}). In {_names([n.model for n in study.networks])}, {exact} of "
        f"{len(every)} pairs have a measured MAC ratio equal to the theory exactly. Whole networks save less, "
        f"because the stem, the expand convs, the head and the classifier are not pairs: {savings}."
    )
    return Section(
        "Depthwise-separable convolutions: measured against 1/C_out + 1/k²", intro, frame,
        figures=[ChartJob("dwsep", study_charts.dwsep_chart, (per_pair[["model", "macs_ratio", "theory_ratio"]],
                                                               frame[["model", "macs_ratio"]]))],
        tables=[("The textbook pair (3 → 4 channels, 3×3, no bias)", textbook),
                ("Every depthwise + pointwise pair, against one standard conv", per_pair)],
    )


# --- se -----------------------------------------------------------------------------------


def se_section(study: SeStudy) -> Section:
    """What SE adds in parameters, MACs and FLOPs, per stage and in total."""
    frame = study.to_dataframe()
    frame["module"] = frame["module"].replace({"": WHOLE_MODEL})
    frame = frame[_SE_COLUMNS]
    sentences = [
        f"{c.se_model} over {c.base_model}: +{c.total.extra_params:,} parameters (+{c.params_increase:.2%}), "
        f"{c.last_stage_share:.1%} of them in the final stage ({c.stages[-1].module}); +{c.total.extra_macs:,} MACs "
        f"(+{c.macs_increase:.2%}) and +{c.total.extra_flops:,} all-op FLOPs (+{c.flops_increase:.2%}, pooling "
        "and the gate multiply included)." for c in study.comparisons
    ]
    paper = study.paper
    if paper is not None:
        old, new = study.paper_gflops
        sentences.append(
            f"The SENet paper (Hu et al. 2018) reports {old} → {new} GFLOPs (multiply-adds) for {paper.base_model} → "
            f"{paper.se_model}, +{study.paper_increase:.2%}; counted exactly, the MACs grow "
            f"+{paper.macs_increase:.2%}. "
            f"The claim that {study.claimed_last_stage_share:.0%} of SE's extra parameters sit in the final stage "
            f"does not hold: {paper.stages[-1].extra_params:,} of {paper.total.extra_params:,}, "
            f"{paper.last_stage_share:.1%}."
        )
    intro = ("Squeeze-and-excitation adds two 1×1 convs per block on a globally pooled map, so its parameters grow "
             "with the square of a block's width while its MACs do not grow with the feature map: heavy in "
             "parameters in the wide late stages, nearly free in MACs. " + " ".join(sentences))
    stages = frame[frame["module"] != WHOLE_MODEL][["se_model", "module", "extra_params", "share_of_extra_params"]]
    return Section("Squeeze-and-excitation: what it costs and where", intro, frame,
                   figures=[ChartJob("se", study_charts.se_chart, (stages,))])


# --- swish --------------------------------------------------------------------------------


def swish_section(study: SwishStudy) -> Section:
    """Bytes saved for backward by each way of writing Swish, per activation and in total, and the pick."""
    frame = study.to_dataframe()[["variant", "activation_type", "modules", "activation_saved_bytes",
                                  "training_bytes", "activation_bytes", "flops"]]
    per_module = study.modules_dataframe()
    per_module.columns = ["module", *(f"{variant}_saved_bytes" for variant in per_module.columns[1:])]
    first, *others = study.variants
    kept = [f"{first.variant} keeps {_bytes(first.activation_saved_bytes)} in its {first.modules} activation "
            f"modules ({_bytes(first.training_bytes)} in the whole model)",
            *(f"{v.variant} {_bytes(v.activation_saved_bytes)} ({_bytes(v.training_bytes)})" for v in others)]
    intro = (
        "Swish, x·sigmoid(x), can be written three ways with the same arithmetic (equal FLOPs) but different "
        "training memory: written out (swish), the sigmoid and the multiply save both x and sigmoid(x); "
        "MemoryEfficientSwish saves x and recomputes the sigmoid in backward; nn.SiLU is one native operator that "
        f"saves x. {study.model} at {study.resolution} px, batch {study.batch}, {study.dtype}: {'; '.join(kept)}. "
        f"Recommendation: {study.recommendation.activation}."
    )
    title = f"Saved for backward: {study.model} at {study.resolution} px, batch {study.batch}, {study.dtype}"
    return Section(
        "Swish, MemoryEfficientSwish or nn.SiLU: training memory", intro, frame,
        figures=[ChartJob("swish", study_charts.swish_chart,
                          (frame[["variant", "activation_saved_bytes", "training_bytes"]], title))],
        tables=[("Saved bytes of every activation module", per_module)],
        notes=[f"Why {study.recommendation.activation}: {study.recommendation.reason}."],
    )


# --- fused --------------------------------------------------------------------------------


def _fused_frame(study: FusedStudy) -> pd.DataFrame:
    frame = study.to_dataframe()
    frame["variant"] = frame["as_built"].map({True: "as built", False: "swapped"})
    frame["input_size"] = [shape_text(size) for size in frame["input_size"]]
    for source, target in (("latency_s", "latency_ms"), ("latency_min_s", "latency_min_ms")):
        frame[target] = pd.to_numeric(frame[source], errors="coerce") * 1000
    return frame


def _fused_comparison(study: FusedStudy) -> list[str]:
    """One sentence per block kind as built: its stages against their rebuild with the other kind."""
    sentences = []
    for kind in dict.fromkeys(built.block for built, _ in study.pairs()):
        pairs = [(b, s) for b, s in study.pairs() if b.block == kind]
        text = (f"{kind} stages ({', '.join(str(b.stage) for b, _ in pairs)}) over their {pairs[0][1].block} "
                f"rebuild: MACs {_span([b.macs / s.macs for b, s in pairs])}, parameters "
                f"{_span([b.params / s.params for b, s in pairs])}, arithmetic intensity "
                f"{_span([b.arithmetic_intensity / s.arithmetic_intensity for b, s in pairs])}")
        if study.runs:
            text += f", latency {_span([b.latency_s / s.latency_s for b, s in pairs if b.latency_s and s.latency_s])}"
        sentences.append(text)
    return sentences


def fused_section(study: FusedStudy) -> Section:
    """MBConv against Fused-MBConv per stage: params, MACs, activations, arithmetic intensity, CPU latency."""
    frame = _fused_frame(study)
    batch = study.stages[0].batch if study.stages else 1
    intro = (
        "EfficientNetV2 (Tan & Le 2021) replaces the expand 1×1 + depthwise k×k convs of MBConv by one full k×k "
        "conv (Fused-MBConv) in its early stages: more MACs and parameters, but denser arithmetic. Each stage of "
        f"{study.model} at {study.resolution} px, batch {batch}, is measured alone as built and rebuilt with the "
        "other block kind (fused stages as MBConv with SE 0.25, MBConv stages as fused without SE), keeping expand "
        f"ratio, kernel, stride, channels and repeats. As built: {'; '.join(_fused_comparison(study))}."
    )
    machine = study.cpu or study.processor or study.machine
    if study.runs:
        timing = (f"Latency: median of {_plural(study.runs, 'timed forward pass', 'timed forward passes')} after "
                  f"{_plural(study.warmup, 'warm-up pass', 'warm-up passes')}, float32, eval "
                  f"mode, no grad, each stage alone, the two variants alternating pass by pass; measured on {machine} "
                  f"({study.system or study.machine}), torch {study.torch_version} with {study.threads} threads.")
        if study.runs < STEADY_RUNS:
            timing += (f" {_plural(study.runs, 'run')} on a shared machine are noisy; "
                       f"convcost study fused --runs {STEADY_RUNS} gives steadier figures.")
    else:
        timing = "Latency was not measured (0 runs)."
    notes = [timing, "Arithmetic intensity: FLOPs per byte of weights + stage input + stage output, the least "
                     "memory traffic of one pass."]
    title = f"{study.model} at {study.resolution} px: stages as built and with the block kind swapped"
    return Section(
        "Fused-MBConv against MBConv, stage by stage", intro, frame[_FUSED_COLUMNS],
        figures=[ChartJob("fused", study_charts.fused_chart, (
            frame[["stage", "as_built", "block", "macs", "arithmetic_intensity", "latency_ms"]], title))],
        notes=notes,
    )


# --- plan ---------------------------------------------------------------------------------


def _oom_sentence(plan: TrainingPlan) -> str:
    if plan.published_oom is None:
        return ""
    batch, device, source = plan.published_oom
    row = next((r for r in plan.rows if r.batch == batch), None)
    if row is None:
        return f" The {source} reports that batch {batch} runs out of memory on {device}."
    verdict = "does not fit" if not row.fits else "fits"
    budget = f", {row.total_bytes / plan.budget_bytes:.1f}× the budget" if plan.budget_bytes else ""
    return (f" The {source} reports that batch {batch} runs out of memory on {device}: here batch {batch} needs "
            f"{_bytes(row.total_bytes)} with {plan.optimizer}{budget}, so it {verdict}.")


def plan_section(plans: Sequence[TrainingPlan]) -> Section:
    """Training memory against batch size for one model and resolution under one or more optimizers."""
    if not plans:
        raise ValueError("plan_section needs at least one plan")
    first = plans[0]
    rows = pd.concat([plan.to_dataframe().assign(max_batch=plan.max_batch) for plan in plans], ignore_index=True)
    frame = rows[["optimizer", "batch", "fixed_bytes", "saved_bytes", "total_bytes", "fits"]]
    fixed = pd.DataFrame([{key: getattr(plan, key) for key in _PLAN_FIXED_COLUMNS} for plan in plans])
    fixed_text = ", ".join(f"{_bytes(plan.fixed_bytes)} with {plan.optimizer}" for plan in plans)
    intro = (
        f"Training memory of one step of {first.model} at {first.resolution} px in {first.dtype}: the weights, "
        "their gradients and the optimizer state (one tensor per parameter for SGD with momentum, two for Adam) "
        f"and the buffers are fixed — {fixed_text} — and the activations autograd saves for backward grow by "
        f"{_bytes(first.saved_bytes_per_sample)} per image ({first.batch_model} in the batch)."
    )
    if first.budget_bytes is not None:
        largest = ", ".join(f"{plan.max_batch} with {plan.optimizer}" for plan in plans)
        intro += f" Within {_bytes(first.budget_bytes)} the largest batch is {largest}."
    intro += _oom_sentence(first)
    title = f"{first.model} at {first.resolution} px: training memory by batch size"
    return Section(
        f"Training memory plan: {first.model} at {first.resolution} px", intro, frame,
        figures=[ChartJob("plan", study_charts.plan_chart, (
            rows[["optimizer", "batch", "total_bytes", "fixed_bytes", "budget_bytes", "max_batch"]], title))],
        tables=[("Fixed part, growth per image and the largest batch", fixed)],
        notes=[f"{caveat[0].upper()}{caveat[1:]}." for caveat in first.caveats],
    )


# --- conventions --------------------------------------------------------------------------


def conventions_section(study: ConventionsStudy) -> Section:
    """Every tool's total for one analysis, and each split by operator."""
    frame = study.to_dataframe()[["tool", "source", "unit", "total", "of_flops", "of_macs"]]
    ops = study.ops_dataframe()
    only_macs = [t.tool for t in study.totals if t.total == study.macs]
    double = [t.tool for t in study.totals if t.total == 2 * study.macs]
    totals = "; ".join(f"{t.tool} {t.total:,}" for t in study.totals)
    intro = (
        f"The same network, {study.model} with input {shape_text(study.input_shape)}, counted under the rules of "
        f"{len(study.totals)} conventions, each recomputed exactly from convcost's own per-operator counts: {totals}. "
        "They differ in which operators they count and in whether a multiply-add is one unit or two."
    )
    if only_macs:
        intro += f" {_names(only_macs)} {_verb(only_macs)} conv + linear multiply-adds only ({study.macs:,})."
    if double:
        intro += f" {_names(double)} {_verb(double)} 2 per multiply-add and nothing else ({2 * study.macs:,})."
    intro += (f" convcost counts 2 per multiply-add plus every other operator ({study.flops:,} all-op FLOPs); the "
              "other tools add some of the remaining operators, each by its own rule. The second table splits every "
              f"total by operator; convcost explain {study.model} --vs TOOL names the rule behind each number.")
    tools = [t.tool for t in study.totals]
    title = f"{study.model}, input {shape_text(study.input_shape)}: each convention's total, split by operator"
    return Section(
        "Conventions: why the tools disagree", intro, frame,
        figures=[ChartJob("conventions", study_charts.conventions_chart, (ops, tools, title))],
        tables=[("What each tool counts, operator by operator (convcost FLOPs first)", ops)],
    )


def reconciliation_section(study: ConventionsStudy, tool: str) -> Section:
    """convcost's FLOPs against one tool's count, operator by operator, with a total row."""
    total = study.total(tool)
    intro = (f"{study.model}, input {shape_text(study.input_shape)}: {total.source} reports {total.total:,} (its "
             f"unit: {total.unit}); convcost counts {study.flops:,} all-op FLOPs. Below, operator by operator, each "
             f"side's count and the rule {tool} applies; difference is {tool} minus convcost, and the rows add up "
             "to both totals.")
    return Section(
        f"{study.model}: convcost against {tool}", intro, study.reconciliation_dataframe(tool),
        footer={"op": "total", "convcost_flops": study.flops, tool: total.total,
                "difference": total.total - study.flops},
    )


# --- all of them --------------------------------------------------------------------------


def study_sections(results: StudyResults, fused: SectionSource | None = None) -> list[SectionSource]:
    """The sections of the studies in ``results``, in report order.

    Args:
        fused: the fused study's section, or a function making it later (with latency measured), in place of
            the section of ``results.fused``.
    """
    if fused is None and results.fused is not None:
        fused = fused_section(results.fused)
    sections: list[SectionSource | None] = [
        None if results.scaling is None else scaling_section(results.scaling),
        None if results.dwsep is None else dwsep_section(results.dwsep),
        None if results.se is None else se_section(results.se),
        None if results.swish is None else swish_section(results.swish),
        fused,
        plan_section(results.plans) if results.plans else None,
        None if results.conventions is None else conventions_section(results.conventions),
    ]
    return [section for section in sections if section is not None]
