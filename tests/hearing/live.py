"""A real daemon for the hearing tests: real HTTP on 127.0.0.1, tokens from the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.cli.helpers import daemon, vigil


def token(home: Path, name: str = "tests") -> str:
    done = vigil("token", "create", name, "--json", home=home)
    assert done.returncode == 0, done.stderr
    value: str = json.loads(done.stdout)["token"]
    return value


@contextmanager
def live(home: Path, extra: tuple[str, ...] = ()) -> Iterator[tuple[httpx.Client, dict[str, Any]]]:
    """A running daemon and an HTTP client pointed at it."""
    with (
        daemon(home, extra) as state,
        httpx.Client(base_url=f"http://127.0.0.1:{state['port']}", timeout=20) as client,
    ):
        yield client, state


def auth(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}
