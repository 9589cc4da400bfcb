"""Charts of the studies, as matplotlib figures built from plain frames (see :mod:`reports.study_sections`).

Every builder takes frames and strings only, so a :class:`~reports.charts.ChartJob` holding it
can run in a worker process. Each figure has a title, labelled axes with units, and a legend.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from .charts import PALETTE, axis_units, chart_style
from .units import Unit, human_bytes, human_count

_GRID = dict(left=0.07, right=0.98, bottom=0.14, top=0.86, wspace=0.28)


def _short(model: str) -> str:
    """``efficientnet_b3`` → ``b3``: the part after the last underscore."""
    return model.rsplit("_", 1)[-1]


def _grouped_bars(axes: Axes, labels: list[str], series: dict[str, list[float]]) -> None:
    """Bars of each series side by side at every label."""
    width = 0.8 / len(series)
    for index, (name, values) in enumerate(series.items()):
        offset = (index - (len(series) - 1) / 2) * width
        axes.bar([i + offset for i in range(len(labels))], values, width, label=name, color=PALETTE[index])
    axes.set_xticks(range(len(labels)), labels)


def scaling_chart(frame: pd.DataFrame, compound_base: float) -> Figure:
    """Measured MACs relative to B0 against the law's predictions (log), and the drift split into effects.

    Args:
        frame: one row per model with ``model``, ``measured_ratio``, ``coefficient_prediction``,
            ``phi_prediction``, ``compound_prediction``, ``total_drift`` and the four ``*_effect`` columns.
        compound_base: ``α·β²·γ²``, for the legend.
    """
    labels = [_short(model) for model in frame["model"]]
    xs = range(len(frame))
    with chart_style():
        figure = Figure(figsize=(11, 4.6))
        ratio_axes, drift_axes = figure.subplots(1, 2, gridspec_kw=_GRID)
        ratio_axes.plot(xs, frame["measured_ratio"], marker="o", linewidth=2, label="measured (dispatch count)")
        ratio_axes.plot(xs, frame["coefficient_prediction"], marker="s", linestyle="--",
                        label="official coefficients d·w²·(r/224)²")
        ratio_axes.plot(xs, frame["phi_prediction"], linestyle=":", label="2^φ (the paper's rule of thumb)")
        ratio_axes.plot(xs, frame["compound_prediction"], linestyle="-.", label=f"(α·β²·γ²)^φ = {compound_base:.3f}^φ")
        ratio_axes.set_yscale("log")
        ratio_axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ratio_axes.yaxis.set_minor_formatter(NullFormatter())
        ratio_axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}×"))
        ratio_axes.set_ylabel("conv+linear MACs relative to B0 (log scale)")
        ratio_axes.set_title("MACs relative to B0")
        effects = {"structure (stem, head, SE, first blocks)": "structure_effect",
                   "channels rounded to multiples of 8": "channels_effect",
                   "repeats rounded up": "repeats_effect", "feature maps rounded up": "sizes_effect",
                   "total: measured / coefficients": "total_drift"}
        for label, key in effects.items():
            total = key == "total_drift"
            drift_axes.plot(xs, frame[key], marker="o" if total else ".", linewidth=2 if total else 1,
                            color="black" if total else None, label=label)
        drift_axes.axhline(1.0, color="grey", linewidth=0.8)
        drift_axes.set_ylabel("factor (×; 1 = as the law predicts)")
        drift_axes.set_title("Drift from the coefficient prediction, by cause")
        for axes, corner in ((ratio_axes, "upper left"), (drift_axes, "upper right")):
            axes.set_xticks(list(xs), labels)
            axes.set_xlabel("model (EfficientNet, native resolution)")
            axes.legend(loc=corner, fontsize=7)
        figure.suptitle("Compound scaling: measured MACs against the law, and where the difference comes from")
    return figure


def dwsep_chart(pairs: pd.DataFrame, networks: pd.DataFrame) -> Figure:
    """Per layer, each model's measured MAC ratio of depthwise + pointwise to one standard conv, against
    ``1/C_out + 1/k²``, with the whole network's ratio to its ``separable=False`` counterfactual.

    Args:
        pairs: one row per pair with ``model``, ``macs_ratio`` and ``theory_ratio``, in module order.
        networks: one row per model with ``model`` and ``macs_ratio``.
    """
    models = list(networks["model"])
    with chart_style():
        figure = Figure(figsize=(11, 4.4))
        axes_row = figure.subplots(1, len(models), sharey=True, squeeze=False,
                                   gridspec_kw=dict(_GRID, wspace=0.08))[0]
        for axes, (_, network) in zip(axes_row, networks.iterrows(), strict=True):
            rows = pairs[pairs["model"] == network["model"]]
            xs = range(1, len(rows) + 1)
            axes.plot(xs, rows["theory_ratio"], color="grey", linewidth=3, alpha=0.5, label="theory 1/C_out + 1/k²")
            axes.plot(xs, rows["macs_ratio"], linestyle="none", marker="x", color=PALETTE[0],
                      label="measured, per layer")
            axes.axhline(network["macs_ratio"], color=PALETTE[3], linestyle="--",
                         label="whole network / separable=False")
            axes.set_title(f"{network['model']} ({len(rows)} pairs)")
            axes.set_xlabel("depthwise + pointwise pair (module order)")
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
            axes.legend(loc="upper right", fontsize=7)
        axes_row[0].set_ylabel("MACs of the pair / one standard k×k conv")
        axes_row[0].set_ylim(bottom=0)
        figure.suptitle("Depthwise-separable convs: measured MAC ratio per layer against 1/C_out + 1/k²")
    return figure


def se_chart(stages: pd.DataFrame) -> Figure:
    """SE's extra parameters per stage, one panel per comparison, each bar labelled with its share.

    Args:
        stages: one row per (comparison, stage) with ``se_model``, ``module``, ``extra_params`` and
            ``share_of_extra_params``.
    """
    comparisons = list(dict.fromkeys(stages["se_model"]))
    with chart_style():
        figure = Figure(figsize=(11, 4.4))
        axes_row = figure.subplots(1, len(comparisons), squeeze=False, gridspec_kw=dict(_GRID, bottom=0.2))[0]
        for axes, name in zip(axes_row, comparisons, strict=True):
            rows = stages[stages["se_model"] == name]
            bars = axes.bar(range(len(rows)), rows["extra_params"], color=PALETTE[1], label="extra parameters")
            axes.bar_label(bars, [f"{share:.1%}" for share in rows["share_of_extra_params"]], fontsize=8)
            axes.set_xticks(range(len(rows)), list(rows["module"]), rotation=30, ha="right")
            axes.set_xlabel("stage")
            axes.set_ylabel("extra parameters (count)")
            axes.set_title(f"{name}: share of its extra parameters per stage")
            axis_units(axes, "y", Unit.COUNT, log=False)
            axes.margins(y=0.15)
            axes.legend(loc="upper left")
        figure.suptitle("Where SE's extra parameters sit")
    return figure


def swish_chart(variants: pd.DataFrame, title: str) -> Figure:
    """Bytes saved for backward per Swish variant: by the activation modules, and by the whole model.

    Args:
        variants: one row per variant with ``variant``, ``activation_saved_bytes`` and ``training_bytes``.
    """
    with chart_style():
        figure = Figure(figsize=(8, 4.4))
        axes = figure.subplots(gridspec_kw=dict(left=0.13, right=0.97, bottom=0.12, top=0.86))
        _grouped_bars(axes, list(variants["variant"]), {
            "activation modules": list(variants["activation_saved_bytes"]),
            "whole model": list(variants["training_bytes"]),
        })
        for container in axes.containers:
            axes.bar_label(container, [human_bytes(v, compact=True) for v in container.datavalues], fontsize=8)
        axes.set_xlabel("activation")
        axes.set_ylabel("bytes saved for backward")
        axis_units(axes, "y", Unit.BYTES, log=False)
        axes.margins(y=0.12)
        axes.legend(loc="upper right")
        figure.suptitle(title)
    return figure


def fused_chart(stages: pd.DataFrame, title: str) -> Figure:
    """Per stage, as built and with the block kind swapped: MACs, arithmetic intensity and latency.

    Args:
        stages: one row per (stage, variant) with ``stage``, ``as_built``, ``block``, ``macs``,
            ``arithmetic_intensity`` and ``latency_ms`` (empty when not timed).
    """
    built, other = stages[stages["as_built"]], stages[~stages["as_built"]]
    labels = [f"{stage}\n{block}" for stage, block in zip(built["stage"], built["block"], strict=True)]
    panels = [("macs", "conv+linear MACs (count)", "MACs"),
              ("arithmetic_intensity", "FLOPs per byte moved", "Arithmetic intensity"),
              ("latency_ms", "milliseconds (median, CPU)", "Latency")]
    with chart_style():
        figure = Figure(figsize=(12, 4.6))
        axes_row = figure.subplots(1, len(panels), gridspec_kw=dict(_GRID, bottom=0.19))
        for axes, (key, ylabel, name) in zip(axes_row, panels, strict=True):
            _grouped_bars(axes, labels, {"as built": list(built[key].fillna(0)),
                                         "block kind swapped": list(other[key].fillna(0))})
            axes.set_xlabel("stage and its block kind as built")
            axes.tick_params(axis="x", labelsize=7)
            axes.set_ylabel(ylabel)
            axes.set_title(name)
            if key == "macs":
                axis_units(axes, "y", Unit.COUNT, log=False)
            axes.legend(loc="upper right", fontsize=7)
        if built["latency_ms"].isna().all():
            axes_row[-1].set_title("Latency (not timed)")
        figure.suptitle(title)
    return figure


def plan_chart(rows: pd.DataFrame, title: str) -> Figure:
    """Training memory against batch size per optimizer (log–log), the fixed part, the budget and the largest
    batch that fits.

    Args:
        rows: one row per (optimizer, batch) with ``optimizer``, ``batch``, ``total_bytes``,
            ``fixed_bytes``, ``budget_bytes`` (missing: no budget) and ``max_batch``.
    """
    with chart_style():
        figure = Figure(figsize=(9, 5))
        axes = figure.subplots(gridspec_kw=dict(left=0.1, right=0.97, bottom=0.12, top=0.88))
        for index, (optimizer, plan) in enumerate(rows.groupby("optimizer", sort=False)):
            color = PALETTE[index]
            axes.plot(plan["batch"], plan["total_bytes"], marker="o", color=color,
                      label=f"{optimizer}: weights + gradients + state + saved activations")
            axes.axhline(plan["fixed_bytes"].iloc[0], color=color, linestyle=":", linewidth=1,
                         label=f"{optimizer}: fixed part (batch-independent)")
            largest = plan["max_batch"].iloc[0]
            if pd.notna(largest) and largest > 0:
                axes.axvline(largest, color=color, linestyle="--", linewidth=1,
                             label=f"{optimizer}: largest batch within budget = {int(largest)}")
        budget = rows["budget_bytes"].dropna()
        if not budget.empty:
            axes.axhline(budget.iloc[0], color="black", linewidth=1.5,
                         label=f"budget {human_bytes(budget.iloc[0], compact=True)}")
        axes.set_xscale("log", base=2)
        axes.set_xticks(sorted(set(rows["batch"])), [str(b) for b in sorted(set(rows["batch"]))])
        axes.xaxis.set_minor_formatter(NullFormatter())
        axis_units(axes, "y", Unit.BYTES, log=True)
        axes.set_xlabel("batch size (images, log scale)")
        axes.set_ylabel("training memory (bytes, log scale)")
        axes.legend(loc="upper left", fontsize=7)
        figure.suptitle(title)
    return figure


def conventions_chart(ops: pd.DataFrame, tools: list[str], title: str) -> Figure:
    """Each tool's total as a horizontal bar split by operator: why the totals differ.

    Args:
        ops: one row per operator with ``op``, ``convcost_flops`` and one column per tool in ``tools``.
        tools: tool columns in display order; ``convcost`` reads ``convcost_flops``.
    """
    columns = {tool: "convcost_flops" if tool == "convcost" else tool for tool in tools}
    with chart_style():
        figure = Figure(figsize=(10, 1.6 + 0.42 * len(tools)))
        axes = figure.subplots(gridspec_kw=dict(left=0.13, right=0.97, bottom=0.13, top=0.8))
        left = pd.Series(0.0, index=tools)
        for index, (_, row) in enumerate(ops.iterrows()):
            values = pd.Series([float(row[columns[tool]]) for tool in tools], index=tools)
            axes.barh(range(len(tools)), values, left=left, label=str(row["op"]),
                      color=PALETTE[index % len(PALETTE)])
            left += values
        for position, total in enumerate(left):
            axes.annotate(human_count(total), (total, position), xytext=(3, 0), textcoords="offset points",
                          va="center", fontsize=8)
        axes.set_yticks(range(len(tools)), tools)
        axes.invert_yaxis()
        axes.set_xlabel("the tool's total (its own unit: FLOPs, MACs or 'flops'), split by operator")
        axes.set_ylabel("convention")
        axis_units(axes, "x", Unit.COUNT, log=False)
        axes.margins(x=0.1)
        axes.legend(title="operator", ncols=min(len(ops), 8), loc="lower center", bbox_to_anchor=(0.5, 1.0),
                    fontsize=7)
        figure.suptitle(title, y=0.99)
    return figure
