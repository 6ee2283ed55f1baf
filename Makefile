# tracelake: `make serve` and `make test` do everything on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# npm packages of the web UI and its browser tests, installed from the lock file.
WEB_STAMP := web/node_modules/.lock-installed
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: serve test lint format bench clean install ui chromium screenshots

$(STAMP): pyproject.toml requirements/sdk.txt requirements/sdk-deps.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' -r requirements/sdk-deps.txt
	# braintrust 0.48.1 pins certifi>=2026.10.19, which the index here lacks: install it
	# without that pin, its real dependencies come from requirements/sdk-deps.txt.
	$(BIN)/pip install -q --no-deps -r requirements/sdk.txt
	touch $(STAMP)

install: $(STAMP)

$(WEB_STAMP): web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	cp web/package-lock.json $(WEB_STAMP)

# Rebuild the web UI into src/tracelake/web/dist when its sources changed (needs Node 20).
ui: $(STAMP)
	$(BIN)/python -m tracelake.web.build

# Debian's Chromium for the browser tests, installed only when missing.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; \
	fi

serve: $(STAMP) ui
	$(BIN)/tracelake serve --demo

# Screenshots of every screen into docs/screenshots (runs the browser tests).
screenshots: $(STAMP) $(WEB_STAMP) chromium
	TRACELAKE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/browser

# The tests run in one worker per core (at most 4): most of their time is servers,
# browsers and DuckDB files of their own, so two cores finish in about half the time.
# Tests are handed out one at a time as workers free up (worksteal).
# `make test PYTEST_WORKERS=0` runs them in one process.
PYTEST_WORKERS ?= auto

test: $(STAMP) $(WEB_STAMP) chromium
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --maxprocesses 4 --dist worksteal --durations=25

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache
