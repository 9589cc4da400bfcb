"""The HTML report in a real browser (headless Chromium through selenium): it loads with no console error and
no network request, sorts by raw values, filters and opens its module trees, and every chart decodes.

``CONVCOST_BROWSER=1`` (set by CI) makes a missing browser a failure instead of a skip. The first screen is
compared with ``tests/golden/report-first-screen.png`` within a tolerance; ``pytest --update-golden`` rewrites
it (on purpose only: look at the new image first).
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from convcost import architectures
from convcost.analyzer import Analysis, analyze
from convcost.cli.models import published_frame, scaling_series
from convcost.reports.build import build_report

pytestmark = pytest.mark.browser

MODELS = ("efficientnet_b0", "efficientnet_b1", "mobilenet_v2_035", "resnet50")
GOLDEN = Path(__file__).parent / "golden" / "report-first-screen.png"
#: The first screen as a reader at 1280 px sees it.
SCREEN = (1280, 900)
#: A pixel differs when a channel moves by more than this; the screens differ when more than
#: :data:`CHANGED_PIXELS` of the pixels do (text antialiasing and a version number move a few).
PIXEL_TOLERANCE = 48
CHANGED_PIXELS = 0.02


def _driver() -> object:
    try:
        from selenium import webdriver
    except ImportError:
        if os.environ.get("CONVCOST_BROWSER") == "1":
            raise
        pytest.skip("selenium is not installed")
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    chromedriver = shutil.which("chromedriver")
    if browser is None or chromedriver is None:
        if os.environ.get("CONVCOST_BROWSER") == "1":
            pytest.fail("CONVCOST_BROWSER=1 but chromium or chromedriver is missing (apt-get install chromium "
                        "chromium-driver)")
        pytest.skip("chromium and chromedriver are not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", "--force-device-scale-factor=1", "--font-render-hinting=none",
                     f"--window-size={SCREEN[0]},{SCREEN[1]}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=options)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of four built-in models (no study, so nothing measured: the page is the same every run)."""
    os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
    try:
        analyses: list[Analysis] = []
        for name in MODELS:
            side = architectures.model_info(name).resolution
            analyses.append(analyze(architectures.create_model(name, device="meta"), (1, 3, side, side), name=name))
        out = tmp_path_factory.mktemp("browser") / "report"
        build_report(analyses, out, published=published_frame(list(MODELS)), scaling_models=scaling_series(),
                     families={name: architectures.model_info(name).family for name in MODELS})
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    driver = _driver()
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _load(driver: object, page: Path) -> None:
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get_log("performance")
    driver.get(page.as_uri())
    driver.execute_script("return document.readyState")


def _problems(driver: object) -> list[str]:
    """Console errors, and every request that is not for a local file or a data URI."""
    import json

    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if not url.startswith(("file:", "data:")):
                requests.append(url)
    return errors + [f"network request: {url}" for url in requests]


def _rows(driver: object, css: str) -> list[object]:
    return driver.find_elements("css selector", css)


def _name(row: object) -> str:
    """A tree row's module name, without its open/closed marker."""
    return row.find_element("css selector", "td.tree").text.lstrip("▾▸ ")


def test_pages_load_without_errors_or_network(browser, report: Path) -> None:
    pages = [report / "index.html", *sorted((report / "models").glob("*.html"))]
    assert len(pages) == 1 + len(MODELS)
    for page in pages:
        _load(browser, page)
        assert _problems(browser) == [], page.name


def test_every_chart_decodes(browser, report: Path) -> None:
    for page in [report / "index.html", report / "models" / "efficientnet-b0.html"]:
        _load(browser, page)
        browser.execute_script("document.querySelectorAll('img').forEach(function (i) { i.loading = 'eager'; });")
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight);")
        images = browser.execute_script(
            "return Array.prototype.map.call(document.images, function (i) { return [i.alt, i.complete, "
            "i.naturalWidth]; });")
        assert images, page.name
        for _ in range(50):
            if all(done and width > 0 for _, done, width in images):
                break
            browser.execute_script("return new Promise(function (r) { setTimeout(r, 100); });")
            images = browser.execute_script(
                "return Array.prototype.map.call(document.images, function (i) { return [i.alt, i.complete, "
                "i.naturalWidth]; });")
        assert [alt for alt, done, width in images if not (done and width > 0)] == [], page.name


