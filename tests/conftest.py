"""Shared test fixtures; ``pytest --update-golden`` rewrites the golden files under tests/golden/."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import default_settings
from torch import nn

from convcost.analyzer import Analysis, analyze
from convcost.architectures import create_model
from convcost.studies import get_study

GOLDEN_DIR = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/ from the current output")


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """``golden(name, text)``: assert ``text`` equals tests/golden/<name> (or rewrite it with --update-golden)."""

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if request.config.getoption("--update-golden"):
            path.write_text(text, encoding="utf-8", newline="")
        assert path.exists(), f"no golden file {path}; run pytest --update-golden once and review it"
        with path.open(encoding="utf-8", newline="") as stored:  # line endings are part of the output
            assert text == stored.read(), f"output differs from {path} (pytest --update-golden)"

    return check


@pytest.fixture(scope="session", autouse=True)
def machine_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Figures measured once per machine (the roofline, the latency model's fit) go to a folder of this session,
    never to the user's ``~/.cache``; worker processes inherit it."""
    folder = tmp_path_factory.mktemp("machine-cache")
    before = os.environ.get("CONVCOST_CACHE_DIR")
    os.environ["CONVCOST_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("CONVCOST_CACHE_DIR", None)
    else:
        os.environ["CONVCOST_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def b0_analysis() -> Analysis:
    """EfficientNet-B0 at 224, dispatch engine."""
    return analyze(create_model("efficientnet_b0", device="meta"), (1, 3, 224, 224), name="efficientnet_b0")


@pytest.fixture(scope="session")
def study_of() -> Callable[[str], Any]:
    """``study_of(name)``: the result of one registered study with the main report's settings, computed once per
    session (the fused study untimed)."""
    cache: dict[str, Any] = {}

    def compute(name: str) -> Any:
        if name not in cache:
            study, settings = get_study(name), default_settings(name)
            cache[name] = study.assemble(settings, {job: job.run() for job in study.jobs(settings)})
        return cache[name]

    return compute


@pytest.fixture(scope="session")
def two_models() -> list[Analysis]:
    """Two tiny convnets (4 and 8 channels) at 16 px."""

    def tiny(channels: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(3, channels, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(channels, 10))

    return [analyze(tiny(c), (1, 3, 16, 16), name=f"tiny_{c}") for c in (4, 8)]
