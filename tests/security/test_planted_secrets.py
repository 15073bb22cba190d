"""End to end: secrets planted in real CLI and daemon runs reach the terminal but no stored byte."""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import string
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import daemon, events, vigil, wait_for

ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def b64url(n: int) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(n)).decode().rstrip("=")


def scan(home: Path, planted: dict[str, str]) -> list[Path]:
    """Read every file under ``home`` as bytes; fail naming any planted secret found."""
    files = sorted(p for p in home.rglob("*") if p.is_file())
    for path in files:
        data = path.read_bytes()
        for name, value in planted.items():
            assert value.encode() not in data, f"planted {name} found in {path}"
    return files


def _triaged(home: Path, cause: str) -> list[dict[str, Any]]:
    return [e for e in events(home, "--type", "triage.completed") if e["causation_id"] == cause]


@pytest.mark.slow
def test_planted_secrets_never_reach_storage(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Secrets in the environment, command output, ingested events and KB entries are never
    written under VIGIL_HOME (database, WAL, logs), while the user's terminal still shows them."""
    api_key, service_token = rand(32), rand(32)
    monkeypatch.setenv("VIGIL_TEST_API_KEY", api_key)  # every subprocess below inherits these
    monkeypatch.setenv("MY_SERVICE_TOKEN", service_token)
    pem_body = b64url(48)
    planted = {
        "env api key": api_key,
        "env service token": service_token,
        "bearer": rand(32),
        "github": "ghp_" + rand(36),
        "aws id": "AKIA" + rand(16, string.ascii_uppercase + string.digits),
        "url password": rand(20),
        "ingested password": rand(20),
        "kb password": rand(16),
        "imported": rand(24),
        "jwt": f"eyJ{b64url(18)}.eyJ{b64url(24)}.{b64url(32)}",
        "private key": pem_body,
        "slack": f"xoxb-{rand(12, string.digits)}-{rand(24)}",
    }

    # 1. `vigil run`: the command's output is the user's own terminal, so it passes untouched.
    script = (
        'echo $VIGIL_TEST_API_KEY; echo "service $MY_SERVICE_TOKEN";'
        f' echo "Authorization: Bearer {planted["bearer"]}"; echo {planted["github"]};'
        f" echo {planted['aws id']}; exit 1"
    )
    done = vigil("run", "--", "sh", "-c", script, home=home, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    for name in ("env api key", "env service token", "bearer", "github", "aws id"):
        assert planted[name] in done.stdout, name
    (failed,) = events(home, "--type", "build.run.failed")
    tail = failed["data"]["output_tail"]
    assert "[REDACTED:env:VIGIL_TEST_API_KEY]" in tail
    assert "service [REDACTED:env:MY_SERVICE_TOKEN]" in tail
    assert "Authorization: Bearer [REDACTED:bearer-token]" in tail
    assert "[REDACTED:github-token]" in failed["data"]["command"]

    # 2. `vigil ingest -`: data, subject and source of an ingested event.
    record = {
        "type": "deploy.finished",
        "source": f"ci-{service_token}",
        "subject": f"deploy by {api_key}",
        "data": {
            "password": planted["ingested password"],
            "url": f"https://bot:{planted['url password']}@example.com/hook",
            "steps": [{"log": f"login with {planted['github']}"}],
        },
    }
    done = vigil("ingest", "-", home=home, stdin=json.dumps(record) + "\n")
    assert done.returncode == 0, done.stderr
    (deployed,) = events(home, "--type", "deploy.finished")
    assert deployed["data"]["password"] == "[REDACTED:password]"
    assert deployed["subject"] == "deploy by [REDACTED:env:VIGIL_TEST_API_KEY]"

    # 3. The knowledge base: `kb add`, and `kb import` of a Markdown file from outside the home.
    body = f"{service_token} and password={planted['kb password']}"
    done = vigil("kb", "add", "fix", f"token {api_key}", "--body", body, "--json", home=home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["title"] == "token [REDACTED:env:VIGIL_TEST_API_KEY]"
    note = tmp_path / "notes" / "leak.md"
    note.parent.mkdir()
    note.write_text(
        f"---\nkind: note\ntitle: imported {service_token}\n---\n\n"
        f"api_key: {planted['imported']}\nAKIA key {planted['aws id']}\n"
    )
    done = vigil("kb", "import", str(note), home=home)
    assert done.returncode == 0, done.stderr
    listed = vigil("kb", "list", "--json", home=home)
    titles = sorted(entry["title"] for entry in json.loads(listed.stdout))
    assert titles == [
        "imported [REDACTED:env:MY_SERVICE_TOKEN]",
        "token [REDACTED:env:VIGIL_TEST_API_KEY]",
    ]

    # 4. A real daemon triages an ingested failure whose output carries secrets.
    output_tail = (
        "E   AssertionError: login failed for token "
        f"{planted['github']} with key {api_key}\n"
        f"E   jwt={planted['jwt']} slack={planted['slack']}\n"
        f"-----BEGIN PRIVATE KEY-----\n{pem_body}\n-----END PRIVATE KEY-----\n"
        "FAILED tests/test_auth.py::test_login - AssertionError: login failed for token "
        f"{planted['github']} with key {api_key}\n"
    )
    failure = {
        "type": "build.run.failed",
        "subject": "pytest -q",
        "data": {
            "command": "pytest -q",
            "cwd": str(tmp_path),
            "exit_code": 1,
            "duration_ms": 10.0,
            "output_tail": output_tail,
        },
    }
    with daemon(home) as state:
        assert state["port"] > 0
        done = vigil("ingest", "-", "--json", home=home, stdin=json.dumps(failure) + "\n")
        assert done.returncode == 0, done.stderr
        (event_id,) = json.loads(done.stdout)["ids"]
        (triaged,) = wait_for(lambda: _triaged(home, event_id), timeout=20)
    # The daemon has stopped (SIGTERM, waited for): everything it wrote is on disk.
    messages = " ".join(f["message"] for f in triaged["data"]["failures"])
    assert "[REDACTED:github-token]" in messages and "[REDACTED:env:VIGIL_TEST_API_KEY]" in messages
    assert (home / "logs" / "vigil.log").exists()

    # 5. Every byte under VIGIL_HOME, before and after folding the WAL into the database.
    files = scan(home, planted)
    names = {p.name for p in files}
    assert {"vigil.db", "vigil.log"} <= names, names
    with sqlite3.connect(home / "vigil.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        dump = "\n".join(conn.iterdump())
    conn.close()
    assert "[REDACTED:" in dump
    for name, value in planted.items():
        assert value not in dump, name
    scan(home, planted)