def test_sorting_orders_by_raw_values(browser, report: Path) -> None:
    _load(browser, report / "index.html")
    table = browser.find_element("css selector", "#summary ~ div.wide table")
    heads = table.find_elements("css selector", "thead th")
    macs = [head.text.replace("↕", "").strip() for head in heads].index("MACs")
    heads[macs].click()  # numbers sort largest first
    values = [int(cell.get_attribute("data-v")) for cell in
              table.find_elements("css selector", f"tbody tr td:nth-child({macs + 1})")]
    models = [cell.text for cell in table.find_elements("css selector", "tbody tr td:nth-child(1)")]
    assert values == sorted(values, reverse=True) and len(values) == len(MODELS)
    # 4.09G > 686.80M > 385.81M > 59.x M: an order that the display text, read as text, would not give
    assert models == ["resnet50", "efficientnet_b1", "efficientnet_b0", "mobilenet_v2_035"]
    heads[macs].click()
    models = [cell.text for cell in table.find_elements("css selector", "tbody tr td:nth-child(1)")]
    assert models == ["mobilenet_v2_035", "efficientnet_b0", "efficientnet_b1", "resnet50"]


def test_the_module_tree_opens_filters_and_sorts(browser, report: Path) -> None:
    _load(browser, report / "models" / "efficientnet-b0.html")
    rows = "div.tree-table tbody tr"
    shown = [_name(row) for row in _rows(browser, rows)]
    assert shown[:4] == ["(root)", "stem", "stages", "head"] and len(shown) == 7  # the root and its children
    stages = next(row for row in _rows(browser, rows) if _name(row) == "stages")
    stages.find_element("css selector", "button.toggle").click()
    opened = _rows(browser, rows)
    assert len(opened) == 7 + 7  # the seven stages appear under it, one level deeper
    levels = {_name(row): row.get_attribute("aria-level") for row in opened}
    assert levels["stages"] == "2" and levels["0"] == "3" and levels["6"] == "3"
    field = browser.find_element("css selector", "div.tree-table input.filter")
    field.send_keys("depthwise")
    filtered = _rows(browser, rows)
    depthwise = [row for row in filtered if "(depthwise)" in row.text]
    assert len(depthwise) == 16 and len(filtered) < 313  # B0 has 16 depthwise convolutions; their ancestors show
    from selenium.webdriver.common.keys import Keys

    field.send_keys(Keys.BACKSPACE * len("depthwise"))  # typed away, as a reader would: the tree is back
    assert len(_rows(browser, rows)) == 14
    heads = browser.find_elements("css selector", "div.tree-table thead th")
    next(head for head in heads if head.text.startswith("MACs")).click()  # siblings by MACs, largest first
    children = [_name(row) for row in _rows(browser, rows) if row.get_attribute("aria-level") == "2"]
    assert children[:2] == ["stages", "head"]


def test_first_screen_matches_the_golden_image(browser, report: Path, request: pytest.FixtureRequest) -> None:
    from PIL import Image, ImageChops

    _load(browser, report / "index.html")
    shot = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    if request.config.getoption("--update-golden"):
        shot.save(GOLDEN)
    assert GOLDEN.exists(), f"no golden image {GOLDEN}; run pytest --update-golden once and look at it"
    golden = Image.open(GOLDEN).convert("RGB")
    assert shot.size == golden.size
    difference = ImageChops.difference(shot, golden).convert("L").point(lambda v: 255 if v > PIXEL_TOLERANCE else 0)
    changed = difference.histogram()[255] / (shot.size[0] * shot.size[1])
    assert changed <= CHANGED_PIXELS, f"{changed:.2%} of the first screen changed (pytest --update-golden)"
