"""Analysis records as pandas DataFrames of raw integers: the data every renderer starts from.

Nothing here formats or rounds. Frames are keyed by :class:`~convcost.reports.columns.Column` keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from convcost.analyzer import Analysis, CostCategory, LayerRecord

from .columns import (
    BACKWARD_LAYER_COLUMNS,
    BACKWARD_SUMMARY_COLUMNS,
    LAYER_COLUMNS,
    PUBLISHED_COLUMNS,
    SUMMARY_COLUMNS,
    Column,
)

#: Cost categories in display order: conv/linear kinds, then SE convs, head/classifier, and other modules.
CATEGORIES: tuple[str, ...] = tuple(category.value for category in CostCategory)
#: Fields of a published-figures frame (one row per published figure), as the CLI supplies it.
PUBLISHED_FIELDS = tuple(c.key for c in PUBLISHED_COLUMNS)
#: How the root module (whose name is empty) is shown.
ROOT_LABEL = "(root)"
#: The part of modules that are in no part the model declares (or of every module, when it declares none).
UNDECLARED = "(undeclared)"


def part_label(layer: LayerRecord) -> str:
    """The declared part (stem, stage, head, classifier) ``layer`` is in, or :data:`UNDECLARED`."""
    return layer.part if layer.part is not None else UNDECLARED


def layer_row(layer: LayerRecord, analysis: Analysis) -> dict[str, Any]:
    """One module's own costs, then its subtree's, keyed by :data:`LAYER_COLUMNS` keys (output shape of the
    first output)."""
    subtree_macs = analysis.total(layer.name, "macs")
    values = {
        Column.NAME: layer.name, Column.TYPE: layer.type, Column.KIND: layer.kind or "", Column.DEPTH: layer.depth,
        Column.OUTPUT_SHAPE: layer.output_shapes[0] if layer.output_shapes else None,
        Column.PARAMS: layer.params, Column.TRAINABLE_PARAMS: layer.trainable_params,
        Column.FROZEN_PARAMS: layer.frozen_params, Column.BUFFERS: layer.buffers, Column.MACS: layer.macs,
        Column.FLOPS: layer.flops, Column.OUTPUT_BYTES: layer.output_bytes, Column.SAVED_BYTES: layer.saved_bytes,
        Column.SUBTREE_PARAMS: analysis.total(layer.name, "params"), Column.SUBTREE_MACS: subtree_macs,
        Column.SUBTREE_FLOPS: analysis.total(layer.name, "flops"),
        Column.SUBTREE_OUTPUT_BYTES: analysis.total(layer.name, "output_bytes"),
        Column.SUBTREE_SAVED_BYTES: analysis.total(layer.name, "saved_bytes"),
        Column.MACS_SHARE: subtree_macs / analysis.totals.macs if analysis.totals.macs else 0.0,
    }
    row = {column.key: values[column] for column in LAYER_COLUMNS}
    if analysis.training is not None:
        own, subtree = analysis.training.layers.get(layer.name), analysis.training.subtree(layer.name)
        held = analysis.training.held.get(layer.name)
        owned = analysis.training.layer_bytes.get(layer.name)
        backward: dict[Column, int | str] = {
            Column.GRAD_INPUT_MACS: own.grad_input_macs if own else 0,
            Column.GRAD_WEIGHT_MACS: own.grad_weight_macs if own else 0,
            Column.BACKWARD_MACS: own.macs if own else 0, Column.BACKWARD_FLOPS: own.flops if own else 0,
            Column.OPTIMIZER_FLOPS: analysis.training.step_flops(owned.updated_params if owned else 0),
            Column.PARAMETER_BYTES: owned.parameter_bytes if owned else 0,
            Column.GRADIENT_BYTES: owned.gradient_bytes if owned else 0,
            Column.STATE_BYTES: owned.state_bytes if owned else 0,
            Column.SUBTREE_BACKWARD_MACS: subtree.macs,
            Column.TRAIN_SAVED_BYTES: analysis.training.saved.get(layer.name, 0),
            Column.HELD_BYTES: held.bytes if held else 0,
            Column.FREED_BY: "" if held is None or held.freed_by is None else held.freed_by or "(root)",
        }
        row.update({column.key: backward[column] for column in BACKWARD_LAYER_COLUMNS})
    return row


def layer_frame(analysis: Analysis) -> pd.DataFrame:
    """One row per module in ``named_modules`` order, root first: its own costs, then its subtree's (and its
    backward costs when the analysis counted them)."""
    columns = [*LAYER_COLUMNS, *(BACKWARD_LAYER_COLUMNS if analysis.training is not None else ())]
    return pd.DataFrame([layer_row(layer, analysis) for layer in analysis.layers], columns=[c.key for c in columns])


def summary_record(analysis: Analysis) -> dict[str, Any]:
    """Whole-model figures keyed by :data:`SUMMARY_COLUMNS` keys."""
    totals = analysis.totals
    shape = analysis.input_shapes[0] if analysis.input_shapes else ()
    values = {
        Column.MODEL: analysis.model, Column.INPUT_SHAPE: shape, Column.RESOLUTION: shape[-1] if shape else None,
        Column.PARAMS: totals.params, Column.TRAINABLE_PARAMS: totals.trainable_params,
        Column.FROZEN_PARAMS: totals.frozen_params, Column.BUFFERS: totals.buffers, Column.MACS: totals.macs,
        Column.FLOPS: totals.flops, Column.ACTIVATION_BYTES: totals.activation_bytes,
        Column.TRAINING_BYTES: totals.training_bytes, Column.PEAK_BYTES: totals.peak_bytes,
        Column.PEAK_MODULE: totals.peak_module, Column.CPU_PEAK_BYTES: totals.workspace_peak_bytes,
        Column.UNSUPPORTED_OPS: analysis.unsupported_ops(),
    }
    record = {column.key: values[column] for column in SUMMARY_COLUMNS}
    if analysis.training is not None:
        step = analysis.training
        total = step.total
        backward = {Column.GRAD_INPUT_MACS: total.grad_input_macs, Column.GRAD_WEIGHT_MACS: total.grad_weight_macs,
                    Column.BACKWARD_MACS: total.macs, Column.BACKWARD_FLOPS: total.flops,
                    Column.OPTIMIZER: step.optimizer.value, Column.OPTIMIZER_FLOPS: step.optimizer_flops,
                    Column.TRAINING_FLOPS: step.training_flops, Column.TRAINING_PEAK_BYTES: step.peak_bytes,
                    Column.TRAINING_PEAK_AT: step.peak_moment}
        record.update({column.key: backward[column] for column in BACKWARD_SUMMARY_COLUMNS})
    return record


def summary_frame(analyses: Sequence[Analysis], measured: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row of whole-model figures per analysis (with backward columns when any counted a backward pass),
    and ``measured``'s figures (a ``model`` column and others, such as a latency) joined on the model: empty
    for a model not measured."""
    backward = any(a.training is not None for a in analyses)
    columns = [*SUMMARY_COLUMNS, *(BACKWARD_SUMMARY_COLUMNS if backward else ())]
    frame = pd.DataFrame([summary_record(a) for a in analyses], columns=[c.key for c in columns])
    if measured is None or measured.empty:
        return frame
    extra = measured.drop_duplicates(Column.MODEL.key).set_index(Column.MODEL.key)
    clash = sorted(set(extra.columns) & set(frame.columns))
    if clash:
        raise ValueError(f"measured figures may not replace counted ones; got {', '.join(clash)}")
    return frame.join(extra, on=Column.MODEL.key)


