# Seendr: `make run` serves the app, `make test` checks the floor plan (lint-imports) and runs the
# whole suite. Both set everything up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test bench faults screenshots lint format clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(PY) scripts/run.py

test: $(STAMP)
	scripts/ensure_chromium.sh
	$(PY) scripts/run_tests.py $(ARGS)

# Benchmarks with targets (under 16 minutes on 2 cores): tables on stdout, JSON in bench/results/,
# docs/benchmarks.md and its plots regenerated. ARGS="matcher leaderboard" runs a subset.
bench: $(STAMP)
	$(PY) bench/run.py $(ARGS)

# Fault-injection tests alone (they also run in `make test`): own Redis and PostgreSQL servers.
faults: $(STAMP)
	$(PY) scripts/run_tests.py tests/faults $(ARGS)

# The chat page's phone and desktop call screens (docs/img/chat-*.png), taken from a real call.
screenshots: $(STAMP)
	scripts/ensure_chromium.sh
	$(PY) scripts/screenshots.py $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .data .pytest_cache
