"""How commands open Vigil: settings from the environment and flags, then the stores."""

from __future__ import annotations

from typing import Any

from vigil.app import Vigil
from vigil.config import Settings, load_settings


def settings(**overrides: Any) -> Settings:
    return load_settings(overrides)


def open_vigil(**overrides: Any) -> Vigil:
    return Vigil.open(settings(**overrides))
