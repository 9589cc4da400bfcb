"""The HTML report: parses, self-contained, names every model, escapes what a model names."""

import base64
from html.parser import HTMLParser

import pandas as pd
from matplotlib.figure import Figure
from torch import nn

from convcost.analyzer import Analysis, analyze
from convcost.reports.build import build_report, render_page
from convcost.reports.sections import Section, slug

SCRIPT = "<script>alert(1)</script>"


class _Page(HTMLParser):
    """Collects tags, text, image sources and anything that would load from outside."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.images: list[str] = []
        self.external: list[str] = []
        self.scripts: list[str] = []  # the type of every script element ("" for code)
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(values.get("type") or "")
        if tag == "img":
            self.images.append(values.get("src") or "")
        if tag == "link" or (tag == "script" and "src" in values) or str(values.get("src", "")).startswith("http"):
            self.external.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


class Hostile(nn.Module):
    """A model whose child module name is markup."""

    def __init__(self) -> None:
        super().__init__()
        self.add_module(SCRIPT, nn.Conv2d(3, 4, 3))

    def forward(self, x):
        return self.get_submodule(SCRIPT)(x)


def test_page_is_self_contained_and_names_the_model(b0_analysis: Analysis) -> None:
    page = _Page(render_page([b0_analysis]))
    assert page.scripts.count("") == 1  # the page's script, inline; the rest is data
    assert set(page.scripts) == {"", "application/json"}
    assert page.external == []
    assert page.images and all(src.startswith("data:image/svg+xml;base64,") for src in page.images)
    svg = base64.b64decode(page.images[0].split(",", 1)[1])
    assert b"<svg" in svg
    text = " ".join(page.text)
    for needle in ("efficientnet_b0", "5,288,548 trainable", "385,814,752 in convolutions and matrix products",
                   "Conventions", "82 of 82 conv/linear layers agree", "torch"):
        assert needle in text


def test_markup_in_module_names_is_escaped() -> None:
    analysis = analyze(Hostile(), (1, 3, 8, 8), name="<b>hostile</b>")
    html = render_page([analysis])
    assert SCRIPT not in html and "<b>hostile</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;hostile&lt;/b&gt;" in html
    page = _Page(html)
    assert page.scripts == ["application/json", ""] and "b" not in page.tags
    assert SCRIPT in " ".join(page.text)  # shown to the reader as text
    assert "\\u003cscript\\u003e" in html  # the module tree's data, escaped inside its script element


def test_report_directory_and_sections(two_models: list[Analysis], tmp_path) -> None:
    figure = Figure()
    axes = figure.subplots()
    axes.plot([1, 2], [3, 4])
    figure.suptitle("A study chart")
    study = Section("Study: <ratio>", "What the study shows.", pd.DataFrame({"model": ["tiny_4"], "macs": [1234567]}),
                    [figure])
    index = build_report(two_models, tmp_path, sections=[study])
    assert index == tmp_path / "index.html"
    for name in ("summary.csv", "summary.json", "models/tiny-4.csv", "models/tiny-8.json",
                 "charts/mac-share-by-kind.png", "charts/stages-tiny-8.svg", f"sections/{study.slug}.csv",
                 f"charts/{study.slug}-0.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert (tmp_path / "charts" / "stages-tiny-4.png").read_bytes().startswith(b"\x89PNG")
    page = _Page(index.read_text())
    text = " ".join(page.text)
    assert "tiny_4" in text and "tiny_8" in text
    assert "Study: <ratio>" in text and "What the study shows." in text
    assert "1.23M" in text  # a vocabulary column in a section takes human units
    assert not list(tmp_path.rglob("*.tmp"))


def test_source_date_epoch_makes_a_report_reproducible(two_models: list[Analysis], tmp_path,
                                                       monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first, second = tmp_path / "first", tmp_path / "second"
    assert "generated 2023-11-14 22:13 UTC" in build_report(two_models, first).read_text()
    build_report(two_models, second)
    files = sorted(path.relative_to(first) for path in first.rglob("*") if path.is_file())
    assert len(files) > 10
    assert [name for name in files if (first / name).read_bytes() != (second / name).read_bytes()] == []


def test_slug() -> None:
    assert slug("EfficientNet B0–B7: scaling") == "efficientnet-b0-b7-scaling"
    assert slug("<>") == "section"
