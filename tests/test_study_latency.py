"""The latency study: structure, units and the arithmetic between its figures; never a measured value.

It runs once per session on one small model (``helpers.UNTIMED``), timed once, with the machine's
roofline and latency model fitted into the session's cache folder.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from convcost.analyzer import analyze
from convcost.architectures import create_model
from convcost.cli.app import main
from convcost.reports.columns import Column
from convcost.reports.frames import summary_frame
from convcost.studies.latency import LatencyStudy, _memory_bound_sentence, latency_section

MODEL = "mobilenet_v2_035"


@pytest.fixture(scope="module")
def study(study_of) -> LatencyStudy:
    return study_of("latency")


def test_every_model_is_profiled_once_with_its_spread_and_predicted(study: LatencyStudy) -> None:
    (model,) = study.models
    measured = model.time.profile
    assert (measured.model, model.resolution, study.runs, study.warmup) == (MODEL, 224, 1, 0)
    assert measured.latency.runs >= 1  # at least the runs asked for, more until they have taken MIN_SECONDS
    assert measured.roofline == study.roofline and study.roofline.measured
    assert model.time.prediction is not None and study.latency_model is model.time.latency_model
    expected = model.time.prediction.predicted_ms / measured.latency.median_ms - 1
    assert model.time.prediction_error == pytest.approx(expected, rel=1e-12)


def test_classes_and_stages_split_the_model_exactly(study: LatencyStudy) -> None:
    (model,) = study.models
    measured = model.time.profile
    flops = analyze(create_model(MODEL, device="meta"), (1, 3, 224, 224)).totals.flops
    assert sum(c.flops for c in model.by_class) == sum(p.flops for p in model.by_part) == flops  # exact integers
    assert sum(c.measured_ms for c in model.by_class) == pytest.approx(measured.layer_sum_ms, rel=1e-9)
    assert sum(p.measured_ms for p in model.by_part) == pytest.approx(measured.layer_sum_ms, rel=1e-9)
    assert model.time.prediction is not None
    predicted = sum(c.predicted_ms or 0.0 for c in model.by_class)
    assert predicted == pytest.approx(model.time.prediction.predicted_ms, rel=1e-9)
    assert {c.kernel_class.value for c in model.by_class} == {"standard", "depthwise", "pointwise", "linear",
                                                             "normalization", "activation", "reduction",
                                                             "elementwise"}
    assert [p.part for p in model.by_part][1:] == ["stem", *(f"stages.{i}" for i in range(7)), "head", "fc"]


def test_the_section_states_its_units_shares_and_summary(study: LatencyStudy) -> None:
    section = latency_section(study)
    (row,) = section.frame.to_dict("records")
    latency = study.models[0].time.profile.latency.median_ms
    assert row[Column.LATENCY.key] == latency and row["runs"] == study.models[0].time.profile.latency.runs
    assert row["roofline_efficiency"] == pytest.approx(row["roofline_bound_ms"] / latency, rel=1e-12)
    assert row["gflops_per_s"] == pytest.approx(row[Column.FLOPS.key] / latency / 1e6, rel=1e-12)
    classes, parts, roofline, fit, estimates = (table.frame for table in section.tables)
    assert list(roofline.columns) == ["device", "peak_gflops_per_s", "bandwidth_gb_per_s", "measured_by"]
    # a kernel class's (or stage's) share of the model's time and FLOPs, titled apart from a subtree's "% FLOPs"
    assert classes["share_of_time"].sum() == pytest.approx(1) and classes["share_of_flops"].sum() == pytest.approx(1)
    assert parts["share_of_time"].sum() == pytest.approx(1) and parts["share_of_flops"].sum() == pytest.approx(1)
    whole = fit[fit["library"].isna()]  # each class on its whole set, then on each library with enough of it
    assert list(whole["kernel_class"]) == ["standard", "depthwise", "pointwise", "grouped", "linear", "pooling",
                                           "normalization", "activation", "reduction", "elementwise"]
    assert set(fit["library"].dropna()) <= {"onednn", "native", "other"}
    assert "blank: on every micro-benchmark of the class" in section.tables[3].caption
    assert f"fitted on {whole['samples'].sum()} single-layer" in section.intro
    assert "not measurements" in section.tables[4].caption and len(estimates.columns) == 6
    assert section.values["roofline"]["peak_gflops"] == study.roofline.peak_gflops
    assert set(section.values["machine"]) == {"processor", "cores", "threads", "device", "torch"}
    assert list(section.summary.columns) == ["model", "latency_ms", "latency_iqr_ms", "predicted_ms"]
    joined = summary_frame([analyze(create_model(MODEL, device="meta"), (1, 3, 224, 224), name=MODEL)],
                           section.summary)
    assert joined.loc[0, "latency_ms"] == latency
    assert math.isnan(summary_frame([analyze(create_model("senet18", device="meta"), (1, 3, 32, 32),
                                             name="senet18")], section.summary).loc[0, "latency_ms"])


def test_the_charts_say_what_they_plot(study: LatencyStudy) -> None:
    from convcost.reports.charts import render

    for job in latency_section(study).figures:
        figure = job.build(*job.args)
        assert figure.get_suptitle()
        assert all(axes.get_xlabel() for axes in figure.axes)
        assert figure.axes[0].get_ylabel()
        svg = render(job.name, figure).svg
        assert b"$" not in svg and b"10^{" not in svg  # tick labels in plain units, never raw mathtext


def test_the_command_runs_the_study_and_refuses_unknown_models(capsys, tmp_path) -> None:
    code = main(["study", "latency", "--models", MODEL, "--profile-runs", "1", "--profile-warmup", "0",
                 "--format", "json", "-o", str(tmp_path / "latency.json"), "--quiet"])
    assert code == 0
    data = json.loads((tmp_path / "latency.json").read_text())
    assert data["rows"][0]["model"] == MODEL and data["rows"][0]["latency_ms"] > 0
    assert data["roofline"]["bandwidth_gbs"] > 0
    assert main(["study", "latency", "--models", "vgg16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("convcost study: error: argument --models: vgg16: not a registry model; "
                       "convcost list shows them") and "Traceback" not in "".join(err)


def test_the_report_profiles_every_model_alone() -> None:
    from convcost.architectures import list_models
    from convcost.studies import get_study
    from convcost.studies.timing_jobs import MachineJob, ProfileJob

    study = get_study("latency")
    assert [job for job in study.jobs(study.report_settings()) if job.isolated] == [
        MachineJob(), *(ProfileJob(model, 5, 2) for model in list_models())]


def test_the_time_share_sentence_says_what_the_table_shows() -> None:
    classes = pd.DataFrame([
        ("a", "depthwise", 0.30, 0.05), ("a", "normalization", 0.25, 0.01), ("a", "activation", 0.15, 0.01),
        ("a", "pointwise", 0.30, 0.93),
        ("b", "depthwise", 0.01, 0.05), ("b", "elementwise", 0.40, 0.02), ("b", "pointwise", 0.59, 0.93),
        # no depthwise conv at all; its elementwise class alone has no larger share, its memory-bound classes do
        ("c", "elementwise", 0.01, 0.01), ("c", "normalization", 0.09, 0.01), ("c", "standard", 0.90, 0.98),
        ("d", "activation", 0.01, 0.05), ("d", "standard", 0.99, 0.95),
    ], columns=["model", "kernel_class", "time_share", "flops_share"])
    # each kind is counted over the models that have it, the memory-bound classes together
    assert _memory_bound_sentence(classes).startswith(
        " A larger share of the time than of the FLOPs goes to depthwise convolutions in 1 of the 2 models that "
        "have them and to memory-bound layers (batch norm, activations, squeeze-excite's pooling and scale, residual "
        "adds) in 3 of the 4 models that have them")
    assert _memory_bound_sentence(classes[classes["kernel_class"] == "pointwise"]) == ""
