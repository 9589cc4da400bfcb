"""The convcost command line: each command, its formats, and bad input (exit 2, one line, no traceback)."""

import csv
import io
import json
from html.parser import HTMLParser

import pytest
from helpers import run_cli

from convcost.architectures import list_models
from convcost.cli.app import UsageError, expand_models
from convcost.studies import study_names

B0_PARAMS = 5_288_548
B0_MACS = 385_814_752

TINY_MODEL = """
from torch import nn

def build():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 10))

def broken():
    raise RuntimeError("no weights here")

def not_a_model():
    return 42
"""



def assert_usage_error(capsys, argv: list[str], *needles: str) -> str:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    message = err.strip().splitlines()[-1]
    for needle in needles:
        assert needle in message
    return message


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "mymodel.py"
    path.write_text(TINY_MODEL)
    return path


# --- list -----------------------------------------------------------------------------


def test_list_shows_native_resolution_and_published_figures(capsys) -> None:
    code, out, _ = run_cli(capsys, "list", "efficientnet_b[03]")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["Model", "Family", "px"]
    b0_paper = next(line for line in lines if line.startswith("efficientnet_b0") and "paper" in line)
    assert b0_paper.split()[2] == "224" and b0_paper.split()[-3:] == ["5.30M", "390.00M", "77.1"]
    assert any(line.startswith("efficientnet_b3") and "300" in line for line in lines)
    assert not any(line.startswith("efficientnet_b1") for line in lines)


def test_list_with_no_match_is_a_usage_error(capsys) -> None:
    assert_usage_error(capsys, ["list", "vgg*"], "no model matches 'vgg*'")


# --- analyze --------------------------------------------------------------------------


def test_analyze_table_defaults_to_native_resolution(capsys) -> None:
    code, out, _ = run_cli(capsys, "analyze", "efficientnet_b1", "--depth", "1", "--legend")
    assert code == 0
    assert out.startswith("efficientnet_b1: input 1x3x240x240 (float32), engine dispatch")
    assert "    " not in "".join(line[:4] for line in out.split("\n\n")[1].splitlines()[2:])  # depth 1 at most
    assert "Conventions:" in out
    code, out, _ = run_cli(capsys, "analyze", "efficientnet_b1", "--depth", "1")
    assert code == 0 and "Conventions:" not in out  # the legend only on request


def test_analyze_json_follows_the_contract(capsys) -> None:
    code, out, _ = run_cli(capsys, "analyze", "efficientnet_b0", "--format", "json")
    assert code == 0
    document = json.loads(out)  # one object
    assert {"model", "input_shape", "params", "macs", "flops", "activation_bytes", "training_bytes", "peak_bytes",
            "unsupported_ops", "layers"} <= set(document)
    assert (document["params"], document["macs"]) == (B0_PARAMS, B0_MACS)
    assert {"name", "type", "depth", "output_shape", "params", "macs", "flops", "output_bytes", "saved_bytes",
            "kind"} <= set(document["layers"][1])
    assert sum(layer["params"] for layer in document["layers"]) == B0_PARAMS


def test_analyze_csv_to_a_file(capsys, tmp_path) -> None:
    target = tmp_path / "b0.csv"
    code, out, _ = run_cli(capsys, "analyze", "efficientnet_b0", "--resolution", "256", "--format", "csv", "-o",
                       str(target))
    assert code == 0 and out == ""
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    stem = next(row for row in rows if row["name"] == "stem.conv")
    assert stem["output_shape"] == "1x32x128x128"
    assert int(stem["macs"]) == 32 * 128 * 128 * 27  # 14,155,776


def test_analyze_html(capsys) -> None:
    code, out, _ = run_cli(capsys, "analyze", "resnet50", "--format", "html")
    assert code == 0
    parser = HTMLParser()
    parser.feed(out)
    parser.close()
    assert out.startswith("<!DOCTYPE html>") and "resnet50" in out and "25,557,032 trainable" in out


