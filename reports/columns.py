"""The one column vocabulary of every report: key (CSV/JSON field), title, unit and meaning.

The terminal table, CSV, JSON, HTML and charts all name a quantity through :class:`Column`,
so a column means the same thing wherever it appears. The meanings are the conventions of
``convcost.analyzer.records`` and ``convcost.analyzer.formulas.ops``, worded for a reader.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple

from convcost.analyzer.analysis import Metric

from .units import Unit, human, plain


class Column(Enum):
    """A reported quantity. ``key`` is its CSV/JSON field name and its name in data frames."""

    key: str
    title: str
    unit: Unit
    meaning: str

    MODEL = ("model", "Model", Unit.TEXT, "registry name, or the name given to the analysis")
    FAMILY = ("family", "Family", Unit.TEXT, "the model family in the registry")
    SOURCE = ("source", "Source", Unit.TEXT, "where a published figure comes from")
    TOP1 = ("top1", "Top-1 %", Unit.PERCENT, "published ImageNet top-1 accuracy, in percent")
    NOTE = ("note", "Note", Unit.TEXT, "how to read a published figure")
    PUBLISHED_MACS = ("published_macs", "Published MACs", Unit.COUNT,
                      "MACs a paper or torchvision's weights metadata publishes for the model at the same resolution")
    MACS_CHANGE = ("macs_vs_published", "MACs Δ vs published", Unit.CHANGE,
                   "counted MACs against the published figure (+1.0% = counted 1% more); papers round their figures")
    MACS_VS_SMALLEST = ("macs_vs_smallest", "MACs × family's smallest", Unit.RATIO,
                        "the model's MACs over those of the smallest model of its family in the report")
    SOURCES = ("sources", "Sources", Unit.TEXT, "the numbered sources (listed under the table) of published values")
    INPUT_SHAPE = ("input_shape", "Input", Unit.SHAPE, "shape of the (first) example input, N×C×H×W")
    RESOLUTION = ("resolution", "px", Unit.INT, "input side length in pixels (last input dimension)")
    NAME = ("name", "Layer", Unit.TEXT, "dotted module name; the root is the empty name")
    TYPE = ("type", "Type", Unit.TEXT, "module class name")
    KIND = ("kind", "Kind", Unit.TEXT,
            "conv/linear kind: standard, depthwise (one group per input channel), pointwise (1×1, ungrouped), "
            "grouped, transposed or linear; empty for other modules")
    DEPTH = ("depth", "Depth", Unit.INT, "nesting depth; the root is 0")
    OUTPUT_SHAPE = ("output_shape", "Output shape", Unit.SHAPE, "shape of the module's (first) output")
    PARAMS = ("params", "Params", Unit.COUNT,
              "parameters owned directly by the module, trainable or frozen (elements)")
    TRAINABLE_PARAMS = ("trainable_params", "Trainable", Unit.COUNT,
                        "parameters with requires_grad, those an optimizer updates (elements)")
    FROZEN_PARAMS = ("frozen_params", "Frozen", Unit.COUNT, "parameters without requires_grad (elements)")
    BUFFERS = ("buffers", "Buffers", Unit.COUNT,
               "other tensors the module owns, such as BatchNorm running statistics (elements)")
    MACS = ("macs", "MACs", Unit.COUNT,
            "multiply-accumulates of every convolution and matrix product (linear layers, matmul and bmm, einsum "
            "contractions, attention; what papers call FLOPs or MAdds); one fused multiply-add counts as one, bias "
            "adds are not MACs")
    FLOPS = ("flops", "FLOPs", Unit.COUNT,
             "floating-point operations: 2·MACs for conv/linear plus one per bias add, plus every other "
             "operator at the per-element cost its formula states (a transcendental function counts as one); "
             "unsupported operators are not counted")
    SUBTREE_PARAMS = ("subtree_params", "Params (subtree)", Unit.COUNT,
                      "parameters of the module and every module inside it (elements)")
    SUBTREE_MACS = ("subtree_macs", "MACs (subtree)", Unit.COUNT, "MACs of the module and every module inside it")
    SUBTREE_FLOPS = ("subtree_flops", "FLOPs (subtree)", Unit.COUNT, "FLOPs of the module and every module inside it")
    SUBTREE_OUTPUT_BYTES = ("subtree_output_bytes", "Output (subtree)", Unit.BYTES,
                            "output bytes of the module and every module inside it")
    SUBTREE_SAVED_BYTES = ("subtree_saved_bytes", "Saved (subtree)", Unit.BYTES,
                           "bytes saved for backward by the module and every module inside it")
    MACS_SHARE = ("macs_share", "% MACs", Unit.SHARE, "the module's subtree MACs as a share of the model's")
    PARAMS_SHARE = ("params_share", "% params", Unit.SHARE,
                    "the module's subtree parameters as a share of the model's")
    FLOPS_SHARE = ("flops_share", "% FLOPs", Unit.SHARE, "the module's subtree FLOPs as a share of the model's")
    OUTPUT_BYTES = ("output_bytes", "Output", Unit.BYTES,
                    "bytes of new tensors the module's own operators allocated; views and in-place results are "
                    "free")
    SAVED_BYTES = ("saved_bytes", "Saved", Unit.BYTES,
                   "activation bytes autograd keeps for backward from the module's own operators, each storage "
                   "once, parameters excluded")
    ACTIVATION_BYTES = ("activation_bytes", "Activations", Unit.BYTES,
                        "bytes of every tensor the forward allocated, with no reuse (the sum of Output)")
    TRAINING_BYTES = ("training_bytes", "Training", Unit.BYTES,
                      "activation bytes autograd saves for backward, parameters excluded (the sum of Saved)")
    PEAK_BYTES = ("peak_bytes", "Inference peak", Unit.BYTES,
                  "peak live activation bytes of an inference forward, input included, parameters and buffers "
                  "excluded")
    PEAK_MODULE = ("peak_module", "Peak at", Unit.TEXT, "module running when the peak was reached")
    CPU_PEAK_BYTES = ("cpu_peak_bytes", "CPU peak", Unit.BYTES,
                      "the inference peak on a CPU: the peak, or more where a convolution's scratch space lifts it "
                      "(oneDNN holds a copy of the larger of its input and output, and of its weight, while it runs)")
    LATENCY = ("latency_ms", "Latency (ms)", Unit.MS,
               "measured forward latency on this machine: the median of repeated hook-free runs on real tensors "
               "(milliseconds; a measurement, not a count)")
    LATENCY_IQR = ("latency_iqr_ms", "Latency IQR (ms)", Unit.MS,
                   "the interquartile range of those runs: the spread of their middle half (milliseconds)")
    PREDICTED_LATENCY = ("predicted_ms", "Predicted (ms)", Unit.MS,
                         "forward latency the latency model predicts from the counts alone, with no run of the "
                         "network (milliseconds)")
    GRAD_INPUT_MACS = ("grad_input_macs", "∂input MACs", Unit.COUNT,
                       "backward MACs of gradients with respect to layer inputs (each equals the forward MACs of a "
                       "conv or linear layer whose input needs a gradient)")
    GRAD_WEIGHT_MACS = ("grad_weight_macs", "∂weight MACs", Unit.COUNT,
                        "backward MACs of gradients with respect to trainable weights (each equals the forward MACs)")
    BACKWARD_MACS = ("backward_macs", "Backward MACs", Unit.COUNT, "grad-input plus grad-weight MACs")
    BACKWARD_FLOPS = ("backward_flops", "Backward FLOPs", Unit.COUNT,
                      "floating-point operations of the backward pass: 2·backward MACs plus every backward "
                      "operator at the per-element cost its formula states")
    OPTIMIZER = ("optimizer", "Optimizer", Unit.TEXT, "the optimizer whose step is counted")
    OPTIMIZER_FLOPS = ("optimizer_flops", "Step FLOPs", Unit.COUNT,
                       "FLOPs of the optimizer's step: its update rule per trainable parameter element")
    TRAINING_FLOPS = ("training_flops", "Training FLOPs", Unit.COUNT,
                      "one training step: train-mode forward, backward and optimizer FLOPs")
    TRAINING_PEAK_BYTES = ("training_peak_bytes", "Training peak", Unit.BYTES,
                           "peak memory of a training step after the first: parameters, buffers and optimizer state, "
                           "plus the live activations and gradients at the worst moment")
    TRAINING_PEAK_AT = ("training_peak_at", "Training peak at", Unit.TEXT,
                        "the moment of the training peak: phase (forward, backward, optimizer step) and module")
    SUBTREE_BACKWARD_MACS = ("subtree_backward_macs", "Backward MACs (subtree)", Unit.COUNT,
                             "backward MACs of the module and every module inside it")
    PARAMETER_BYTES = ("parameter_bytes", "Param bytes", Unit.BYTES,
                       "bytes of the module's own parameters and buffers (held throughout a training step)")
    GRADIENT_BYTES = ("gradient_bytes", "Gradient bytes", Unit.BYTES,
                      "bytes of the gradients of the module's own parameters that receive one (held from the "
                      "backward to the optimizer's step)")
    STATE_BYTES = ("state_bytes", "Optimizer state", Unit.BYTES,
                   "bytes the optimizer keeps for the module's own trained parameters between steps")
    TRAIN_SAVED_BYTES = ("train_saved_bytes", "Saved (train)", Unit.BYTES,
                         "bytes autograd saves for backward from the module's own operators in the train-mode forward "
                         "(batch statistics and dropout masks included), each storage once, parameters excluded")
    HELD_BYTES = ("held_bytes", "Held for backward", Unit.BYTES,
                  "bytes the module's own operators allocated in the train-mode forward that are still alive when the "
                  "backward starts (saved for backward, or outputs)")
    FREED_BY = ("freed_by", "Freed in backward of", Unit.TEXT,
                "the module whose backward frees the last of what this module holds ((root): the model's own "
                "operators; empty: held through the step)")
    UNSUPPORTED_OPS = ("unsupported_ops", "Unsupported ops", Unit.OPS,
                       "operators with no formula, with their calls; their cost is in no total")

    def __init__(self, key: str, title: str, unit: Unit, meaning: str) -> None:
        self.key = key
        self.title = title
        self.unit = unit
        self.meaning = meaning

    def human(self, value: Any) -> str:
        """``value`` for a person to read (human units)."""
        return human(self.unit, value)

    def plain(self, value: Any) -> str | int:
        """``value`` for a file (raw integers)."""
        return plain(self.unit, value)

    @property
    def metric(self) -> Metric | None:
        """The per-module metric this column shows (for :meth:`Analysis.total`), None for other columns."""
        return _METRICS.get(self)

    @property
    def is_numeric(self) -> bool:
        """Whether the column holds a number (right-aligned on screen)."""
        return self.unit in NUMERIC_UNITS


#: Units whose values are numbers (right-aligned, sorted by value).
NUMERIC_UNITS = frozenset({Unit.INT, Unit.COUNT, Unit.BYTES, Unit.PERCENT, Unit.SHARE, Unit.MS, Unit.RATIO, Unit.CHANGE,
                           Unit.FLOAT})
#: Per-layer columns (CSV, JSON ``layers``, HTML layer tables): each module's own costs, then its subtree's.
LAYER_COLUMNS: tuple[Column, ...] = (
    Column.NAME, Column.TYPE, Column.KIND, Column.DEPTH, Column.OUTPUT_SHAPE, Column.PARAMS, Column.TRAINABLE_PARAMS,
    Column.FROZEN_PARAMS, Column.BUFFERS, Column.MACS, Column.FLOPS, Column.OUTPUT_BYTES, Column.SAVED_BYTES,
    Column.SUBTREE_PARAMS, Column.SUBTREE_MACS, Column.SUBTREE_FLOPS, Column.SUBTREE_OUTPUT_BYTES,
    Column.SUBTREE_SAVED_BYTES, Column.MACS_SHARE,
)
#: Per-layer columns added when the analysis counted a training step's backward pass.
BACKWARD_LAYER_COLUMNS: tuple[Column, ...] = (
    Column.GRAD_INPUT_MACS, Column.GRAD_WEIGHT_MACS, Column.BACKWARD_MACS, Column.BACKWARD_FLOPS,
    Column.OPTIMIZER_FLOPS, Column.SUBTREE_BACKWARD_MACS, Column.PARAMETER_BYTES, Column.GRADIENT_BYTES,
    Column.STATE_BYTES, Column.TRAIN_SAVED_BYTES, Column.HELD_BYTES, Column.FREED_BY,
)
#: Whole-model columns added when an analysis counted a training step's backward pass.
BACKWARD_SUMMARY_COLUMNS: tuple[Column, ...] = (
    Column.GRAD_INPUT_MACS, Column.GRAD_WEIGHT_MACS, Column.BACKWARD_MACS, Column.BACKWARD_FLOPS, Column.OPTIMIZER,
    Column.OPTIMIZER_FLOPS, Column.TRAINING_FLOPS, Column.TRAINING_PEAK_BYTES, Column.TRAINING_PEAK_AT,
)
#: Measured-time columns a summary gains when its models were profiled.
LATENCY_SUMMARY_COLUMNS: tuple[Column, ...] = (Column.LATENCY, Column.LATENCY_IQR, Column.PREDICTED_LATENCY)
#: Whole-model columns (summary CSV/JSON, comparison tables).
SUMMARY_COLUMNS: tuple[Column, ...] = (
    Column.MODEL, Column.INPUT_SHAPE, Column.RESOLUTION, Column.PARAMS, Column.TRAINABLE_PARAMS, Column.FROZEN_PARAMS,
    Column.BUFFERS, Column.MACS, Column.FLOPS, Column.ACTIVATION_BYTES, Column.TRAINING_BYTES, Column.PEAK_BYTES,
    Column.PEAK_MODULE, Column.CPU_PEAK_BYTES, Column.UNSUPPORTED_OPS,
)
#: Columns of the terminal tree table, after the layer label.
TABLE_COLUMNS: tuple[Column, ...] = (
    Column.KIND, Column.OUTPUT_SHAPE, Column.PARAMS, Column.MACS, Column.FLOPS, Column.OUTPUT_BYTES,
    Column.SAVED_BYTES,
)
#: Published figures (one row per figure), as the CLI passes them to reports.
PUBLISHED_COLUMNS: tuple[Column, ...] = (
    Column.MODEL, Column.FAMILY, Column.SOURCE, Column.RESOLUTION, Column.PARAMS, Column.MACS, Column.TOP1,
    Column.NOTE,
)
_BY_KEY = {column.key: column for column in Column}
_METRICS: dict[Column, Metric] = {
    Column.PARAMS: "params", Column.TRAINABLE_PARAMS: "trainable_params", Column.FROZEN_PARAMS: "frozen_params",
    Column.BUFFERS: "buffers", Column.MACS: "macs", Column.FLOPS: "flops",
    Column.OUTPUT_BYTES: "output_bytes", Column.SAVED_BYTES: "saved_bytes",
}


def column(key: str) -> Column | None:
    """The column whose key is ``key``, or None for a field outside the vocabulary."""
    return _BY_KEY.get(key)


class Definition(NamedTuple):
    """A term of a footnote and what it means."""

    term: str
    meaning: str


def conventions(dtype: str) -> list[Definition]:
    """Definitions of every cost column, for footnotes; bytes are in ``dtype``."""
    terms = [Definition(c.title, c.meaning) for c in (Column.PARAMS, Column.BUFFERS, Column.MACS, Column.FLOPS)]
    terms += [Definition(f"{c.title} ({dtype})", c.meaning)
              for c in (Column.OUTPUT_BYTES, Column.SAVED_BYTES, Column.ACTIVATION_BYTES, Column.TRAINING_BYTES,
                        Column.PEAK_BYTES)]
    terms.append(Definition("Rows", "in the per-layer CSV and JSON files and the text table, every row is the "
                                    "module's own cost (operators its forward runs outside any child, parameters it "
                                    "owns directly), so rows add up to the totals, and a row whose children are hidden "
                                    "at the depth limit shows its whole subtree; in a model page's module tree every "
                                    "row is the module and everything inside it (a subtotal), with its share of the "
                                    "model's total"))
    terms.append(Definition("Units", "K/M/G/T = 10³/10⁶/10⁹/10¹²; KiB/MiB/GiB = 2¹⁰/2²⁰/2³⁰ bytes; files hold raw "
                                     "integers"))
    return terms


#: How words of a field name are written in a title.
_WORDS = {"macs": "MACs", "mac": "MAC", "flops": "FLOPs", "gflops": "GFLOP", "se": "SE", "iqr": "IQR", "phi": "φ",
          "ms": "ms", "us": "µs", "cpu": "CPU", "gpu": "GPU", "px": "px", "id": "ID", "gb": "GB",
          # tools keep their own spelling
          "convcost": "convcost", "fvcore": "fvcore", "flopcounter": "FlopCounterMode", "thop": "thop",
          "ptflops": "ptflops", "torchinfo": "torchinfo", "torchvision": "torchvision"}
#: The last word of a field name that gives its unit, and what the title says of it.
_SUFFIX_UNITS: dict[str, tuple[Unit, str]] = {
    "ms": (Unit.MS, " (ms)"), "us": (Unit.MS, " (µs)"), "ratio": (Unit.RATIO, " (×)"),
    "prediction": (Unit.RATIO, " (×)"), "growth": (Unit.RATIO, " (×)"), "drift": (Unit.RATIO, " (×)"),
    "effect": (Unit.RATIO, " (×)"), "share": (Unit.SHARE, " (%)"), "efficiency": (Unit.SHARE, " (%)"),
    "error": (Unit.CHANGE, " (%)"), "intensity": (Unit.FLOAT, " (FLOPs/byte)"),
}


#: Words of a field name that make its numbers counts (K/M/G on a page, exact in files); a column named
#: after a counting tool holds that tool's count.
_COUNT_WORDS = frozenset({"macs", "flops", "params", "parameters", "total", "difference", "elements",
                          "paper", "convcost", "fvcore", "flopcounter", "thop", "ptflops", "torchinfo", "torchvision"})


class Derived(NamedTuple):
    """The title and unit of a column outside the vocabulary, read from its field name."""

    title: str
    unit: Unit


def derived(key: str, numeric: bool) -> Derived:
    """A title and unit for field ``key`` (a study's own column), by the naming rules of the vocabulary.

    ``pair_macs`` → ``Pair MACs`` (a count: ``1.45M``), ``standard_latency_ms`` → ``Standard latency (ms)``,
    ``macs_ratio`` → ``MACs ratio (×)``, ``time_share`` → ``Time share (%)``, ``fixed_bytes`` → ``Fixed bytes``
    (binary units), ``gflops_per_s`` → ``GFLOP/s``, ``of_flops`` → ``× FLOPs``; other numbers are plain.
    """
    words = [word for word in key.split("_") if word]
    if not words:
        return Derived(key, Unit.TEXT)
    unit, unit_text = Unit.FLOAT if numeric else Unit.TEXT, ""
    last = words[-1].lower()
    if numeric and words[0] == "of":
        unit, words = Unit.RATIO, ["×", *words[1:]]
    elif numeric and words[0] == "share":
        unit, unit_text = Unit.SHARE, " (%)"
    elif numeric and last in _SUFFIX_UNITS:
        unit, unit_text = _SUFFIX_UNITS[last]
        if last in ("ms", "us"):
            words = words[:-1]
    elif numeric and "bytes" in words:
        unit = Unit.BYTES
    elif numeric and _COUNT_WORDS & {word.lower() for word in words}:
        unit = Unit.COUNT
    text = " ".join(_WORDS.get(word.lower(), word) for word in words).replace(" per s", "/s")
    if text.startswith("GFLOP/s"):
        unit = Unit.FLOAT
    title = text[:1].upper() + text[1:] if text[:1].islower() and words[0].lower() not in _WORDS else text
    return Derived(title + unit_text, unit)
