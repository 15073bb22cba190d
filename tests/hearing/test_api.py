"""The HTTP API on a real daemon: tokens, POST/GET /api/events, limits, the event stream."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx

from tests.cli.helpers import events, vigil, wait_for
from tests.hearing.live import auth, live, token

EVENT = {"type": "deploy.release.finished", "data": {"version": "1.2"}, "subject": "web"}


def test_writes_need_a_live_token_and_a_refusal_stores_nothing(home: Path) -> None:
    """No token, a malformed one, an unknown one and a revoked one all get 401; nothing is
    stored for a refusal (a revocation takes effect within a second)."""
    key = token(home)
    accepted: list[str] = []
    with live(home) as (client, _):
        for headers in ({}, {"Authorization": "Basic abc"}, auth("vgl_nope"), auth(key + "x")):
            answer = client.post("/api/events", json=EVENT, headers=headers)
            assert answer.status_code == 401, headers
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert set(answer.json()) == {"error"}
        assert not [e for e in events(home) if e["type"] == EVENT["type"]]
        assert vigil("token", "revoke", "tests", home=home).returncode == 0

        def refused() -> bool:
            answer = client.post("/api/events", json=EVENT, headers=auth(key))
            if answer.status_code == 201:
                accepted.extend(answer.json()["ids"])
            return answer.status_code == 401

        wait_for(refused, timeout=5)
    stored = [e["id"] for e in events(home) if e["type"] == EVENT["type"]]
    assert stored == accepted


def test_tokens_are_shown_once_and_stored_only_hashed(home: Path) -> None:
    """The token is printed at creation, listed without its value, and not in the database."""
    key = token(home, "ci")
    listed = json.loads(vigil("token", "list", "--json", home=home).stdout)
    assert [t["name"] for t in listed] == ["ci"]
    assert key not in json.dumps(listed)
    with sqlite3.connect(home / "vigil.db") as db:
        dump = "\n".join(db.iterdump())
    assert key not in dump and key[4:] not in dump
    again = vigil("token", "create", "ci", home=home)
    assert again.returncode != 0 and "exists already" in again.stderr
    gone = vigil("token", "revoke", "nosuch", home=home)
    assert gone.returncode != 0 and len(gone.stderr.strip().splitlines()) == 1


def test_post_one_or_many_all_or_nothing(home: Path) -> None:
    """One event or an array is stored whole with 201 and its ids; one bad event in an array
    is a 400 naming it, and nothing of the array is stored."""
    key = token(home)
    with live(home) as (client, _):
        one = client.post("/api/events", json=EVENT, headers=auth(key))
        assert one.status_code == 201 and one.json()["stored"] == 1
        many = client.post("/api/events", json=[EVENT, EVENT, EVENT], headers=auth(key))
        assert many.status_code == 201 and len(many.json()["ids"]) == 3
        count = len(events(home))
        bad = client.post(
            "/api/events", json=[EVENT, {"type": "Bad Type"}, EVENT], headers=auth(key)
        )
        assert bad.status_code == 400
        reason = bad.json()["error"]
        assert "event 1" in reason and "\n" not in reason
        for body in (b"{not json", b"[]", b'"text"', json.dumps({**EVENT, "extra": 1}).encode()):
            answer = client.post("/api/events", content=body, headers=auth(key))
            assert answer.status_code == 400, body
        assert len(events(home)) == count
    ids = {e["id"] for e in events(home)}
    assert set(one.json()["ids"]) | set(many.json()["ids"]) <= ids


def test_body_over_the_limit_is_413_and_stores_nothing(home: Path) -> None:
    """A body over 1 MiB (the default) is refused with 413 before it is parsed."""
    key = token(home)
    big = {**EVENT, "data": {"blob": "x" * (1024 * 1024 + 10)}}
    with live(home) as (client, _):
        count = len(events(home))
        answer = client.post("/api/events", json=big, headers=auth(key))
        assert answer.status_code == 413
        chunked = client.post(
            "/api/events", content=iter([json.dumps(big).encode()]), headers=auth(key)
        )
        assert chunked.status_code == 413  # no Content-Length: counted while read
        assert len(events(home)) == count


def test_time_is_kept_and_idempotency_key_stores_once(home: Path) -> None:
    """`time` is stored as given; a repeated Idempotency-Key answers the first ids, once."""
    key = token(home)
    with live(home) as (client, _):
        timed = {**EVENT, "time": "2024-02-03T04:05:06-01:00"}
        headers = {**auth(key), "Idempotency-Key": "release-1.2"}
        first = client.post("/api/events", json=timed, headers=headers)
        again = client.post("/api/events", json=timed, headers=headers)
        assert first.status_code == 201 and again.status_code == 200
        assert again.json()["duplicate"] is True and again.json()["ids"] == first.json()["ids"]
    stored = [e for e in events(home) if e["type"] == "deploy.release.finished"]
    assert len(stored) == 1 and stored[0]["time"] == "2024-02-03T05:05:06.000000Z"
    assert stored[0]["source"] == "vigil.api"


def test_get_events_takes_the_cli_filters(home: Path) -> None:
    """GET /api/events filters by type, since and limit like `vigil events`, oldest first."""
    key = token(home)
    with live(home) as (client, _):
        old = {**EVENT, "type": "deploy.old.finished", "time": "2020-01-01T00:00:00Z"}
        client.post("/api/events", json=[old, EVENT, EVENT], headers=auth(key))
        typed = client.get("/api/events", params={"type": "deploy.*"}).json()
        assert [e["type"] for e in typed] == [
            "deploy.old.finished",
            "deploy.release.finished",
            "deploy.release.finished",
        ]
        recent = client.get("/api/events", params={"type": "deploy.*", "since": "1h"}).json()
        assert len(recent) == 2
        limited = client.get("/api/events", params=[("type", "deploy.*"), ("limit", "1")]).json()
        assert len(limited) == 1 and limited[0]["id"] == typed[-1]["id"]
        one = client.get(f"/api/events/{typed[0]['id']}").json()
        assert one["type"] == "deploy.old.finished"
        assert client.get("/api/events/ev_nosuchthing").status_code == 404
        for params in ({"limit": "-1"}, {"since": "whenever"}, {"type": ""}, {"limit": "5000"}):
            assert client.get("/api/events", params=params).status_code == 400, params


def _read_stream(client: httpx.Client, headers: dict[str, str], want: int) -> list[dict[str, str]]:
    """Messages from /api/events/stream until ``want`` events arrived."""
    messages: list[dict[str, str]] = []
    params = {"type": "deploy.*"}
    with client.stream("GET", "/api/events/stream", params=params, headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        message: dict[str, str] = {}
        for line in response.iter_lines():
            if not line:
                if "data" in message:
                    messages.append(message)
                    if len(messages) >= want:
                        break
                message = {}
                continue
            field, _, value = line.partition(": ")
            if field in ("id", "event", "data"):
                message[field] = value
    return messages


def test_stream_resumes_after_last_event_id_without_gaps_or_repeats(home: Path) -> None:
    """The SSE stream resumes after Last-Event-ID: every later event once, in order, live ones
    included."""
    key = token(home)
    with live(home) as (client, _):
        posted = client.post("/api/events", json=[EVENT] * 3, headers=auth(key)).json()["ids"]
        first = _read_stream(client, {"Last-Event-ID": "0"}, 2)
        assert [json.loads(m["data"])["id"] for m in first] == posted[:2]
        assert all(m["event"] == "deploy.release.finished" for m in first)
        resumed_at = first[-1]["id"]

        import threading

        def later() -> None:
            time.sleep(0.3)
            client.post("/api/events", json=[EVENT] * 2, headers=auth(key))

        poster = threading.Thread(target=later)
        poster.start()
        rest = _read_stream(client, {"Last-Event-ID": resumed_at}, 3)
        poster.join()
        ids = [json.loads(m["data"])["id"] for m in rest]
        assert ids[0] == posted[2] and len(set(ids)) == 3
        seqs = [int(m["id"]) for m in rest]
        assert seqs == sorted(seqs) and seqs[0] > int(resumed_at)
