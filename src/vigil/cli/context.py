"""How commands open Vigil: settings from the environment and flags, then the stores."""

from __future__ import annotations

from typing import Any

from vigil.app import Vigil
from vigil.config import Settings, load_settings


def settings(**overrides: Any) -> Settings:
    return load_settings(overrides)


def open_vigil(**overrides: Any) -> Vigil:
    return Vigil.open(settings(**overrides))


def daemon_state(config: Settings) -> dict[str, Any] | None:
    """What the running daemon wrote to ``run/daemon.json`` (pid, port...), if readable."""
    import json

    try:
        state = json.loads((config.run_dir / "daemon.json").read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None