def joined_measurements(frames: Sequence[pd.DataFrame]) -> pd.DataFrame | None:
    """Several per-model measurement frames (each with a ``model`` column) as one, None when there are none."""
    found = [frame for frame in frames if not frame.empty]
    if not found:
        return None
    joined = found[0].drop_duplicates(Column.MODEL.key).set_index(Column.MODEL.key)
    for frame in found[1:]:  # a figure two sections both give: the first one's, the second filling its gaps
        joined = joined.combine_first(frame.drop_duplicates(Column.MODEL.key).set_index(Column.MODEL.key))
    return joined.reset_index()


def breakdown_frame(analysis: Analysis) -> pd.DataFrame:
    """Params and MACs per declared part and cost category (columns ``stage, category, params, macs``).

    Parts are those the model declares (:attr:`LayerRecord.part`), in the order they appear;
    modules in none are :data:`UNDECLARED`. Categories follow :data:`CATEGORIES`; empty cells are dropped.
    """
    rows = [{"stage": part_label(layer), "category": layer.category.value, Column.PARAMS.key: layer.params,
             Column.MACS.key: layer.macs} for layer in analysis.layers]
    frame = pd.DataFrame(rows, columns=["stage", "category", Column.PARAMS.key, Column.MACS.key])
    stages = list(dict.fromkeys(frame["stage"]))
    frame["stage"] = pd.Categorical(frame["stage"], categories=stages, ordered=True)
    frame["category"] = pd.Categorical(frame["category"], categories=CATEGORIES, ordered=True)
    grouped = frame.groupby(["stage", "category"], observed=True, sort=True).sum().reset_index()
    nonzero = (grouped[Column.PARAMS.key] > 0) | (grouped[Column.MACS.key] > 0)
    return grouped[nonzero].reset_index(drop=True)


def stage_totals(analysis: Analysis) -> pd.DataFrame:
    """Params and MACs per stage (columns ``stage, params, macs``), stages in the order they appear."""
    totals = breakdown_frame(analysis).groupby("stage", observed=True, sort=True)[[Column.PARAMS.key,
                                                                                 Column.MACS.key]].sum()
    totals.index = totals.index.astype(str)
    return totals.reset_index()


def stage_comparison(analyses: Sequence[Analysis], column: Column) -> pd.DataFrame:
    """``column`` (params or MACs) per stage (rows, in order of first appearance) and model (columns)."""
    per_model = {a.model: stage_totals(a).set_index("stage")[column.key] for a in analyses}
    stages = list(dict.fromkeys(stage for series in per_model.values() for stage in series.index))
    frame = pd.DataFrame({model: series.reindex(stages) for model, series in per_model.items()}, index=stages)
    frame.index.name = "stage"
    return frame.astype("Int64")


def category_share(analyses: Sequence[Analysis], column: Column = Column.MACS) -> pd.DataFrame:
    """Share (0–1) of each model's ``column`` by cost category: rows are models, columns categories present."""
    table = {a.model: breakdown_frame(a).groupby("category", observed=True)[column.key].sum() for a in analyses}
    frame = pd.DataFrame(table).T.fillna(0)
    frame = frame.loc[:, frame.sum() > 0]
    return frame.div(frame.sum(axis=1), axis=0)
