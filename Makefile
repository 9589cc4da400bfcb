# Quick start: `make report` (set up, then the full report) and `make test` (set up, then the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= convcost-report

.PHONY: setup report test lint typecheck check clean

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
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

# mypy on the package as installed (convcost.analyzer, ...): see .ci/typecheck.py
typecheck: setup
	$(BIN)/python .ci/typecheck.py

# everything CI runs
check: test lint typecheck

clean:
	rm -rf $(VENV) $(OUT) build
