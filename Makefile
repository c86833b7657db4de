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

.PHONY: run run-multi test lint typecheck layers pytest screenshots bench clean demo-reset

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

# The multi-host mode on one machine (README, "Several hosts"): URL is what
# `vanta-tui postgres DIR` printed. A demo copy of its own (.demo-multi) whose journal is
# that database, two executor workers in the background (their output in
# .demo-multi/worker-N.log), and the desk following changes without file watching; the
# workers stop when the desk closes.
MULTI_DIR ?= .demo-multi
run-multi: $(STAMP)
	@test -n "$(URL)" || { echo "usage: make run-multi URL=postgresql://… (what 'vanta-tui postgres DIR' printed)"; exit 64; }
	@test -d $(MULTI_DIR) || $(BIN)/vanta-tui init $(MULTI_DIR)
	@$(BIN)/vanta-tui --state-dir $(MULTI_DIR) --journal '$(URL)' audit verify
	@pids=; trap 'kill $$pids 2>/dev/null; wait $$pids' EXIT INT TERM; \
	for n in 1 2; do \
		$(BIN)/vanta-tui --state-dir $(MULTI_DIR) --journal '$(URL)' executor --worker \
			> $(MULTI_DIR)/worker-$$n.log 2>&1 & pids="$$pids $$!"; \
	done; \
	$(BIN)/vanta-tui --state-dir $(MULTI_DIR) --journal '$(URL)' --no-watch

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
