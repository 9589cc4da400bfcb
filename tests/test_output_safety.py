"""Module names are user data: neutralised in CSV, escaped and clipped on a terminal, whole in JSON."""

from __future__ import annotations

import csv
import io
import json

from torch import nn

from convcost.analyzer import analyze
from convcost.reports.export import analysis_json, csv_text
from convcost.reports.frames import layer_frame
from convcost.reports.safe import clipped, csv_cell, printable
from convcost.reports.table import analysis_text

HOSTILE = {
    "=HYPERLINK(\"http://x\")": "formula",
    "+1": "plus",
    "@SUM(A1)": "at",
    "line\nbreak": "newline",
    "carriage\rreturn": "carriage return",
    "\x1b[31mred\x1b[0m": "escape sequence",
    "right\u202eto-left": "bidi override",
    "x" * 200: "long",
}


def hostile_model() -> nn.Module:
    model = nn.Sequential()
    for name in HOSTILE:
        model.add_module(name, nn.Conv2d(3, 3, 1))
    return model.to("meta")


def test_csv_cells_cannot_run_as_formulas_or_break_rows() -> None:
    analysis = analyze(hostile_model(), (1, 3, 4, 4))
    text = csv_text(layer_frame(analysis))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 1 + len(HOSTILE)  # one row per module: the root and each conv
    names = [row["name"] for row in rows[1:]]
    assert names[:3] == ["'=HYPERLINK(\"http://x\")", "'+1", "'@SUM(A1)"]
    assert names[3:5] == ["line\nbreak", "carriage\rreturn"]  # quoted, whole
    assert all(not name.startswith(("=", "+", "-", "@", "\t", "\r")) for name in names)
    assert [row["macs"] for row in rows[1:]] == ["144"] * len(HOSTILE)  # 3·3 · 16 positions, numbers untouched


def test_terminal_table_shows_control_and_bidi_characters_escaped() -> None:
    text = analysis_text(analyze(hostile_model(), (1, 3, 4, 4)), 1)
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text
    assert "\\x1b[31mred\\x1b[0m (Conv2d)" in text and "right\\u202eto-left (Conv2d)" in text
    assert "line\\nbreak (Conv2d)" in text
    assert "x" * 47 + "… (Conv2d)" in text and "x" * 49 not in text


def test_json_keeps_names_whole() -> None:
    document = json.loads(json.dumps(analysis_json(analyze(hostile_model(), (1, 3, 4, 4)))))
    assert [layer["name"] for layer in document["layers"][1:]] == list(HOSTILE)


def test_helpers() -> None:
    assert printable("plain name") == "plain name"
    assert printable("a\x00b\tc") == "a\\x00b\\tc"
    assert clipped("abcdef", 4) == "abc…" and clipped("abc", 4) == "abc"
    assert csv_cell("-1") == "'-1" and csv_cell(-1) == -1 and csv_cell("1x3") == "1x3"
