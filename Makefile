# Vigil: `make up` starts the daemon, `make test` checks everything, `make bench` measures.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: up test lint typecheck layers pytest bench install dev clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(PIP) install -e '.[dev]'
	touch $@

install: $(STAMP)

dev: $(DEV_STAMP)

up: $(STAMP)
	$(VENV)/bin/vigil up

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy

layers: $(DEV_STAMP)
	$(VENV)/bin/lint-imports

pytest: $(DEV_STAMP)
	$(VENV)/bin/pytest

test: lint typecheck layers pytest

bench: $(DEV_STAMP)
	@$(PY) -m vigil.bench

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
