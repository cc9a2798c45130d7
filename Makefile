# rus: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUS_HOME ?= ./var
export RUS_HOME

.PHONY: run test lint format venv dev-deps system-deps test-only bench clean demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed
	bash scripts/build-assets.sh

dev-deps: $(VENV)/.installed-dev
	bash scripts/build-assets.sh

system-deps:
	bash scripts/system-deps.sh

## make run: install, prepare the embedded demo (simulated products + chains) and start the main job.
run: venv
	$(BIN)/rus demo

## make test: install test dependencies and system packages, lint, run the whole suite.
test: dev-deps system-deps lint test-only

test-only:
	bash scripts/run-tests.sh

lint: dev-deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

format: dev-deps
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
