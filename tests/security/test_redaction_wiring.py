"""Every place Vigil writes redacts first: the event log, the knowledge base, the JSON log."""

from __future__ import annotations

import json
import logging
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.app.logs import JsonFormatter
from vigil.events.bus import Outcome, run_handler
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event, new_event
from vigil.memory.knowledge import KnowledgeBase
from vigil.storage import Database, Redactor
from vigil.testing import FakeClock

SECRET = "planted-" + secrets.token_hex(12)
GH = "ghp_" + secrets.token_hex(18)
MIXED = "Planted-" + secrets.token_hex(12).upper()
REDACTOR = Redactor({"MY_SERVICE_TOKEN": SECRET, "MIXED_CASE_TOKEN": MIXED})


def on_disk(path: Path) -> bytes:
    """Every byte SQLite has written for the database at ``path`` (main file, WAL, shm)."""
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def assert_nowhere(path: Path, *planted: str) -> None:
    data = on_disk(path)
    assert data, "nothing was written"
    for value in planted:
        assert value.encode() not in data


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "vigil.db")
    yield database
    database.close()


def test_append_redacts_data_subject_and_source(db: Database) -> None:
    """An appended event is stored, and returned, with secrets gone from data, subject, source."""
    log = SqliteEventLog(db, FakeClock(), redactor=REDACTOR)
    event = new_event(
        "build.run.failed",
        {"output_tail": f"echo {SECRET}\n{GH}\n", "argv": ["deploy", f"--token={SECRET}"]},
        clock=log.clock,
        source=f"ci-{SECRET}",
        subject=f"deploy {GH}",
    )
    (stored,) = log.append([event])
    assert stored.data["output_tail"] == (
        "echo [REDACTED:env:MY_SERVICE_TOKEN]\n[REDACTED:github-token]\n"
    )
    assert stored.data["argv"] == ["deploy", "--token=[REDACTED:env:MY_SERVICE_TOKEN]"]
    assert stored.source == "ci-[REDACTED:env:MY_SERVICE_TOKEN]"
    assert stored.subject == "deploy [REDACTED:github-token]"
    assert log.get(event.id) == stored
    assert stored.id == event.id and stored.seq is not None
    assert_nowhere(db.path, SECRET, GH)


def test_events_without_secrets_are_stored_unchanged(db: Database) -> None:
    """Ordinary events are stored exactly as given (same object when nothing is redacted)."""
    log = SqliteEventLog(db, FakeClock(), redactor=REDACTOR)
    event = new_event("a.b.c", {"x": ["y", {"z": 1}]}, clock=log.clock, source="t", subject="s")
    (stored,) = log.append([event])
    assert stored == event and stored.data is event.data


def test_batches_and_handler_outputs_are_redacted(db: Database) -> None:
    """A batch append and the events a handler publishes (via process) are redacted too."""
    log = SqliteEventLog(db, FakeClock(), redactor=REDACTOR)
    batch = [
        new_event("a.b.c", {"n": i, "note": f"{SECRET}"}, clock=log.clock, source="t")
        for i in range(3)
    ]
    stored = log.append(batch)
    assert [e.data["note"] for e in stored] == ["[REDACTED:env:MY_SERVICE_TOKEN]"] * 3

    def handler(event: Event) -> Outcome:
        out = new_event("x.y.done", {"echo": f"password={SECRET}"}, clock=log.clock, source="h")
        return Outcome(events=[out])

    outputs = run_handler(log, "c", handler, stored[0])
    assert outputs is not None
    assert outputs[0].data["echo"] == "password=[REDACTED:env:MY_SERVICE_TOKEN]"
    assert_nowhere(db.path, SECRET)


