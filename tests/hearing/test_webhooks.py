"""GitHub and Alertmanager webhooks on a real daemon, with the real GitHub payloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.helpers import events, wait_for
from tests.hearing.live import auth, live, token
from tests.hearing.payloads import CHECK_RUN, JOB_FAILED, PUSH, SECRET, WORKFLOW_RUN, raw
from vigil.sources.github import sign


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_GITHUB_SECRET", SECRET)


def deliver(
    client: httpx.Client, event: str, body: bytes, delivery: str, *, secret: str = SECRET
) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(secret.encode(), body),
    }
    return client.post("/hooks/github", content=body, headers=headers)


def _of(home: Path, kind: str) -> list[dict[str, Any]]:
    return [e for e in events(home) if e["type"] == kind]


def test_real_deliveries_are_stored_once_each(home: Path) -> None:
    """Signed real payloads become their events; a redelivery answers the first ids and stores
    nothing more."""
    with live(home) as (client, _):
        failed = deliver(client, "workflow_job", raw(JOB_FAILED), "d-job")
        assert failed.status_code == 201
        assert deliver(client, "workflow_run", raw(WORKFLOW_RUN), "d-run").status_code == 201
        assert deliver(client, "check_run", raw(CHECK_RUN), "d-check").status_code == 201
        assert deliver(client, "push", raw(PUSH), "d-push").status_code == 201
        again = deliver(client, "workflow_job", raw(JOB_FAILED), "d-job")
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert again.json()["ids"] == failed.json()["ids"]
    (ci_failed,) = _of(home, "ci.run.failed")
    assert ci_failed["data"]["delivery"] == "d-job" and ci_failed["source"] == "github"
    assert len(_of(home, "ci.run.passed")) == 2
    assert len(_of(home, "git.push.received")) == 1


def test_bad_or_missing_signature_is_401_and_stores_nothing(home: Path) -> None:
    """A wrong secret, a tampered body or no signature at all: 401, nothing stored."""
    body = raw(JOB_FAILED)
    with live(home) as (client, _):
        assert deliver(client, "workflow_job", body, "x1", secret="wrong").status_code == 401
        tampered = body.replace(b'"failure"', b'"success"', 1)
        headers = {
            "X-GitHub-Event": "workflow_job",
            "X-Hub-Signature-256": sign(SECRET.encode(), body),
        }
        assert client.post("/hooks/github", content=tampered, headers=headers).status_code == 401
        unsigned = client.post("/hooks/github", content=body, headers={"X-GitHub-Event": "push"})
        assert unsigned.status_code == 401
    assert not [e for e in events(home) if e["source"] == "github"]


def test_without_a_configured_secret_every_delivery_is_refused(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No secret in the environment: the webhook fails closed (401)."""
    monkeypatch.delenv("VIGIL_GITHUB_SECRET")
    with live(home) as (client, _):
        answer = deliver(client, "workflow_job", raw(JOB_FAILED), "x2")
        assert answer.status_code == 401 and "secret" in answer.json()["error"]


def test_secret_env_is_configurable(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """[hooks.github] secret_env names the variable the secret is read from."""
    monkeypatch.setenv("MY_HOOK_SECRET", "another-secret-value")
    with (home / "config.toml").open("a") as config:
        config.write('\n[hooks.github]\nsecret_env = "MY_HOOK_SECRET"\n')
    with live(home) as (client, _):
        assert deliver(client, "push", raw(PUSH), "x3").status_code == 401
        good = deliver(client, "push", raw(PUSH), "x4", secret="another-secret-value")
        assert good.status_code == 201


def test_ping_unknown_and_malformed(home: Path) -> None:
    """ping is answered; an unmapped type is 2xx and counted in /metrics; malformed JSON and a
    payload missing its fields are 400 with one line; none stores anything."""
    with live(home) as (client, _):
        ping = deliver(client, "ping", b'{"zen": "Keep it logically awesome."}', "p1")
        assert ping.status_code == 200 and ping.json() == {"pong": True}
        for name in ("issues", "star", "workflow_dispatch"):
            assert deliver(client, name, b'{"action": "created"}', f"u-{name}").status_code == 202
        malformed = deliver(client, "workflow_job", b'{"action": ', "m1")
        assert malformed.status_code == 400 and "\n" not in malformed.json()["error"]
        missing = deliver(client, "workflow_job", b'{"action": "completed"}', "m2")
        assert missing.status_code == 400 and "repository" in missing.json()["error"]
        metrics = client.get("/metrics").text
    assert 'outcome="ignored"' in metrics and "vigil_webhook_deliveries_total" in metrics
    ignored = [
        line
        for line in metrics.splitlines()
        if line.startswith("vigil_webhook_deliveries_total") and 'outcome="ignored"' in line
    ]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in ignored) == 3
    assert not [e for e in events(home) if e["source"] == "github"]


