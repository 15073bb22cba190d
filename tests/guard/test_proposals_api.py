"""The proposal routes on a real Starlette app (httpx's ASGI transport), with a minimal token
check of the test's own: the real token store (issue 8) mounts the same routes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request

from vigil.api.proposals import proposal_routes
from vigil.app import Vigil
from vigil.config import Settings

TOKEN = "test-token-0123456789"


def authorize(request: Request) -> str | None:
    """A stand-in for the API's token check: the token's name when the bearer token is good."""
    return "laptop" if request.headers.get("authorization") == f"Bearer {TOKEN}" else None


async def with_client(settings: Settings, work: Any) -> None:
    vigil = Vigil(settings)
    vigil.on_stored = lambda: None
    vigil.ensure_schema()
    app = Starlette(routes=proposal_routes(vigil.control, authorize))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await work(client, vigil)
    finally:
        vigil.close()


def auth(**headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", **headers}


async def test_propose_list_approve_deny_over_http(settings: Settings, tmp_path: Path) -> None:
    """A token creates, lists and approves; the approval records the token and the dashboard."""

    async def work(client: httpx.AsyncClient, vigil: Vigil) -> None:
        body = {"action": "run_command", "args": {"argv": ["echo", "x"], "cwd": str(tmp_path)}}
        created = await client.post("/api/proposals", json=body, headers=auth())
        assert created.status_code == 201, created.text
        proposal = created.json()
        assert proposal["status"] == "pending" and proposal["proposer"] == "person:laptop"
        listed = (await client.get("/api/proposals")).json()
        assert [p["id"] for p in listed] == [proposal["id"]]
        approved = await client.post(
            f"/api/proposals/{proposal['id']}/approve",
            headers=auth(**{"X-Vigil-Client": "dashboard"}),
        )
        assert approved.status_code == 200
        assert (approved.json()["decided_by"], approved.json()["decided_via"]) == (
            "laptop",
            "dashboard",
        )
        again = await client.post(f"/api/proposals/{proposal['id']}/approve", headers=auth())
        assert again.status_code == 409 and "already approved" in again.json()["error"]
        second = (await client.post("/api/proposals", json=body, headers=auth())).json()
        denied = await client.post(
            f"/api/proposals/{second['id']}/deny", json={"why": "no"}, headers=auth()
        )
        assert denied.json()["status"] == "denied" and denied.json()["decided_via"] == "api"
        one = await client.get(f"/api/proposals/{second['id']}")
        assert one.json()["decision_why"] == "no"

    await with_client(settings, work)


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [
        ("/api/proposals/pr_x/approve", None, {}, 401),
        ("/api/proposals/pr_x/approve", None, {"Authorization": "Bearer wrong"}, 401),
        ("/api/proposals/pr_unknown/approve", None, None, 404),
        ("/api/proposals", {"action": "launch", "args": {}}, None, 400),
        ("/api/proposals", "x" * 70_000, None, 413),
    ],
)
async def test_bad_requests_change_nothing(
    settings: Settings, path: str, body: Any, headers: dict[str, str] | None, status: int
) -> None:
    """No or a wrong token: 401; unknown id: 404; malformed: 400; too large: 413; and no
    proposal or event is stored."""

    async def work(client: httpx.AsyncClient, vigil: Vigil) -> None:
        sent = auth() if headers is None else headers
        if isinstance(body, str):
            answer = await client.post(path, content=body, headers=sent)
        else:
            answer = await client.post(path, json=body, headers=sent)
        assert answer.status_code == status, answer.text
        assert "error" in answer.json()
        assert vigil.control.store.find(include_all=True) == []
        assert await asyncio.to_thread(vigil.log.count) == 0

    await with_client(settings, work)
