"""Shared test fixtures; ``pytest --update-golden`` rewrites the golden files under tests/golden/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from analyzer import Analysis, analyze
from analyzer.studies import StudyResults
from analyzer.studies.suite import compute as compute_studies
from architectures import create_model

GOLDEN_DIR = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/ from the current output")


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """``golden(name, text)``: assert ``text`` equals tests/golden/<name> (or rewrite it with --update-golden)."""

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if request.config.getoption("--update-golden"):
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"no golden file {path}; run pytest --update-golden once and review it"
        assert text == path.read_text(encoding="utf-8"), f"output differs from {path} (pytest --update-golden)"

    return check


@pytest.fixture(scope="session")
def b0_analysis() -> Analysis:
    """EfficientNet-B0 at 224, dispatch engine."""
    return analyze(create_model("efficientnet_b0", device="meta"), (1, 3, 224, 224), name="efficientnet_b0")


@pytest.fixture(scope="session")
def study_of() -> Callable[[str], StudyResults]:
    """``study_of(name)``: the results of one :mod:`analyzer.studies.suite` study, computed once per session
    (the fused study untimed)."""
    cache: dict[str, StudyResults] = {}

    def compute(name: str) -> StudyResults:
        if name not in cache:
            cache[name] = compute_studies([name])
        return cache[name]

    return compute
