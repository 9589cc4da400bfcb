"""CSV and JSON exports: golden CSV, raw integers, rows that add up, the JSON contract."""

import csv
import io
import json

import pandas as pd
import pytest

from convcost.analyzer import Analysis
from convcost.reports.export import analysis_json, csv_text, json_text, summaries_json
from convcost.reports.frames import UNDECLARED, breakdown_frame, category_share, layer_frame, part_label, summary_frame

B0_PARAMS = 5_288_548
B0_MACS = 385_814_752  # conv + linear, matches calflops and torchvision's 0.386 G


def test_b0_csv_matches_golden(b0_analysis: Analysis, golden) -> None:
    golden("efficientnet_b0_224.csv", csv_text(layer_frame(b0_analysis)))


def test_csv_rows_add_up_to_the_totals(b0_analysis: Analysis) -> None:
    rows = list(csv.DictReader(io.StringIO(csv_text(layer_frame(b0_analysis)))))
    assert len(rows) == len(b0_analysis.layers)
    sums = {key: sum(int(row[key]) for row in rows) for key in ("params", "macs", "flops", "output_bytes",
                                                                 "saved_bytes")}
    totals = b0_analysis.totals
    assert sums == {"params": B0_PARAMS, "macs": B0_MACS, "flops": totals.flops,
                    "output_bytes": totals.activation_bytes, "saved_bytes": totals.training_bytes}


def test_csv_holds_raw_integers_and_plain_shapes(b0_analysis: Analysis) -> None:
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(csv_text(layer_frame(b0_analysis))))}
    stem = rows["stem.conv"]
    assert stem["macs"] == "10838016"  # 32·112·112 outputs · 3·3·3 = 10,838,016
    assert stem["output_shape"] == "1x32x112x112"
    assert stem["kind"] == "standard"


_SUMMARY_INTS = ("params", "macs", "flops", "activation_bytes", "training_bytes", "peak_bytes")
_LAYER_INTS = ("depth", "params", "macs", "flops", "output_bytes", "saved_bytes")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def assert_json_contract(document: dict) -> None:
    """The ``convcost analyze --format json`` contract (extra keys allowed)."""
    assert isinstance(document["model"], str)
    assert all(_is_int(d) for d in document["input_shape"])
    assert all(_is_int(document[key]) for key in _SUMMARY_INTS)
    assert all(isinstance(op, str) and _is_int(n) for op, n in document["unsupported_ops"].items())
    assert document["layers"], "no layers"
    for layer in document["layers"]:
        assert isinstance(layer["name"], str) and isinstance(layer["type"], str) and isinstance(layer["kind"], str)
        assert all(_is_int(layer[key]) for key in _LAYER_INTS), layer
        assert layer["output_shape"] is None or all(_is_int(d) for d in layer["output_shape"])


def test_json_follows_the_contract_and_adds_up(b0_analysis: Analysis) -> None:
    document = json.loads(json_text(analysis_json(b0_analysis)))
    assert_json_contract(document)
    assert document["model"] == "efficientnet_b0"
    assert document["input_shape"] == [1, 3, 224, 224]
    assert (document["params"], document["macs"]) == (B0_PARAMS, B0_MACS)
    assert sum(layer["macs"] for layer in document["layers"]) == B0_MACS
    assert sum(layer["saved_bytes"] for layer in document["layers"]) == document["training_bytes"]
    assert document["layers"][0]["name"] == ""  # the root comes first


def test_summary_has_one_record_per_model(b0_analysis: Analysis) -> None:
    (record,) = summaries_json([b0_analysis])
    assert record["resolution"] == 224
    assert record["params"] == B0_PARAMS
    assert list(summary_frame([b0_analysis])["macs"]) == [B0_MACS]


def test_stages_and_categories(b0_analysis: Analysis) -> None:
    layer = b0_analysis.layer
    assert part_label(layer("")) == UNDECLARED  # the root is in no declared part
    assert part_label(layer("stem.conv")) == "stem"
    assert part_label(layer("stages.3.1.se.fc1")) == "stages.3"
    assert layer("stages.3.1.se.fc1").category == "SE"
    assert layer("stages.3.1.depthwise.conv").category == "depthwise"
    assert layer("head.conv").category == "head/classifier"
    assert layer("fc").category == "head/classifier"
    assert layer("stem.bn").category == "other"
    breakdown = breakdown_frame(b0_analysis)
    assert breakdown["macs"].sum() == B0_MACS
    assert breakdown["params"].sum() == B0_PARAMS
    assert list(dict.fromkeys(breakdown["stage"]))[:2] == ["stem", "stages.0"]
    by_category = breakdown.groupby("category", observed=True)["macs"].sum().to_dict()
    # stem 10,838,016; head conv 20,070,400 + fc 1,280,000; SE convs 627,200; sum = 385,814,752
    assert by_category == {"standard": 10_838_016, "depthwise": 34_532_064, "pointwise": 318_467_072,
                           "SE": 627_200, "head/classifier": 21_350_400, "other": 0}
    share = category_share([b0_analysis]).loc["efficientnet_b0"]
    assert "other" not in share  # categories without MACs are dropped
    assert share["pointwise"] == 318_467_072 / B0_MACS


def test_measured_figures_join_the_summary_and_never_replace_counts(b0_analysis) -> None:
    from convcost.reports.frames import joined_measurements

    first = pd.DataFrame({"model": ["efficientnet_b0"], "latency_ms": [1.5]})
    second = pd.DataFrame({"model": ["efficientnet_b0", "other"], "latency_ms": [9.0, 2.0],
                           "predicted_ms": [1.4, 2.1]})
    joined = joined_measurements([first, second])
    assert joined is not None and joined_measurements([]) is None
    assert joined.set_index("model").to_dict("index") == {
        "efficientnet_b0": {"latency_ms": 1.5, "predicted_ms": 1.4}, "other": {"latency_ms": 2.0, "predicted_ms": 2.1}}
    row = summary_frame([b0_analysis], joined).iloc[0]
    assert (row["macs"], row["latency_ms"], row["predicted_ms"]) == (B0_MACS, 1.5, 1.4)
    (record,) = summaries_json([b0_analysis], joined)
    assert (record["latency_ms"], record["predicted_ms"]) == (1.5, 1.4)
    (alone,) = summaries_json([b0_analysis], pd.DataFrame({"model": ["other"], "latency_ms": [2.0]}))
    assert alone["latency_ms"] is None  # not measured: null, never a guess
    with pytest.raises(ValueError, match="measured figures may not replace counted ones; got macs"):
        summary_frame([b0_analysis], pd.DataFrame({"model": ["efficientnet_b0"], "macs": [1]}))
