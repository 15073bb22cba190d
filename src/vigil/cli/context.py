"""How commands open Vigil: settings from the environment and flags, then the stores.

Light on purpose: ``vigil events`` imports this module, and nothing here may cost start-up time
(``vigil.app``, the composition root, is imported only by :func:`open_vigil`).
"""

from __future__ import annotations

import sys

from vigil.config import Settings, load_settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from vigil.app import Vigil

_warned: set[str] = set()


def settings(**overrides: Any) -> Settings:
    """The settings; each config warning (a misspelt key) is printed once on stderr."""
    loaded = load_settings(overrides)
    for warning in loaded.warnings:
        if warning not in _warned:
            _warned.add(warning)
            print(f"vigil: warning: {warning}", file=sys.stderr)
    return loaded


def open_vigil(**overrides: Any) -> Vigil:
    from vigil.app import Vigil

    return Vigil.open(settings(**overrides))


def daemon_state(config: Settings) -> dict[str, Any] | None:
    """What the running daemon wrote to ``run/daemon.json`` (pid, port...), if readable."""
    import json

    try:
        state = json.loads((config.run_dir / "daemon.json").read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None