def test_analyze_a_model_from_a_file(capsys, model_file) -> None:
    code, out, _ = run_cli(capsys, "analyze", f"{model_file}:build", "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["input_shape"] == [1, 3, 224, 224]  # the documented default for your own model
    assert document["params"] == 8 * 3 * 9 + 8 + 8 * 10 + 10  # 314
    assert document["macs"] == 224 * 224 * 8 * 27 + 80  # conv 10,838,016 + linear 80


def test_analyze_a_model_from_a_module(capsys, model_file, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(model_file.parent))
    code, out, _ = run_cli(capsys, "analyze", "mymodel:build", "--input", "2x3x32x32", "--format", "json")
    assert code == 0
    assert json.loads(out)["input_shape"] == [2, 3, 32, 32]


def test_unknown_model_lists_the_closest_names(capsys) -> None:
    assert_usage_error(capsys, ["analyze", "efficentnet_b0"], "unknown model 'efficentnet_b0'",
                       "closest: efficientnet_b0")


@pytest.mark.parametrize("shape", ["1x3xfoo", "1x3x0x224", "1x3x224x", "1,3,224,224"])
def test_bad_input_shape(capsys, shape: str) -> None:
    code, _, err = run_cli(capsys, "analyze", "efficientnet_b0", "--input", shape)
    assert code == 2 and "Traceback" not in err
    assert "argument --input" in err


def test_input_that_does_not_fit_the_model(capsys) -> None:
    assert_usage_error(capsys, ["analyze", "efficientnet_b0", "--input", "1x1x224x224"], "has 1 channels",
                       "expects 3")
    assert_usage_error(capsys, ["analyze", "efficientnet_b0", "--input", "224"], "has 1 dimensions", "expects 4")


def test_resolution_and_input_exclude_each_other(capsys) -> None:
    code, _, err = run_cli(capsys, "analyze", "efficientnet_b0", "--resolution", "224", "--input", "1x3x224x224")
    assert code == 2 and "not allowed with" in err


@pytest.mark.parametrize(("factory", "needle"), [
    ("nope", "has no factory 'nope'; callables defined there: broken, build, not_a_model"),
    ("broken", "broken() failed: RuntimeError: no weights here"),
    ("not_a_model", "not_a_model() returned int, not a torch.nn.Module"),
])
def test_bad_factories(capsys, model_file, factory: str, needle: str) -> None:
    assert_usage_error(capsys, ["analyze", f"{model_file}:{factory}"], needle)


def test_missing_file_and_module(capsys, tmp_path) -> None:
    assert_usage_error(capsys, ["analyze", f"{tmp_path}/absent.py:build"], "no such file")
    broken = tmp_path / "broken.py"
    broken.write_text("def build(:\n")
    assert_usage_error(capsys, ["analyze", f"{broken}:build"], f"cannot import {broken}: SyntaxError")
    assert_usage_error(capsys, ["analyze", f"{broken}:"], "expected path/to/file.py:factory")
    assert_usage_error(capsys, ["analyze", "no_such_package_xyz:build"], "cannot import no_such_package_xyz",
                       "ModuleNotFoundError")


def test_unwritable_output_path(capsys, tmp_path) -> None:
    assert_usage_error(capsys, ["analyze", "efficientnet_b0", "-o", str(tmp_path / "missing" / "b0.txt")],
                       "cannot write", "does not exist")
    assert_usage_error(capsys, ["analyze", "efficientnet_b0", "-o", str(tmp_path)], "it is a directory")


def test_help_exits_zero(capsys) -> None:
    code, out, _ = run_cli(capsys, "analyze", "--help")
    assert code == 0 and "--resolution N" in out and "--engine" in out


# --- compare --------------------------------------------------------------------------


def test_expand_models() -> None:
    assert expand_models(["efficientnet_b0..b3"]) == [f"efficientnet_b{i}" for i in range(4)]
    assert expand_models(["efficientnet_b6..7", "resnet50"]) == ["efficientnet_b6", "efficientnet_b7", "resnet50"]
    assert expand_models(["mobilenet_v2_0*"]) == ["mobilenet_v2_035", "mobilenet_v2_050", "mobilenet_v2_075"]
    assert expand_models(["x.py:build"]) == ["x.py:build"]
    with pytest.raises(UsageError, match="runs backwards"):
        expand_models(["efficientnet_b3..b1"])


def test_compare_table_side_by_side(capsys) -> None:
    code, out, _ = run_cli(capsys, "compare", "efficientnet_b0..b1", "resnet50")
    assert code == 0
    summary, macs, params = out.split("\n\n")[:3]
    assert [line.split()[0] for line in summary.splitlines()[2:]] == ["efficientnet_b0", "efficientnet_b1",
                                                                     "resnet50"]
    assert macs.splitlines()[0] == "MACs per stage"
    assert macs.splitlines()[1].split() == ["Stage", "efficientnet_b0", "efficientnet_b1", "resnet50"]
    assert params.splitlines()[0] == "Params per stage"


def test_compare_json_and_csv(capsys) -> None:
    code, out, _ = run_cli(capsys, "compare", "efficientnet_b0", "mobilenet_v2", "--resolution", "160", "--format",
                       "json")
    assert code == 0
    document = json.loads(out)
    assert [m["input_shape"] for m in document["models"]] == [[1, 3, 160, 160]] * 2
    b0_stages = [s for s in document["stages"] if s["model"] == "efficientnet_b0"]
    assert b0_stages[0] == {"model": "efficientnet_b0", "stage": "stem", "params": 928,
                            "macs": 32 * 80 * 80 * 27}  # 5,529,600
    code, out, _ = run_cli(capsys, "compare", "efficientnet_b0", "resnet50", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["model"], int(r["params"])) for r in rows] == [("efficientnet_b0", B0_PARAMS),
                                                              ("resnet50", 25_557_032)]


