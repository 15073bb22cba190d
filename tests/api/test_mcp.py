"""The MCP server through the official SDK's own client: over stdio (``vigil mcp``, a real
subprocess) and over streamable HTTP (a real server on 127.0.0.1 behind a token)."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Implementation

from tests.cli.helpers import vigil

TOOLS = {
    "search_knowledge",
    "recent_events",
    "project_state",
    "get_triage",
    "briefing",
    "remember",
}


def _stdio(home: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "vigil", "mcp"], env={"VIGIL_HOME": str(home)}
    )


async def test_stdio_tools_remember_and_search(home: Path, tmp_path: Path) -> None:
    """Over stdio the six tools are listed; remember stores a candidate naming the client,
    search finds it, a near-duplicate is merged, and empty or oversized text is refused with
    a reason (nothing stored)."""
    client_info = Implementation(name="pytest-client", version="9.9")
    async with Client(_stdio(home), client_info=client_info) as client:
        listed = await client.list_tools()
        assert {tool.name for tool in listed.tools} >= TOOLS
        done = await client.call_tool(
            "remember", {"text": "Reset the test database with make db-reset", "tags": ["db"]}
        )
        assert not done.is_error
        stored = done.structured_content
        assert stored is not None and stored["stored"] == "candidate"
        entry_id = stored["entry"]["id"]
        again = await client.call_tool(
            "remember", {"text": "Reset the test database with make db-reset!"}
        )
        assert again.structured_content is not None
        assert again.structured_content["stored"] == "merged"
        empty = await client.call_tool("remember", {"text": "   "})
        assert empty.is_error and "empty" in empty.content[0].text
        huge = await client.call_tool("remember", {"text": "x" * 5000})
        assert huge.is_error and "more than 4000" in huge.content[0].text
        found = await client.call_tool("search_knowledge", {"query": "database reset"})
        assert found.structured_content is not None
        assert [r["id"] for r in found.structured_content["results"]] == [entry_id]
        resource = await client.read_resource(f"vigil://knowledge/{entry_id}")
        assert "Reset the test database" in resource.contents[0].text
    shown = vigil("kb", "show", entry_id, "--json", home=home)
    entry = json.loads(shown.stdout)
    assert entry["status"] == "candidate"
    assert entry["provenance"]["client"] == "pytest-client 9.9"
    assert entry["provenance"]["merged"][0]["client"] == "pytest-client 9.9"
    assert vigil("kb", "list", "--json", home=home).stdout.count('"id"') == 1


async def test_stdio_state_events_triage_and_briefing(home: Path, tmp_path: Path) -> None:
    """The read tools answer from the stores: a failed `vigil run` shows in recent_events,
    project_state, get_triage and the briefing."""
    failed = vigil("run", "--", sys.executable, "-c", "raise SystemExit('boom')", home=home)
    assert failed.returncode == 1
    async with Client(_stdio(home)) as client:
        events = await client.call_tool("recent_events", {"type_pattern": "build.*"})
        assert events.structured_content is not None
        types = [e["type"] for e in events.structured_content["events"]]
        assert "build.run.failed" in types
        state = (await client.call_tool("project_state", {})).structured_content
        assert state is not None and state["counts"]["failed_runs"] == 1
        triage = (await client.call_tool("get_triage", {})).structured_content
        assert triage is not None and triage["failure_id"].startswith("ev_")
        brief = (await client.call_tool("briefing", {})).structured_content
        assert brief is not None and "boom" in brief["still_red"][0]["command"]


def test_malformed_requests_get_protocol_errors_and_the_server_lives(home: Path) -> None:
    """A line that is not JSON is dropped, an unknown method and bad params each get a JSON-RPC
    error, and the server still answers a valid request after them (no crash, no traceback on
    stdout, a clean exit when stdin closes)."""
    lines = [
        "this is not json",
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "no/such/method", "params": {}}),
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"},
                },
            }
        ),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"x": 1}}),
        json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {}}),
    ]
    errors = (home / "mcp.stderr").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "vigil", "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        env={**os.environ, "VIGIL_HOME": str(home)},
    )
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write("\n".join(lines) + "\n")
    server.stdin.flush()
    out: list[str] = []
    with selectors.DefaultSelector() as selector:
        selector.register(server.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 120
        # Requests may be answered out of order: wait for both the error (3) and the list (4).
        while time.monotonic() < deadline and not all(
            any(f'"id":{n}' in o for o in out) for n in (3, 4)
        ):
            if selector.select(timeout=1):
                line = server.stdout.readline()
                if not line:
                    break
                out.append(line.replace(" ", ""))
    server.stdin.close()
    server.wait(timeout=30)
    errors.close()
    done = subprocess.CompletedProcess(server.args, server.returncode, "".join(out), "")
    replies = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    by_id = {r.get("id"): r for r in replies}
    assert all("result" not in r for r in replies if r.get("id") is None)  # garbage: no answer
    for bad in (1, 3):  # never a result: a JSON-RPC error (or, before initialize, silence)
        assert "result" not in by_id.get(bad, {})
    assert "error" in by_id[3]
    assert 4 in by_id, f"no answer to tools/list: {out!r} {(home / 'mcp.stderr').read_text()!r}"
    assert {t["name"] for t in by_id[4]["result"]["tools"]} >= TOOLS
    assert "Traceback" not in done.stdout
    assert done.returncode == 0


async def test_streamable_http_behind_the_token(home: Path, tmp_path: Path) -> None:
    """Over streamable HTTP on 127.0.0.1, no token or a wrong one gets 401; with the token the
    SDK's client lists and calls the tools."""
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("mcp_http_server.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "VIGIL_HOME": str(home), "PYTHONPATH": str(Path.cwd())},
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        url = f"http://127.0.0.1:{port}/mcp"
        async with httpx2.AsyncClient() as plain:
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            assert (await plain.post(url, json=body)).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert (await plain.post(url, json=body, headers=wrong)).status_code == 401
        headers = {"Authorization": "Bearer test-token-0123456789"}
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            listed = await client.list_tools()
            assert {tool.name for tool in listed.tools} >= TOOLS
            done = await client.call_tool("remember", {"text": "Staging resets on Sunday"})
            assert done.structured_content is not None
            assert done.structured_content["stored"] == "candidate"
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
