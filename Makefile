# tracelake: `make serve` and `make test` do everything on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint format bench clean install

$(STAMP): pyproject.toml requirements/sdk.txt requirements/sdk-deps.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' -r requirements/sdk-deps.txt
	# braintrust 0.48.1 pins certifi>=2026.10.19, which the index here lacks: install it
	# without that pin, its real dependencies come from requirements/sdk-deps.txt.
	$(BIN)/pip install -q --no-deps -r requirements/sdk.txt
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/tracelake serve --demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache
