# Quick start: `make report` (set up, then the full report) and `make test` (set up, then the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= convcost-report
# the interop tier: torchvision and timm install beside torch 2.14.1 only (wheels on local disk, a CUDA build
# that runs on the CPU), so they get an environment of their own, which also tests a second torch version
INTEROP_VENV ?= .venv-interop
INTEROP_BIN := $(INTEROP_VENV)/bin

.PHONY: setup report test lint typecheck interop check clean

$(BIN)/convcost: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch is pinned here (not in pyproject) so pip takes the local CPU build, not a multi-GB CUDA one
	$(BIN)/pip install --quiet "torch==2.13.0" -e ".[dev]"
	touch $@

setup: $(BIN)/convcost

report: setup
	$(BIN)/convcost report --out $(OUT)

test: setup
	$(BIN)/python -m pytest -m "not interop"

$(INTEROP_BIN)/convcost: pyproject.toml
	$(PYTHON) -m venv $(INTEROP_VENV)
	$(INTEROP_BIN)/pip install --quiet --upgrade pip
	$(INTEROP_BIN)/pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
	$(INTEROP_BIN)/pip install --quiet timm -e ".[dev]"
	touch $@

# every test on torch 2.14.1, real torchvision and timm networks included
interop: $(INTEROP_BIN)/convcost
	CONVCOST_INTEROP=1 $(INTEROP_BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

# mypy on the package as installed (convcost.analyzer, ...): see .ci/typecheck.py
typecheck: setup
	$(BIN)/python .ci/typecheck.py

# everything CI runs
check: test lint typecheck interop

clean:
	rm -rf $(VENV) $(INTEROP_VENV) $(OUT) build
