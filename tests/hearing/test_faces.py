"""The daemon's other HTTP faces, behind the same tokens as the events API: proposals (list,
approve, deny) and MCP over streamable HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.api.test_mcp import TOOLS
from tests.cli.helpers import vigil, wait_for
from tests.hearing.live import auth, live, token


def test_proposals_over_http_need_the_token_and_approving_runs_once(
    home: Path, tmp_path: Path
) -> None:
    """Reading proposals is open on loopback, approving needs the token; an approval from the
    API runs the proposal once (the second approval is refused)."""
    value = token(home)
    marker = tmp_path / "ran"
    proposed = vigil("propose", "--json", "--", "touch", str(marker), home=home, cwd=tmp_path)
    assert proposed.returncode == 0, proposed.stderr
    proposal_id = json.loads(proposed.stdout)["id"]
    with live(home) as (client, _state):
        assert client.get("/api/proposals").status_code == 200
        assert client.post(f"/api/proposals/{proposal_id}/approve").status_code == 401
        listed = client.get("/api/proposals", headers=auth(value))
        assert listed.status_code == 200
        assert [p["id"] for p in listed.json()] == [proposal_id]
        approved = client.post(f"/api/proposals/{proposal_id}/approve", headers=auth(value))
        assert approved.status_code == 200, approved.text
        again = client.post(f"/api/proposals/{proposal_id}/approve", headers=auth(value))
        assert again.status_code == 409
        wait_for(marker.exists, timeout=30)
        final = wait_for(
            lambda: next(
                (
                    p
                    for p in client.get(
                        "/api/proposals", params={"all": "1"}, headers=auth(value)
                    ).json()
                    if p["status"] == "executed"
                ),
                None,
            ),
            timeout=30,
        )
    assert final["id"] == proposal_id


async def test_mcp_over_http_on_the_daemon(home: Path) -> None:
    """``/mcp`` on the daemon refuses a request without a valid token; with one, the SDK's own
    client lists the tools and calls one."""
    value = token(home)
    with live(home) as (_client, state):
        url = f"http://127.0.0.1:{state['port']}/mcp"
        async with httpx2.AsyncClient() as plain:
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            assert (await plain.post(url, json=body)).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert (await plain.post(url, json=body, headers=wrong)).status_code == 401
        async with (
            httpx2.AsyncClient(headers=auth(value)) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            listed = await client.list_tools()
            assert {tool.name for tool in listed.tools} >= TOOLS
            done = await client.call_tool("search_knowledge", {"query": "database"})
            assert not done.is_error
