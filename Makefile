# obligraph — `make run` serves the embedded default; `make test` runs lint, types and tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OBLIGRAPH_DATA_DIR ?= $(CURDIR)/data

.PHONY: run test lint typecheck pytest bench build clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  ## build the graph on first run and serve the API on 127.0.0.1:8000
	$(BIN)/obligraph serve

build: $(STAMP)
	$(BIN)/obligraph build

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m ontology.generate_namespaces --check

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck pytest  ## everything CI runs

bench: $(STAMP)
	$(BIN)/python bench/bench_build.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
