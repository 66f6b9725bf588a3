# Seendr: `make run` serves the app, `make test` checks the floor plan (lint-imports) and runs the
# whole suite. Both set everything up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test bench faults screenshots lint format clean messages makemessages test-libretranslate

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

# The compiled catalogs (.mo) are build output, never committed: built here from locale/*.po
# (compilemessages skips a catalog whose .mo is newer than its .po).
I18N_IGNORE := --ignore=.venv --ignore=.data --ignore=node_modules --ignore=static/vendor
# These commands read settings but sign nothing: development settings spare them a secret key.
I18N_MANAGE := DEBUG=1 $(PY) manage.py

messages: $(STAMP)
	scripts/ensure_gettext.sh
	$(I18N_MANAGE) compilemessages -v0 $(I18N_IGNORE)

# After changing user-visible text: refresh locale/*/LC_MESSAGES/*.po, then translate the new
# entries (the catalog test fails while one is untranslated or fuzzy). See docs/i18n.md.
makemessages: $(STAMP)
	scripts/ensure_gettext.sh
	$(I18N_MANAGE) makemessages -a --no-obsolete --no-location $(I18N_IGNORE) --ignore=bench --ignore=tests
	$(I18N_MANAGE) makemessages -a -d djangojs --no-obsolete --no-location $(I18N_IGNORE) --ignore=bench --ignore=tests

run: $(STAMP) messages
	$(PY) scripts/run.py

test: $(STAMP) messages
	scripts/ensure_chromium.sh
	$(PY) scripts/run_tests.py $(ARGS)

# Tests against a real LibreTranslate server (deselected in `make test`): LIBRETRANSLATE_URL
# must point at one, e.g. `docker compose --profile translate up -d libretranslate`.
test-libretranslate: $(STAMP) messages
	$(PY) scripts/run_tests.py -m libretranslate --run-libretranslate $(ARGS)

# Benchmarks with targets (under 20 minutes on 2 cores): tables on stdout, JSON in bench/results/,
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