def test_compare_html_has_the_stage_sections(capsys, tmp_path) -> None:
    target = tmp_path / "compare.html"
    code, _, _ = run_cli(capsys, "compare", "efficientnet_b0..b1", "--format", "html", "-o", str(target))
    assert code == 0
    html = target.read_text()
    assert "MACs per stage" in html and "Params per stage" in html and "Cost against model index" in html


def test_compare_bad_input(capsys) -> None:
    assert_usage_error(capsys, ["compare", "efficientnet_b0", "efficientnet_b9"], "unknown model 'efficientnet_b9'")
    assert_usage_error(capsys, ["compare", "vgg*"], "no model matches 'vgg*'")
    code, _, err = run_cli(capsys, "compare", "efficientnet_b0", "--resolution", "big")
    assert code == 2 and "argument --resolution" in err


# --- report ---------------------------------------------------------------------------


def test_report_on_a_subset(capsys, tmp_path) -> None:
    code, out, _ = run_cli(capsys, "report", "--out", str(tmp_path), "--models", "efficientnet_b0..b1", "--jobs", "1",
                       "--studies", "se,conventions")
    assert code == 0 and out.startswith(f"wrote {tmp_path / 'index.html'} (2 models, 2 studies")
    html = (tmp_path / "index.html").read_text()
    # the se study analyses ResNet-50 and SE-ResNet-50 for itself; they are not models of this report
    assert "Squeeze-and-excitation: what it costs and where" in html and 'href="models/resnet50.html"' not in html
    assert 'href="models/efficientnet-b1.html"' in html and (tmp_path / "models" / "efficientnet-b1.html").exists()
    assert "Conventions: why the tools disagree" in html
    totals = list(csv.DictReader(io.StringIO((tmp_path / "sections" / "conventions-why-the-tools-disagree.csv")
                                             .read_text())))
    assert {row["tool"]: int(row["total"]) for row in totals}["fvcore"] == 401_659_392
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [m["model"] for m in summary] == ["efficientnet_b0", "efficientnet_b1"]
    assert summary[0]["params"] == B0_PARAMS
    for chart in ("scaling-by-index", "scaling-by-resolution", "accuracy-vs-macs", "mac-share-by-kind",
                  "stages-efficientnet-b1"):
        assert (tmp_path / "charts" / f"{chart}.png").exists() and (tmp_path / "charts" / f"{chart}.svg").exists()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "models" / "efficientnet-b0.csv").read_text())))
    assert sum(int(r["macs"]) for r in rows) == B0_MACS


