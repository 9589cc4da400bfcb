"""Study ``dwsep``: what a depthwise-separable convolution saves, per layer and per network.

A depthwise k×k conv on ``C`` channels followed by a pointwise 1×1 conv ``C → C_out``
costs ``C·k² + C·C_out`` weights and ``N·H'·W'·(C·k² + C·C_out)`` MACs, against
``C·C_out·k²`` and ``N·H'·W'·C·C_out·k²`` for one standard k×k conv with the same
channels and stride, so both ratios are exactly ``1/C_out + 1/k²`` (MobileNet, Howard et
al. 2017). Anything between the two convs (BatchNorm, activation, an SE gate) counts in
neither side, so a measured per-layer ratio equals the theory exactly, while a network's
saving is diluted by the layers that are not pairs (stem, expand convs, head, classifier).

Pairs are found in the analysis records, not by class names: a depthwise conv
(``groups == C_in == C_out``) is paired with the first later pointwise conv inside its
block that consumes a tensor of the depthwise output's shape. Its block is its smallest
enclosing module that holds another conv. SE squeeze/excite convs, which run on the 1×1
pooled map, are skipped and listed in ``between``; in EfficientNet
``<block>.depthwise.conv`` pairs with ``<block>.project.conv``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import nn

from convcost.analyzer import Analysis, ConvKind, LayerCheck, LayerRecord, analyze
from convcost.analyzer.analysis import ancestors
from convcost.analyzer.formulas.layers import LayerHyper, layer_macs, layer_params, separable_ratio_theory
from convcost.reports.chart_style import PALETTE, chart_style, legend_outside, new_figure, panels, set_caption
from convcost.reports.charts import ChartJob
from convcost.reports.prose import names
from convcost.reports.sections import Section, Table
from convcost.reports.units import human_ratio

from .base import Study, register_study
from .common import AnalysisJob, analyze_model, records_frame
from .timing_jobs import PROFILE_RUNS, PROFILE_WARMUP, ProfileJob, runs_option, runs_value

if TYPE_CHECKING:
    from convcost.analyzer.profiling import Profile

__all__ = [
    "DWSEP_MODELS",
    "DwsepStudy",
    "NetworkSeparable",
    "NetworkTime",
    "PairTime",
    "SeparablePair",
    "dwsep_section",
    "dwsep_study",
    "network_time",
    "separable_network",
    "separable_pairs",
    "textbook_pair",
]

#: Networks the study covers by default.
DWSEP_MODELS: tuple[str, ...] = ("mobilenet_v2", "efficientnet_b0", "efficientnet_b7")
#: Networks it also times, as built and with ``separable=False`` (B7 built with standard convs does 331 GMACs a
#: forward: seconds per run, too long for the report).
TIMED_MODELS: tuple[str, ...] = ("mobilenet_v2", "efficientnet_b0")


@dataclass(frozen=True)
class SeparablePair:
    """One depthwise + pointwise pair and the standard conv it stands in for.

    Attributes:
        model: model name from the analysis.
        block: smallest module holding both convs.
        depthwise, pointwise: module names of the two convs.
        between: conv layers run between them that are not part of the pair (SE convs).
        in_channels: ``C``, channels of the depthwise conv.
        out_channels: ``C_out`` of the pointwise conv.
        kernel: side ``k`` of the square depthwise kernel.
        stride: stride of the depthwise conv (the standard conv gets the same).
        batch: ``N``; output_size: ``(H', W')`` of the depthwise output.
        depthwise_params, pointwise_params: trainable parameters (elements), bias included.
        depthwise_macs, pointwise_macs: measured multiply-accumulates.
        standard_params, standard_macs: one ``C → C_out`` k×k conv (bias as the pointwise's),
            from ``convcost.analyzer.formulas.layers``.
    """

    model: str
    block: str
    depthwise: str
    pointwise: str
    between: tuple[str, ...]
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    batch: int
    output_size: tuple[int, int]
    depthwise_params: int
    pointwise_params: int
    depthwise_macs: int
    pointwise_macs: int
    standard_params: int
    standard_macs: int

    @property
    def pair_params(self) -> int:
        """Parameters of depthwise + pointwise."""
        return self.depthwise_params + self.pointwise_params

    @property
    def pair_macs(self) -> int:
        """MACs of depthwise + pointwise."""
        return self.depthwise_macs + self.pointwise_macs

    @property
    def params_ratio(self) -> float:
        """``pair_params / standard_params``."""
        return self.pair_params / self.standard_params

    @property
    def macs_ratio(self) -> float:
        """``pair_macs / standard_macs``."""
        return self.pair_macs / self.standard_macs

    @property
    def theory_ratio(self) -> float:
        """``1/C_out + 1/k²``."""
        return separable_ratio_theory(self.out_channels, self.kernel)

    @property
    def macs_ratio_is_theory(self) -> bool:
        """The MAC ratio equals ``1/C_out + 1/k²`` exactly, as rationals."""
        return Fraction(self.pair_macs, self.standard_macs) == _theory(self.out_channels, self.kernel)

    @property
    def params_ratio_is_theory(self) -> bool:
        """The parameter ratio equals ``1/C_out + 1/k²`` exactly (false when the convs have biases)."""
        return Fraction(self.pair_params, self.standard_params) == _theory(self.out_channels, self.kernel)


def _theory(out_channels: int, kernel: int) -> Fraction:
    return Fraction(1, out_channels) + Fraction(1, kernel**2)


@dataclass(frozen=True)
class NetworkSeparable:
    """A network's pairs, and its totals against the counterfactual built with standard convs.

    Attributes:
        model: model name; resolution: input side (pixels); batch: images per pass.
        pairs: every depthwise + pointwise pair, in module order.
        params, macs: totals of the real (separable) network.
        standard_params, standard_macs: totals of the same model built with ``separable=False``.
    """

    model: str
    resolution: int
    batch: int
    pairs: tuple[SeparablePair, ...]
    params: int
    macs: int
    standard_params: int
    standard_macs: int

    @property
    def pairs_params(self) -> int:
        """Parameters in all pairs."""
        return sum(pair.pair_params for pair in self.pairs)

    @property
    def pairs_macs(self) -> int:
        """MACs in all pairs."""
        return sum(pair.pair_macs for pair in self.pairs)

    @property
    def pairs_standard_params(self) -> int:
        """Parameters of the standard convs that would replace all pairs."""
        return sum(pair.standard_params for pair in self.pairs)

    @property
    def pairs_standard_macs(self) -> int:
        """MACs of the standard convs that would replace all pairs."""
        return sum(pair.standard_macs for pair in self.pairs)

    @property
    def pairs_macs_ratio(self) -> float:
        """All pairs' MACs over their standard convs' (a MAC-weighted mean of the per-layer theory)."""
        return self.pairs_macs / self.pairs_standard_macs

    @property
    def macs_ratio(self) -> float:
        """Whole network: ``macs / standard_macs``."""
        return self.macs / self.standard_macs

    @property
    def params_ratio(self) -> float:
        """Whole network: ``params / standard_params``."""
        return self.params / self.standard_params

    @property
    def other_params_delta(self) -> int:
        """Counterfactual parameters not explained by swapping the convs: the BatchNorm between
        the pair is gone, and SE gates ``C_out`` channels instead of ``C``."""
        return self.standard_params - (self.params - self.pairs_params + self.pairs_standard_params)

    @property
    def other_macs_delta(self) -> int:
        """Counterfactual MACs not explained by swapping the convs (the resized SE convs)."""
        return self.standard_macs - (self.macs - self.pairs_macs + self.pairs_standard_macs)


@dataclass(frozen=True)
class PairTime:
    """One depthwise + pointwise pair's measured time against the standard conv that replaces it (ms, this machine).

    Attributes:
        pair_ms: the two convs' own times in the separable network; standard_ms: the standard k×k conv's in the
            ``separable=False`` network (the block's one standard conv); pair_macs, standard_macs: their MACs.
    """

    model: str
    block: str
    pair_ms: float
    standard_ms: float
    pair_macs: int
    standard_macs: int

    @property
    def macs_ratio(self) -> float:
        """``pair_macs / standard_macs``."""
        return self.pair_macs / self.standard_macs

    @property
    def time_ratio(self) -> float:
        """``pair_ms / standard_ms``: the share of the standard conv's time the pair takes."""
        return self.pair_ms / self.standard_ms if self.standard_ms > 0 else math.nan


@dataclass(frozen=True)
class NetworkTime:
    """A network's measured latency as built and with ``separable=False`` (ms: median and IQR of hook-free runs)."""

    model: str
    latency_ms: float
    latency_iqr_ms: float
    standard_latency_ms: float
    standard_latency_iqr_ms: float
    macs_ratio: float
    runs: int
    standard_runs: int
    pairs: tuple[PairTime, ...]

    @property
    def latency_ratio(self) -> float:
        """``latency_ms / standard_latency_ms``, to set beside ``macs_ratio``."""
        return self.latency_ms / self.standard_latency_ms if self.standard_latency_ms > 0 else math.nan


def network_time(network: NetworkSeparable, separable: Profile, standard: Profile) -> NetworkTime:
    """``network``'s pairs and whole latency, timed in the ``separable`` and ``standard`` profiles."""
    own = {layer.name: layer.latency.median_ms for layer in separable.layers}
    pairs = []
    for pair in network.pairs:
        replacing = [layer for layer in standard.layers
                     if layer.name.startswith(f"{pair.block}.") and layer.kind == ConvKind.STANDARD.value]
        if len(replacing) == 1 and pair.depthwise in own and pair.pointwise in own:
            pairs.append(PairTime(network.model, pair.block, own[pair.depthwise] + own[pair.pointwise],
                                  replacing[0].latency.median_ms, pair.pair_macs, pair.standard_macs))
    return NetworkTime(network.model, separable.latency.median_ms, separable.latency.iqr_ms,
                       standard.latency.median_ms, standard.latency.iqr_ms, network.macs_ratio,
                       separable.latency.runs, standard.latency.runs, tuple(pairs))


@dataclass(frozen=True)
class DwsepStudy:
    """Result of :func:`dwsep_study`: the textbook pair and one record per network, and the networks timed."""

    textbook: SeparablePair
    networks: tuple[NetworkSeparable, ...]
    times: tuple[NetworkTime, ...] = ()

    def to_dataframe(self) -> pd.DataFrame:
        """One row per pair over all networks (the textbook pair first)."""
        return records_frame([self.textbook, *(pair for net in self.networks for pair in net.pairs)])

    def networks_dataframe(self) -> pd.DataFrame:
        """One row per network: totals, counterfactual totals and ratios (pairs left out)."""
        return records_frame(self.networks).drop(columns=["pairs"])


def separable_pairs(analysis: Analysis) -> tuple[SeparablePair, ...]:
    """Every depthwise conv of ``analysis`` paired with the pointwise conv that follows it in its block."""
    convs = [layer for layer in analysis.layers if layer.check is not None and layer.calls]
    conv_names = [layer.name for layer in convs]
    pairs = []
    for index, depthwise in enumerate(convs):
        check = depthwise.check
        if check is None or check.kind is not ConvKind.DEPTHWISE or check.out_channels != check.in_channels:
            continue
        block = _block(depthwise.name, conv_names)
        between: list[str] = []
        for layer in convs[index + 1:]:
            if block and not layer.name.startswith(f"{block}."):
                break
            if layer.kind is ConvKind.DEPTHWISE:
                break
            if layer.kind is ConvKind.POINTWISE and layer.input_shapes[:1] == depthwise.output_shapes[:1]:
                pairs.append(_pair(analysis.model, block, (depthwise, check), layer, tuple(between)))
                break
            between.append(layer.name)
    return tuple(pairs)


def _block(name: str, conv_names: list[str]) -> str:
    """Smallest proper ancestor of ``name`` that holds another conv/linear layer."""
    for ancestor in ancestors(name)[1:]:
        prefix = f"{ancestor}." if ancestor else ""
        if any(other != name and other.startswith(prefix) for other in conv_names):
            return ancestor
    return ""


def _pair(model: str, block: str, depthwise_layer: tuple[LayerRecord, LayerCheck], pointwise: LayerRecord,
          between: tuple[str, ...]) -> SeparablePair:
    depthwise, dw = depthwise_layer
    pw = pointwise.check
    if pw is None:
        raise ValueError(f"{pointwise.name} is not a conv layer")
    if len(set(dw.kernel)) != 1:
        raise ValueError(f"{depthwise.name}: only square depthwise kernels are compared; got {dw.kernel}")
    standard = LayerHyper(dw.in_channels, pw.out_channels, dw.kernel, dw.stride,
                          tuple(k // 2 for k in dw.kernel), dw.dilation, 1, pw.bias)
    out_shape = depthwise.output_shapes[0]
    return SeparablePair(
        model=model, block=block, depthwise=depthwise.name, pointwise=pointwise.name, between=between,
        in_channels=dw.in_channels, out_channels=pw.out_channels, kernel=dw.kernel[0], stride=dw.stride[0],
        batch=out_shape[0], output_size=(out_shape[-2], out_shape[-1]),
        depthwise_params=depthwise.params, pointwise_params=pointwise.params,
        depthwise_macs=depthwise.macs, pointwise_macs=pointwise.macs,
        standard_params=layer_params(standard),
        standard_macs=layer_macs(standard, depthwise.input_shapes[0], out_shape[-2:]) * depthwise.calls,
    )


def separable_network(real: Analysis, standard: Analysis) -> NetworkSeparable:
    """Pairs of ``real`` and its totals next to ``standard``, the same model built with ``separable=False``.

    Raises:
        ValueError: the two analyses are of different inputs.
    """
    if real.input_shapes != standard.input_shapes:
        raise ValueError(f"analyses of different inputs: {real.input_shapes} vs {standard.input_shapes}")
    shape = real.input_shapes[0]
    return NetworkSeparable(
        model=real.model, resolution=shape[-1], batch=shape[0], pairs=separable_pairs(real),
        params=real.totals.params, macs=real.totals.macs,
        standard_params=standard.totals.params, standard_macs=standard.totals.macs,
    )


def textbook_pair(in_channels: int = 3, out_channels: int = 4, kernel: int = 3, size: int = 8) -> SeparablePair:
    """The textbook example, measured: a depthwise k×k then a pointwise conv, no bias, on a ``size``² map.

    With the defaults (3 → 4 channels, 3×3): 3·9 + 3·4 = 39 parameters against 3·4·9 = 108.
    """
    with torch.device("meta"):
        model = nn.Sequential(
            nn.Conv2d(in_channels, in_channels, kernel, padding=kernel // 2, groups=in_channels, bias=False),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
        )
    (pair,) = separable_pairs(analyze(model, (1, in_channels, size, size), name="textbook"))
    return pair


def dwsep_study(models: Sequence[str] = DWSEP_MODELS, *, resolution: int | None = None) -> DwsepStudy:
    """Analyse each model as built and with ``separable=False``, at ``resolution`` (default native)."""
    networks = tuple(
        separable_network(analyze_model(name, resolution), analyze_model(name, resolution, separable=False))
        for name in models
    )
    return DwsepStudy(textbook_pair(), networks)


# --- report section ---------------------------------------------------------------------

_PAIR_COLUMNS = ["model", "block", "in_channels", "out_channels", "kernel", "stride", "output_size", "pair_params",
                 "standard_params", "pair_macs", "standard_macs", "macs_ratio", "theory_ratio",
                 "macs_ratio_is_theory"]
_TEXTBOOK_COLUMNS = ["in_channels", "out_channels", "kernel", "output_size", "depthwise_params",
                     "pointwise_params", "pair_params", "standard_params", "params_ratio", "macs_ratio",
                     "theory_ratio"]


def dwsep_section(study: DwsepStudy) -> Section:
    """Depthwise-separable savings per layer against ``1/C_out + 1/k²`` and per network against ``separable=False``."""
    networks = study.networks_dataframe().rename(columns={"params": "separable_params", "macs": "separable_macs"})
    networks.insert(3, "pairs", [len(network.pairs) for network in study.networks])
    frame = networks[["model", "resolution", "pairs", "separable_params", "standard_params", "params_ratio",
                      "separable_macs", "standard_macs", "macs_ratio", "pairs_macs_ratio"]]
    pairs = study.to_dataframe()
    textbook, per_pair = pairs.iloc[:1][_TEXTBOOK_COLUMNS], (pairs.iloc[1:][_PAIR_COLUMNS].reset_index(drop=True)
                                                          .rename(columns={"macs_ratio_is_theory": "equals_theory"}))
    book = study.textbook
    every = [pair for network in study.networks for pair in network.pairs]
    exact = sum(pair.macs_ratio_is_theory for pair in every)
    nets = study.networks
    savings = (f"{names([n.model for n in nets])} need {names([human_ratio(n.macs_ratio) for n in nets])} the MACs "
               "of the same networks built with standard convs instead (separable=False), against "
               f"{names([human_ratio(n.pairs_macs_ratio) for n in nets])} for their pairs alone")
    intro = (
        "A depthwise k×k conv on C channels followed by a pointwise 1×1 conv to C_out costs C·k² + C·C_out weights "
        "(and as many MACs per output pixel) against C·C_out·k² for one standard k×k conv: a ratio of exactly "
        f"1/C_out + 1/k² (MobileNet, Howard et al. 2017). The textbook case, {book.in_channels} → "
        f"{book.out_channels} channels with a {book.kernel}×{book.kernel} kernel and no bias, measured: "
        f"{book.pair_params} parameters against {book.standard_params} ({human_ratio(book.params_ratio)} = "
        f"1/{book.out_channels} + 1/{book.kernel ** 2}). In {names([n.model for n in study.networks])}, {exact} of "
        f"{len(every)} pairs have a measured MAC ratio equal to the theory exactly. Whole networks save less, "
        f"because the stem, the expand convs, the head and the classifier are not pairs: {savings}."
    )
    tables = [Table("The textbook pair (3 → 4 channels, 3×3, no bias)", textbook,
                    ("params_ratio", "macs_ratio", "theory_ratio")),
              Table("Every depthwise + pointwise pair, against one standard conv", per_pair,
                    ("block", "macs_ratio", "theory_ratio"))]
    notes = []
    if study.times:
        timed = pd.DataFrame([{
            "model": t.model, "macs_ratio": t.macs_ratio, "latency_ms": t.latency_ms,
            "latency_iqr_ms": t.latency_iqr_ms, "standard_latency_ms": t.standard_latency_ms,
            "standard_latency_iqr_ms": t.standard_latency_iqr_ms, "latency_ratio": t.latency_ratio,
            "runs": t.runs, "standard_runs": t.standard_runs,
            "pairs_macs_ratio": sum(p.pair_macs for p in t.pairs) / sum(p.standard_macs for p in t.pairs)
            if t.pairs else math.nan,
            "pairs_time_ratio": sum(p.pair_ms for p in t.pairs) / sum(p.standard_ms for p in t.pairs)
            if t.pairs else math.nan,
        } for t in study.times])
        per_pair_time = pd.DataFrame([{"model": p.model, "block": p.block, "pair_ms": p.pair_ms,
                                       "standard_ms": p.standard_ms, "macs_ratio": p.macs_ratio,
                                       "time_ratio": p.time_ratio} for t in study.times for p in t.pairs])
        tables += [Table("Time against MACs: each network against its separable=False counterfactual (measured "
                         "on this machine)", timed,
                         ("macs_ratio", "latency_ratio", "latency_ms", "standard_latency_ms")),
                   Table("Time against MACs, pair by pair (measured on this machine)", per_pair_time,
                         ("block", "macs_ratio", "time_ratio"))]
        intro += " Measured on this machine: " + "; ".join(
            f"{t.model} takes {t.latency_ms:.1f} ms against {t.standard_latency_ms:.1f} ms built with standard "
            f"convs ({human_ratio(t.latency_ratio)} the time for {human_ratio(t.macs_ratio)} the MACs)"
            for t in study.times) + "."
        runs = sorted({count for t in study.times for count in (t.runs, t.standard_runs)})
        counts = str(runs[0]) if len(runs) == 1 else f"{runs[0]}–{runs[-1]}"
        notes.append(f"Times: the median of {counts} hook-free forwards of each network (batch 1, "
                     "float32, eval mode, this machine's CPU), its interquartile range beside it; a pair's time is its "
                     "two convs' own times under per-module hooks, against the one standard conv of the same block in "
                     "the separable=False network. A depthwise conv moves as many bytes as a standard one for a "
                     "fraction of the arithmetic, so the time saved is smaller than the MACs saved.")
    return Section(
        "Depthwise-separable convolutions: measured against 1/C_out + 1/k²", intro, frame,
        figures=[ChartJob("dwsep", dwsep_chart, (per_pair[["model", "macs_ratio", "theory_ratio"]],
                                                               frame[["model", "macs_ratio"]]))],
        tables=tables, notes=notes, key_columns=("macs_ratio", "params_ratio", "pairs_macs_ratio"),
    )


def dwsep_chart(pairs: pd.DataFrame, networks: pd.DataFrame) -> Figure:
    """Per layer, each model's measured MAC ratio of depthwise + pointwise to one standard conv, against
    ``1/C_out + 1/k²``, with the whole network's ratio to its ``separable=False`` counterfactual.

    Args:
        pairs: one row per pair with ``model``, ``macs_ratio`` and ``theory_ratio``, in module order.
        networks: one row per model with ``model`` and ``macs_ratio``.
    """
    models = list(networks["model"])
    with chart_style():
        figure = new_figure()
        axes_row = panels(figure, len(models), 3, sharey=True)
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
        axes_row[0].set_ylabel("MACs of the pair / one standard k×k conv")
        axes_row[0].set_ylim(bottom=0)
        legend_outside(figure)
        figure.suptitle("Depthwise-separable convs: measured MAC ratio per layer against 1/C_out + 1/k²")
        set_caption(figure, (
            "Per depthwise + pointwise pair of each network (x, in module order): the pair's MACs over those of one "
            "standard k×k conv with the same channels (y, ratio), measured against the theory 1/C_out + 1/k²; the "
            "dashed line is the whole network's MACs over its separable=False counterfactual's (ratio)."))
    return figure


# --- the plug-in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextbookJob:
    """The textbook depthwise-separable pair (3 → 4 channels, 3×3), measured on ``meta``."""

    @property
    def isolated(self) -> bool:
        """Counting only: runs anywhere."""
        return False

    def run(self) -> SeparablePair:
        """Measure the pair."""
        return textbook_pair()


@dataclass(frozen=True)
class DwsepSettings:
    """The networks compared (each at its native resolution), those also timed as built and with
    ``separable=False``, and the timed forwards of each (0: none)."""

    models: tuple[str, ...] = DWSEP_MODELS
    timed: tuple[str, ...] = TIMED_MODELS
    runs: int = PROFILE_RUNS


class Dwsep(Study[DwsepSettings, DwsepStudy]):
    """Depthwise-separable savings per layer and per network against ``1/C_out + 1/k²``."""

    name = "dwsep"
    title = "depthwise-separable savings per layer and per network, against 1/C_out + 1/k²"
    position = 20
    options = (runs_option("--dwsep-runs", "each network as built and with separable=False",
                           "times the dwsep study's networks"),)

    def settings(self, values: Mapping[str, Any]) -> DwsepSettings:
        """The report's networks with the timed forwards asked for."""
        return DwsepSettings(runs=runs_value(values, self.options[0]))

    def report_settings(self) -> DwsepSettings:
        """MobileNetV2, EfficientNet-B0 and B7; the first two timed."""
        return DwsepSettings()

    def _profiles(self, settings: DwsepSettings) -> list[tuple[str, ProfileJob, ProfileJob]]:
        if not settings.runs:
            return []
        return [(name, ProfileJob.of(name, settings.runs, PROFILE_WARMUP),
                 ProfileJob.of(name, settings.runs, PROFILE_WARMUP, separable=False))
                for name in settings.timed if name in settings.models]

    def _pairs(self, settings: DwsepSettings) -> list[tuple[AnalysisJob, AnalysisJob]]:
        return [(AnalysisJob.of(name), AnalysisJob.of(name, separable=False)) for name in settings.models]

    def jobs(self, settings: DwsepSettings) -> list[AnalysisJob | TextbookJob | ProfileJob]:
        """Each network as built and with ``separable=False``, and the textbook pair; then, timed alone, the
        profiles of the timed networks both ways."""
        return [*(job for pair in self._pairs(settings) for job in pair), TextbookJob(),
                *(job for _, separable, standard in self._profiles(settings) for job in (separable, standard))]

    def assemble(self, settings: DwsepSettings, results: Mapping[Any, Any]) -> DwsepStudy:
        """The textbook pair, one :func:`separable_network` per model, and the timed ones' times."""
        textbook = results[TextbookJob()]
        networks = {real.model: separable_network(results[real], results[standard])
                    for real, standard in self._pairs(settings)}
        times = tuple(network_time(networks[name], results[separable], results[standard])
                      for name, separable, standard in self._profiles(settings) if name in networks)
        return DwsepStudy(textbook, tuple(networks.values()), times)

    def section(self, result: DwsepStudy) -> Section:
        """:func:`dwsep_section`."""
        return dwsep_section(result)


register_study(Dwsep())
