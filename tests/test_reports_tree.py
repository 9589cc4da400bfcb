"""The HTML module tree and summary table: subtotals, shares, raw values, sources (exact figures)."""

import json
import re

import pandas as pd
from torch import nn

from convcost.analyzer import Analysis, analyze
from convcost.reports.build import build_report
from convcost.reports.html import table_html
from convcost.reports.overview import overview
from convcost.reports.tree_table import TREE_COLUMNS, layer_tree

B0_PARAMS, B0_MACS, B0_FLOPS = 5_288_548, 385_814_752, 802_325_916


def _column(tree: dict, key: str) -> int:
    return [c["key"] for c in tree["columns"]].index(key) - 1  # the first column is the module's name


def test_tree_rows_are_modules_with_inclusive_subtotals(b0_analysis: Analysis) -> None:
    tree = layer_tree(b0_analysis)
    rows, names = tree["rows"], tree["names"]
    assert len(rows) == len(b0_analysis.layers) == 313
    assert [c["key"] for c in tree["columns"]] == ["name", *(c.key for c in TREE_COLUMNS)]
    root = rows[0]
    assert root[0] == -1 and root[2] == "(root)"
    macs, params, flops = (_column(tree, k) for k in ("subtree_macs", "subtree_params", "subtree_flops"))
    assert (root[4][macs], root[4][params], root[4][flops]) == (B0_MACS, B0_PARAMS, B0_FLOPS)
    assert root[4][_column(tree, "macs_share")] == 1.0 and root[3][_column(tree, "macs_share")] == "100.0%"
    children: dict[int, list[int]] = {}
    for index, row in enumerate(rows):
        if row[0] >= 0:
            assert names[index].startswith(names[row[0]] + ".") or names[row[0]] == ""
            children.setdefault(row[0], []).append(index)
    own = {layer.name: layer for layer in b0_analysis.layers}
    for parent, kids in children.items():  # every parent's subtotal is its own cost plus its children's
        assert rows[parent][4][macs] == own[names[parent]].macs + sum(rows[k][4][macs] for k in kids)
        assert rows[parent][4][params] == own[names[parent]].params + sum(rows[k][4][params] for k in kids)
    stem = names.index("stem")
    assert rows[stem][4][params] == 928 and rows[stem][4][_column(tree, "params_share")] == 928 / B0_PARAMS
    assert rows[stem][3][_column(tree, "output_shape")] == "1x32x112x112"
    assert rows[stem][4][_column(tree, "output_shape")] == 32 * 112 * 112  # shapes sort by element count
    fc = names.index("fc")
    assert rows[fc][3][_column(tree, "type")] == "Linear" and rows[fc][4][macs] == 1_280_000
    depthwise = names.index("stages.0.0.depthwise.conv")
    assert rows[depthwise][3][_column(tree, "type")] == "Conv2d (depthwise)"


def test_markup_in_a_tree_cannot_end_its_script(tmp_path) -> None:
    hostile = "</script><script>alert(1)</script>"
    model = nn.Sequential()
    model.add_module(hostile, nn.Conv2d(3, 4, 3))
    build_report([analyze(model, (1, 3, 8, 8), name="hostile")], tmp_path)
    html = (tmp_path / "models" / "hostile.html").read_text()
    assert hostile not in html
    data = re.search(r'<script type="application/json" id="model-0-layers">(.*?)</script>', html, re.S)
    assert data is not None and json.loads(data.group(1))["names"][1] == hostile


def test_report_links_each_model_page(two_models: list[Analysis], tmp_path) -> None:
    index = build_report(two_models, tmp_path)
    html = index.read_text()
    for stem in ("tiny-4", "tiny-8"):
        assert f'href="models/{stem}.html"' in html
        page = (tmp_path / "models" / f"{stem}.html").read_text()
        assert 'href="../index.html"' in page and f'href="{stem}.csv"' in page and 'class="tree-table"' in page
        assert f'href="../charts/stages-{stem}.png"' in page and (tmp_path / "charts" / f"stages-{stem}.png").exists()
    assert 'class="tree-table"' not in html  # the index lists the models; their trees are on their pages


def test_table_cells_carry_raw_values() -> None:
    frame = pd.DataFrame({"model": ["a", "b"], "macs": [1_450, 999_999_999], "peak_bytes": [1_032_192, None]})
    html = str(table_html(frame))
    # a rounded count or size shows its exact integer on hover
    assert '<td class="n" data-v="1450" title="1,450">1.45K</td>' in html
    assert '<td class="n" data-v="999999999" title="999,999,999">1.00G</td>' in html
    assert '<td class="n" data-v="1032192" title="1,032,192">0.98 MiB</td>' in html and '<td class="n"></td>' in html
    assert "data-v" not in html.split("<tbody>")[1].split("</td>")[0]  # text cells sort by their text
    assert '<th class="n" title="multiply-accumulates of every convolution' in html  # a header says what it counts


def _published(rows: list[tuple]) -> pd.DataFrame:
    columns = ["model", "family", "source", "resolution", "params", "macs", "top1", "note"]
    return pd.DataFrame([dict(zip(columns, row, strict=True)) for row in rows], columns=columns)


def test_summary_compares_with_family_and_published_figures(two_models: list[Analysis]) -> None:
    small, large = (a.totals.macs for a in two_models)
    published = _published([
        ("tiny_4", "tiny", "paper", 16, 200, 2_000, 70.5, ""),
        ("tiny_4", "tiny", "metadata", 16, 232, small, None, ""),  # the more precise figure is the one held
        ("tiny_8", "tiny", "paper", 32, 400, 4_000, 72.25, "another resolution: no MACs compared"),
    ])
    table = overview(two_models, published=published)
    frame = table.frame.set_index("model")
    assert table.sources == ("metadata", "paper", "paper: another resolution: no MACs compared")  # with notes
    assert frame.loc["tiny_8", "macs_vs_smallest"] == large / small and frame.loc["tiny_4", "macs_vs_smallest"] == 1
    assert frame.loc["tiny_4", "published_macs"] == small and frame.loc["tiny_4", "macs_vs_published"] == 0
    assert pd.isna(frame.loc["tiny_8", "published_macs"])
    assert frame.loc["tiny_4", "top1"] == 70.5 and frame.loc["tiny_8", "top1"] == 72.25
    assert frame.loc["tiny_4", "sources"] == "[1], [2]" and frame.loc["tiny_8", "sources"] == "[3]"
    assert "latency_ms" not in frame.columns  # a column no model has a value for is left out
    assert list(table.shown.columns) == ["model", "resolution", "params", "macs", "macs_vs_smallest",
                                         "macs_vs_published", "flops", "peak_bytes", "top1", "sources"]


def test_summary_without_published_figures_has_no_published_columns(two_models: list[Analysis]) -> None:
    table = overview(two_models, families={"tiny_4": "tiny"})
    assert table.sources == ()
    assert list(table.frame.columns) == ["model", "family", "resolution", "params", "macs", "macs_vs_smallest",
                                         "flops", "peak_bytes"]
    assert table.frame["macs_vs_smallest"].tolist()[0] == 1.0 and pd.isna(table.frame["macs_vs_smallest"][1])
