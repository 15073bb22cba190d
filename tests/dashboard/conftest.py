"""The scene, made once per module by the real CLI, and the dashboard app on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import RULES_ONLY
from tests.dashboard import scene
from vigil.api.dashboard import dashboard_routes
from vigil.app import Vigil
from vigil.app.dashboard import store_sources
from vigil.config import load_settings


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A state directory with a scene in it (read-only for the tests that share it)."""
    base = tmp_path_factory.mktemp("scene")
    home = base / "home"
    home.mkdir()
    (home / "config.toml").write_text(RULES_ONLY)
    ids = scene.build(home, base / "project")
    yield home, ids


@asynccontextmanager
async def dashboard(home: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Vigil]]:
    """The dashboard's routes on a real Starlette app over ``home`` (no daemon)."""
    vigil = Vigil(load_settings({"home": home}))
    vigil.on_stored = lambda: None
    app = Starlette(routes=dashboard_routes(store_sources(vigil)))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client, vigil
    finally:
        vigil.close()