def test_default_redactor_reads_the_environment(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a redactor argument the log redacts this process's secret variables."""
    value = "env-" + secrets.token_hex(10)
    monkeypatch.setenv("VIGIL_TEST_API_KEY", value)
    log = SqliteEventLog(db, FakeClock())
    (stored,) = log.append([new_event("a.b.c", {"v": value}, clock=log.clock, source="t")])
    assert stored.data == {"v": "[REDACTED:env:VIGIL_TEST_API_KEY]"}
    assert_nowhere(db.path, value)


def test_knowledge_base_writes_are_redacted(db: Database, tmp_path: Path) -> None:
    """Add, update, learning, reject and Markdown import all store redacted entries."""
    kb = KnowledgeBase(db, FakeClock(), redactor=REDACTOR)
    added = kb.add(
        "fix",
        f"token {SECRET}",
        body=f"set GITHUB_TOKEN={GH}",
        tags=[MIXED, "ci"],  # validation lower-cases tags before the KB sees them
        provenance={"source": "cli", "author": SECRET, "note": GH},
    )
    assert added.title == "token [REDACTED:env:MY_SERVICE_TOKEN]"
    assert added.body == "set GITHUB_TOKEN=[REDACTED:github-token]"
    assert added.tags == ("[redacted:env:mixed_case_token]", "ci")
    assert added.provenance["author"] == "[REDACTED:env:MY_SERVICE_TOKEN]"
    assert kb.get(added.id) == added

    updated = kb.update(added.id, body=f"now {SECRET}")
    assert updated.body == "now [REDACTED:env:MY_SERVICE_TOKEN]"
    rejected = kb.reject(added.id, by="me", reason=f"leaked {GH}")
    assert rejected.provenance["rejection_reason"] == "leaked [REDACTED:github-token]"
    learned = kb.record_candidate_fix(
        "0123456789abcdef",
        f"bump {SECRET}",
        f"password: {SECRET}",
        {"source": "learner", "files": ["a.py"]},
    )
    assert SECRET not in json.dumps(learned.to_dict())

    note = tmp_path / "import" / "note.md"
    note.parent.mkdir()
    note.write_text(f"---\nkind: note\ntitle: imported {SECRET}\n---\n\nbody {GH}\n")
    report = kb.import_(note.parent)
    (imported,) = (kb.get(i) for i in report.created)
    assert imported.title == "imported [REDACTED:env:MY_SERVICE_TOKEN]"
    assert imported.body == "body [REDACTED:github-token]"

    exported = kb.export(tmp_path / "export")
    assert exported and all(SECRET not in p.read_text() for p in exported)
    assert [hit.entry.id for hit in kb.search("imported")] == [imported.id]
    assert_nowhere(db.path, SECRET, MIXED, MIXED.lower(), GH)


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "vigil.test", "levelno": logging.ERROR, "levelname": "ERROR", "msg": message}
    )
    record.args = args
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_log_redacts_message_extras_and_traceback() -> None:
    """The log line carries no secret: message, every extra field (deep), the traceback."""
    formatter = JsonFormatter(redactor=REDACTOR)
    try:
        raise RuntimeError(f"provider said: invalid key {SECRET}")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = _record(
        "calling %s with %s",
        "api",
        f"Authorization: Bearer {GH}",
        request={"headers": {"api_key": "k-" + SECRET}, "url": f"https://u:{SECRET}@h/"},
        attempt=2,
    )
    record.exc_info = exc_info
    line = formatter.format(record)
    entry = json.loads(line)
    assert SECRET not in line and GH not in line
    assert entry["message"] == "calling api with Authorization: Bearer [REDACTED:bearer-token]"
    assert entry["request"]["headers"]["api_key"] == "[REDACTED:api-key]"
    assert entry["request"]["url"] == "https://u:[REDACTED:env:MY_SERVICE_TOKEN]@h/"
    assert entry["attempt"] == 2
    assert (
        "RuntimeError: provider said: invalid key [REDACTED:env:MY_SERVICE_TOKEN]"
        in (entry["error"])
    )


def test_json_log_default_redactor_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default formatter redacts this process's secret variables."""
    value = "env-" + secrets.token_hex(10)
    monkeypatch.setenv("SOME_SERVICE_PASSWORD", value)
    line = JsonFormatter().format(_record("connecting with %s", value))
    assert value not in line and "[REDACTED:env:SOME_SERVICE_PASSWORD]" in line