def test_report_with_every_engine_analyses_each_model_once(capsys, tmp_path, monkeypatch) -> None:
    from convcost.cli.models import RegistryAnalysis
    from convcost.studies import AnalysisJob

    ran: list[str] = []
    for job_type in (AnalysisJob, RegistryAnalysis):
        run_job = job_type.run
        monkeypatch.setattr(job_type, "run", lambda self, run_job=run_job: ran.append(repr(self)) or run_job(self))
    code, out, _ = run_cli(capsys, "report", "--out", str(tmp_path), "--models", "efficientnet_b0", "--engine", "all",
                       "--jobs", "1", "--studies", "conventions")
    assert code == 0 and "(1 models, 1 studies" in out
    assert ran == ["RegistryAnalysis(name='efficientnet_b0', engine='all')"]  # the study reuses the model's
    document = json.loads((tmp_path / "models" / "efficientnet-b0.json").read_text())
    assert [e["engine"] for e in document["engines"]] == ["dispatch", "analytic", "fvcore"]


def test_report_bad_input(capsys, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert_usage_error(capsys, ["report", "--out", str(blocker / "sub")], "cannot create")
    assert_usage_error(capsys, ["report", "--out", str(tmp_path), "--models", "vgg*"], "no model matches")


STUDY_TITLES = {
    "Scaling: EfficientNet B0–B7 against the compound-scaling law": "97.8× the MACs of efficientnet_b0",
    "Depthwise-separable convolutions: measured against 1/C_out + 1/k²": "39 parameters against 108",
    "Squeeze-and-excitation: what it costs and where": "62.4% of them in the final stage",
    "Swish, MemoryEfficientSwish or nn.SiLU: training memory": "Recommendation: silu.",
    "Fused-MBConv against MBConv, stage by stage": "Latency: median of 7 timed forward passes after 1 warm-up",
    "Training memory plan: efficientnet_b6 at 512 px": "the largest batch is 8 with sgd, 8 with adam",
    "Time: measured latency against the counts": "timed with no hook (at least 5 runs, and more until",
    "Conventions: why the tools disagree": "thop 415.15M; ptflops 410.20M; torchinfo 385.87M",
}


class _Headings(HTMLParser):
    """The text of every ``<h2>`` and the ``id`` of every ``<section>``."""

    def __init__(self) -> None:
        super().__init__()
        self.h2: list[str] = []
        self.sections: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_h2 = tag == "h2"
        if tag == "h2":
            self.h2.append("")
        if tag == "section":
            self.sections.append(dict(attrs).get("id") or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_h2 = self._in_h2 and tag != "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.h2[-1] += data


@pytest.mark.slow
def test_full_report(capsys, tmp_path) -> None:
    # its speed is measured by hand (benchmarks/, README): a timed assertion fails on a loaded machine
    code, out, _ = run_cli(capsys, "report", "--out", str(tmp_path))
    assert code == 0 and f"({len(list_models())} models, {len(study_names())} studies" in out
    html = (tmp_path / "index.html").read_text()
    assert (tmp_path / "index.html").stat().st_size < 2 * 2**20  # the models' trees are on their own pages
    for name in list_models():
        stem = name.replace("_", "-")
        assert f'href="models/{stem}.html"' in html and (tmp_path / "models" / f"{stem}.html").exists(), name
        assert (tmp_path / "models" / f"{stem}.json").exists()
    summary = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text())))
    assert len(summary) == len(list_models())
    assert all(float(row["latency_ms"]) > 0 and float(row["predicted_ms"]) > 0 for row in summary)  # measured
    headings = _Headings()
    headings.feed(html)
    headings.close()
    studies = [title for title in headings.h2 if title in STUDY_TITLES]
    assert studies == list(STUDY_TITLES)  # every study, in report order
    text = " ".join(html.split())
    for title, needle in STUDY_TITLES.items():
        assert needle in text, title
    for slug in headings.sections:
        assert (tmp_path / "sections" / f"{slug}.csv").stat().st_size > 0
        assert (tmp_path / "charts" / f"{slug}-0.png").read_bytes().startswith(b"\x89PNG")