def test_form_encoded_delivery(home: Path) -> None:
    """A delivery sent as application/x-www-form-urlencoded (payload=...) works the same."""
    from urllib.parse import quote

    body = ("payload=" + quote(raw(PUSH).decode())).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "f1",
        "X-Hub-Signature-256": sign(SECRET.encode(), body),
    }
    with live(home) as (client, _):
        assert client.post("/hooks/github", content=body, headers=headers).status_code == 201
    assert len(_of(home, "git.push.received")) == 1


def test_ci_failure_is_triaged_from_the_payload_without_a_token(home: Path) -> None:
    """Without a GitHub token the payload's summary is triaged: a triage.completed caused by
    the ci.run.failed."""
    with live(home) as (client, _):
        assert deliver(client, "workflow_job", raw(JOB_FAILED), "t1").status_code == 201
        (failed,) = wait_for(lambda: _of(home, "ci.run.failed"))
        triage = wait_for(
            lambda: [e for e in _of(home, "triage.completed") if e["causation_id"] == failed["id"]]
        )
    (diagnosis,) = triage
    assert "format-check" in diagnosis["data"]["summary"]
    assert any("payload summary" in note for note in diagnosis["data"]["notes"])


def _alerts(status: str, *fingerprints: str, name: str = "HighLatency") -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "status": status,
        "receiver": "vigil",
        "groupLabels": {"alertname": name},
        "commonLabels": {"alertname": name},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": name, "instance": f"web-{fp}", "severity": "page"},
                "annotations": {"summary": "p99 over 2 s"},
                "startsAt": "2026-01-01T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-01-01T10:30:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": fp,
            }
            for fp in fingerprints
        ],
    }


def test_alertmanager_fires_once_per_fingerprint_while_firing(home: Path) -> None:
    """One alert.fired per alert; repeats while firing store nothing; resolved once; firing
    again after it resolved fires again."""
    key = token(home)
    with live(home) as (client, _):
        first = client.post(
            "/hooks/alertmanager", json=_alerts("firing", "a1", "b2"), headers=auth(key)
        )
        assert first.status_code == 201 and first.json()["stored"] == 2
        repeat = client.post(
            "/hooks/alertmanager", json=_alerts("firing", "a1", "b2"), headers=auth(key)
        )
        assert repeat.status_code == 200 and repeat.json()["stored"] == 0
        resolved = client.post(
            "/hooks/alertmanager", json=_alerts("resolved", "a1"), headers=auth(key)
        )
        assert resolved.json()["stored"] == 1
        again = client.post(
            "/hooks/alertmanager", json=_alerts("resolved", "a1"), headers=auth(key)
        )
        assert again.json()["stored"] == 0
        refire = client.post("/hooks/alertmanager", json=_alerts("firing", "a1"), headers=auth(key))
        assert refire.json()["stored"] == 1
    fired = _of(home, "alert.fired")
    assert [e["data"]["fingerprint"] for e in fired] == ["a1", "b2", "a1"]
    assert fired[0]["data"]["alertname"] == "HighLatency"
    assert fired[0]["data"]["labels"]["severity"] == "page"
    assert fired[0]["data"]["annotations"] == {"summary": "p99 over 2 s"}
    assert [e["data"]["fingerprint"] for e in _of(home, "alert.resolved")] == ["a1"]


def test_alertmanager_needs_the_token_and_a_v4_payload(home: Path) -> None:
    """Without the token 401; another payload version or a malformed alert 400; nothing stored."""
    key = token(home)
    with live(home) as (client, _):
        assert client.post("/hooks/alertmanager", json=_alerts("firing", "z")).status_code == 401
        old = {**_alerts("firing", "z"), "version": "3"}
        answer = client.post("/hooks/alertmanager", json=old, headers=auth(key))
        assert answer.status_code == 400 and "version" in answer.json()["error"]
        broken = _alerts("firing", "z")
        broken["alerts"][0]["status"] = "burning"
        assert client.post("/hooks/alertmanager", json=broken, headers=auth(key)).status_code == 400
        raw_bad = client.post("/hooks/alertmanager", content=b"[", headers=auth(key))
        assert raw_bad.status_code == 400
    assert not [e for e in events(home) if e["type"].startswith("alert.")]
