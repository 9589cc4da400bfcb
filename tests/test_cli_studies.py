"""convcost study, plan, explain and analyze --convention: formats, exact figures, and bad input (exit 2)."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

import pytest
from helpers import default_settings, run_cli

from convcost.cli.commands.report_command import study_list
from convcost.studies import Study, study_names
from convcost.studies.plan import training_plan

B0_TOTALS = {
    "convcost": 802_325_916, "paper": 385_814_752, "torchvision": 385_814_752, "fvcore": 401_659_392,
    "flopcounter": 771_629_504, "thop": 415_145_024, "ptflops": 410_196_896, "torchinfo": 385_867_108,
}
GIB = 2**30



def usage_error(capsys, *argv: str) -> str:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "" and "Traceback" not in err, (out, err)
    return err.strip().splitlines()[-1]


def parse(html: str) -> None:
    parser = HTMLParser()
    parser.feed(html)
    parser.close()


#: The flags that make ``convcost study NAME`` run with the tests' settings (``helpers.UNTIMED``): no timing.
UNTIMED_FLAGS = {"scaling": ("--scaling-runs", "0"), "dwsep": ("--dwsep-runs", "0")}


@pytest.fixture
def cached_studies(monkeypatch, study_of) -> None:
    """``convcost study NAME`` computes each study once per test session (they are deterministic)."""
    compute = Study.compute
    monkeypatch.setattr(Study, "compute", lambda self, settings: study_of(self.name)
                        if settings == default_settings(self.name) else compute(self, settings))


# --- study ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "title", "needle"), [
    ("scaling", "Scaling: EfficientNet B0–B7 against the compound-scaling law", "97.8× the MACs"),
    ("dwsep", "Depthwise-separable convolutions: measured against 1/C_out + 1/k²", "39 parameters against 108"),
    ("se", "Squeeze-and-excitation: what it costs and where", "62.4% of them in the final stage"),
    ("swish", "Swish, MemoryEfficientSwish or nn.SiLU: training memory", "Recommendation: silu."),
])
def test_study_table(capsys, cached_studies, name: str, title: str, needle: str) -> None:
    code, out, _ = run_cli(capsys, "study", name, *UNTIMED_FLAGS.get(name, ()))
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == [title, "=" * len(title)]
    assert needle in " ".join(out.split())  # the intro is wrapped


def test_study_scaling_csv(capsys, cached_studies) -> None:
    code, out, _ = run_cli(capsys, "study", "scaling", *UNTIMED_FLAGS["scaling"], "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [row["model"] for row in rows] == [f"efficientnet_b{i}" for i in range(8)]
    assert int(rows[-1]["macs"]) == 37_745_884_192 and float(rows[-1]["measured_ratio"]) == pytest.approx(97.834, 1e-4)


def test_study_dwsep_json_has_every_table(capsys, cached_studies) -> None:
    code, out, _ = run_cli(capsys, "study", "dwsep", *UNTIMED_FLAGS["dwsep"], "--format", "json")
    document = json.loads(out)
    assert code == 0 and [row["standard_params"] for row in document["rows"]] == [11_131_976, 32_638_740,
                                                                                  481_648_440]
    textbook, pairs = document["tables"]
    assert textbook["rows"][0]["pair_params"] == 39 and textbook["rows"][0]["standard_params"] == 108
    assert len(pairs["rows"]) == 88 and pairs["rows"][0]["output_size"] == [112, 112]


def test_study_se_html(capsys, cached_studies, tmp_path) -> None:
    target = tmp_path / "se.html"
    code, out, _ = run_cli(capsys, "study", "se", "--format", "html", "-o", str(target))
    html = target.read_text()
    parse(html)
    assert code == 0 and out == ""
    assert "<title>convcost: Squeeze-and-excitation: what it costs and where</title>" in html
    assert html.count("data:image/svg+xml;base64,") == 1 and "2,530,992" in html


def test_study_swish_csv(capsys, cached_studies) -> None:
    code, out, _ = run_cli(capsys, "study", "swish", "--format", "csv")
    rows = {row["variant"]: row for row in csv.DictReader(io.StringIO(out))}
    assert code == 0 and int(rows["swish"]["training_bytes"]) == 3_610_590_976
    assert int(rows["silu"]["activation_saved_bytes"]) == 788_213_248


def test_study_fused_untimed_and_timed(capsys, cached_studies, monkeypatch) -> None:
    code, out, _ = run_cli(capsys, "study", "fused", "--runs", "0")
    assert code == 0 and out.startswith("Fused-MBConv against MBConv, stage by stage\n")
    assert "- Latency was not measured (0 runs)." in out
    code, out, _ = run_cli(capsys, "study", "fused", "--runs", "2", "--stages", "0", "--format", "json")  # fast
    document = json.loads(out)
    assert code == 0 and [row["variant"] for row in document["rows"]] == ["as built", "swapped"]
    assert all(row["latency_ms"] > 0 for row in document["rows"])
    assert document["notes"][0].startswith("Latency: median of 2 timed forward passes after 1 warm-up pass")


def test_study_bad_input(capsys) -> None:
    assert "--runs times the fused study's stages" in usage_error(capsys, "study", "se", "--runs", "3")
    assert "invalid choice: 'plan'" in usage_error(capsys, "study", "plan")
    assert "is not a whole number" in usage_error(capsys, "study", "fused", "--runs", "-1")


# --- plan -----------------------------------------------------------------------------


def test_plan_efficientnet_b6_at_512(capsys) -> None:
    code, out, _ = run_cli(capsys, "plan", "efficientnet_b6", "--resolution", "512", "--budget", "16GiB")
    assert code == 0
    text = " ".join(out.split())
    assert "493.42 MiB with sgd" in text
    assert "Within 16.00 GiB the largest batch is 8 with sgd (the estimate would allow 8)." in text
    assert "batch 24 needs 46.70 GiB with sgd, 2.92× the budget, so it does not fit" in text
    rows = {line.split()[1]: line.split() for line in out.splitlines() if line.startswith("sgd ")}
    assert rows["8"][4] == "yes" and rows["24"][4] == "no" and rows["24"][3] == "GiB"
    assert " ".join(rows["24"][5:8]) == "backward of head.act"


@pytest.mark.parametrize(("optimizer", "fixed", "largest"), [("sgd", 517_386_712, 8), ("adam", 689_549_528, 8)])
def test_plan_json_matches_the_study(capsys, optimizer: str, fixed: int, largest: int) -> None:
    code, out, _ = run_cli(capsys, "plan", "efficientnet_b6", "--resolution", "512", "--budget", "16GiB",
                       "--optimizer", optimizer, "--batches", "7,8,9,24", "--format", "json")
    document = json.loads(out)
    plan = training_plan("efficientnet_b6", 512, optimizer=optimizer, budget="16GiB", batches=(7, 8, 9, 24))
    (summary,) = document["tables"][0]["rows"]
    assert code == 0 and (summary["fixed_bytes"], summary["max_batch"]) == (plan.fixed_bytes, plan.max_batch)
    assert (plan.fixed_bytes, plan.max_batch) == (fixed, largest)
    # weights, gradients, state: (2 + states) · 43,040,704 · 4 bytes; buffers 224,566 · 4
    assert fixed == (3 if optimizer == "sgd" else 4) * 43_040_704 * 4 + 224_566 * 4
    fits = {row["batch"]: row["fits"] for row in document["rows"]}
    assert fits == {7: True, 8: True, 9: False, 24: False}
    assert [row["total_bytes"] for row in document["rows"]] == [row.total_bytes for row in plan.rows]
    assert document["rows"][3]["total_bytes"] > 16 * GIB


def test_plan_csv_and_html(capsys, tmp_path) -> None:
    code, out, _ = run_cli(capsys, "plan", "efficientnet_b0", "--budget", "4GiB", "--batches", "1,47,48",
                       "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [(row["batch"], row["fits"]) for row in rows] == [("1", "True"), ("47", "True"),
                                                                          ("48", "False")]
    target = tmp_path / "plan.html"
    assert run_cli(capsys, "plan", "efficientnet_b0", "--format", "html", "-o", str(target))[0] == 0
    parse(target.read_text())
    assert "Training memory plan: efficientnet_b0 at 224 px" in target.read_text()


@pytest.mark.parametrize("budget", ["16 gigs", "16GiBs", "-1GB", "GiB"])
def test_plan_bad_budget_names_the_valid_forms(capsys, budget: str) -> None:
    message = usage_error(capsys, "plan", "efficientnet_b6", f"--budget={budget}")
    assert message.startswith("convcost plan: error: argument --budget: cannot read")
    assert "16GiB, 512MiB, 8GB or 1000B" in message and "KiB, MiB, GiB" in message


def test_plan_bad_input(capsys) -> None:
    assert "unknown model 'efficientnet_b9'" in usage_error(capsys, "plan", "efficientnet_b9")
    assert "no such file: mymodel.py" in usage_error(capsys, "plan", "mymodel.py:build")  # any model, if it exists
    assert "invalid choice: 'rmsprop'" in usage_error(capsys, "plan", "efficientnet_b0", "--optimizer", "rmsprop")
    assert "is not a list of batch sizes" in usage_error(capsys, "plan", "efficientnet_b0", "--batches", "1,0")


# --- conventions ----------------------------------------------------------------------


@pytest.mark.parametrize(("tool", "total"), B0_TOTALS.items())
def test_analyze_convention_json(capsys, tool: str, total: int) -> None:
    code, out, _ = run_cli(capsys, "analyze", "efficientnet_b0", "--convention", tool, "--format", "json")
    convention = json.loads(out)["convention"]
    assert code == 0 and (convention["tool"], convention["total"]) == (tool, total)
    assert (convention["flops"], convention["macs"]) == (802_325_916, 385_814_752)


def test_analyze_convention_table_and_html(capsys, tmp_path) -> None:
    code, out, _ = run_cli(capsys, "analyze", "efficientnet_b0", "--convention", "thop", "--depth", "0")
    assert code == 0
    tail = " ".join(out.split("Convention thop", 1)[1].split())
    assert tail.startswith("(thop 0.1.1 profile()): 415,145,024 (MACs) convcost: 802,325,916 all-op FLOPs, "
                           "385,814,752 conv+linear MACs; convcost explain efficientnet_b0 --vs thop")
    target = tmp_path / "b0.html"
    assert run_cli(capsys, "analyze", "efficientnet_b0", "--convention", "fvcore", "--format", "html", "-o",
               str(target))[0] == 0
    html = target.read_text()
    parse(html)
    assert "efficientnet_b0: convcost against fvcore" in html and "<tfoot>" in html


def test_analyze_convention_bad_input(capsys) -> None:
    assert "invalid choice: 'calflops'" in usage_error(capsys, "analyze", "efficientnet_b0", "--convention",
                                                       "calflops")
    assert "csv holds one row per layer" in usage_error(capsys, "analyze", "efficientnet_b0", "--convention",
                                                        "thop", "--format", "csv")


def test_explain_fvcore_table(capsys) -> None:
    code, out, _ = run_cli(capsys, "explain", "efficientnet_b0", "--vs", "fvcore")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "efficientnet_b0: convcost against fvcore"
    table = lines[lines.index(next(line for line in lines if line.startswith("Op "))):]
    assert table[0].split()[:5] == ["Op", "convcost", "FLOPs", "fvcore", "Difference"]
    rows = {line.split()[0]: line for line in table[2:-2]}
    assert rows["silu"].split()[1:5] == ["12,315,832", "0", "-12,315,832", "not"]  # not counted by fvcore
    assert rows["conv"].split()[1:4] == ["769,078,844", "384,534,752", "-384,544,092"]
    assert table[-1].split() == ["total", "802,325,916", "401,659,392", "-400,666,524"]


@pytest.mark.parametrize(("tool", "total"), B0_TOTALS.items())
def test_explain_totals(capsys, tool: str, total: int) -> None:
    code, out, _ = run_cli(capsys, "explain", "efficientnet_b0", "--vs", tool, "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["footer"] == {"op": "total", "convcost_flops": 802_325_916, tool: total,
                                                "difference": total - 802_325_916}
    assert sum(row[tool] for row in document["rows"]) == total
    assert sum(row["convcost_flops"] for row in document["rows"]) == 802_325_916


def test_explain_csv_at_another_resolution(capsys) -> None:
    code, out, _ = run_cli(capsys, "explain", "efficientnet_b0", "--vs", "flopcounter", "--resolution", "256",
                       "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and sum(int(row["flopcounter"]) for row in rows) == 2 * sum(
        int(row["flopcounter"]) // 2 for row in rows)
    conv = next(row for row in rows if row["op"] == "conv")
    assert int(conv["flopcounter"]) > 2 * 384_534_752  # more pixels than at 224


def test_explain_bad_input(capsys) -> None:
    assert "the following arguments are required: --vs" in usage_error(capsys, "explain", "efficientnet_b0")
    assert "invalid choice: 'calflops'" in usage_error(capsys, "explain", "efficientnet_b0", "--vs", "calflops")
    assert "unknown model" in usage_error(capsys, "explain", "efficientnet_b9", "--vs", "thop")


# --- report ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("all", study_names()), ("none", ()), ("plan,se", ("se", "plan")), ("conventions", ("conventions",)),
])
def test_study_names(text: str, expected: tuple[str, ...]) -> None:
    assert study_list(text) == expected


def test_report_bad_studies(capsys, tmp_path) -> None:
    message = usage_error(capsys, "report", "--out", str(tmp_path), "--studies", "se,vgg")
    assert f"give all, none or a comma-separated list of {', '.join(study_names())}" in message
    assert all(name in message for name in ("scaling", "dwsep", "plan", "conventions"))
