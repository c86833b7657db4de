# The two commands: `make run` opens the desk on a working copy of the demo, `make test` runs
# the checks. Both bootstrap .venv from nothing (only Python 3.11 and make are needed).
# `state/` is the pristine demo and is never written: `make run` works in DEMO_DIR (ignored
# by git, made on first run, dated now); `make demo-reset` starts it over.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= .demo
STATE_DIR ?= $(DEMO_DIR)

.PHONY: run test lint typecheck layers pytest screenshots bench clean demo-reset

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(DEMO_DIR)/vault.json: | $(STAMP)
	$(BIN)/vanta-tui init $(DEMO_DIR)

run: $(STAMP) $(if $(filter $(DEMO_DIR),$(STATE_DIR)),$(DEMO_DIR)/vault.json)
	$(BIN)/vanta-tui --state-dir $(STATE_DIR)

demo-reset: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(BIN)/vanta-tui init $(DEMO_DIR)

test: $(STAMP)
	$(BIN)/ruff check vanta_tui tests bench
	$(BIN)/ruff format --check vanta_tui tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check vanta_tui tests bench
	$(BIN)/ruff format --check vanta_tui tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

screenshots: $(STAMP)
	$(BIN)/python -m vanta_tui.ui.screenshots screenshots

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
