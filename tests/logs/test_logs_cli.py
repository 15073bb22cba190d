"""``vigil logs templates|summarize|follow`` and the daemon's ``[[logs.follow]]``, as real
processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import daemon, events, vigil, wait_for


def test_templates_prints_one_json_line_per_input_line(home: Path, tmp_path: Path) -> None:
    """--jsonl gives {line, template_id, template} for every line in, in order; JSON lines are
    mined on their message."""
    log = tmp_path / "app.log"
    lines = [
        "Failed password for root from 1.2.3.4 port 22 ssh2",
        "Accepted password for root from 1.2.3.4 port 22 ssh2",
        '{"level": "error", "msg": "db timeout after 30 s"}',
        "",
        "Failed password for admin from 5.6.7.8 port 23 ssh2",
    ]
    log.write_text("\n".join(lines) + "\n")
    done = vigil("logs", "templates", str(log), "--jsonl", home=home)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["line"] for o in out] == lines
    assert set(out[0]) == {"line", "template_id", "template"}
    assert out[0]["template_id"] == out[4]["template_id"] != out[1]["template_id"]
    assert out[4]["template"] == "Failed password for <*> from <*> port <*>"
    assert out[2]["template"] == "db timeout after <*> s"
    plain = vigil("logs", "templates", "-", home=home, stdin="a 1\na 2\n")
    assert plain.stdout == "T1\ta <*>\nT1\ta <*>\n"


def test_templates_mines_each_line_on_its_message(home: Path, tmp_path: Path) -> None:
    """A raw log's headers (time, level, thread, writer; a syslog time, host and program) are
    not mined: what varies in them never splits a template, and the template is the message's."""
    log = tmp_path / "mixed.log"
    lines = [
        "2015-10-18 18:02:17,027 INFO [IPC Server handler 14 on 62270]"
        " org.apache.hadoop.mapred.TaskAttemptListenerImpl: Progress of TaskAttempt"
        " attempt_1445144423722_0020_m_000000_0 is : 0.023958297",
        "2015-10-18 18:02:20,558 INFO [IPC Server handler 18 on 62270]"
        " org.apache.hadoop.mapred.TaskAttemptListenerImpl: Progress of TaskAttempt"
        " attempt_1445144423722_0020_m_000000_0 is : 0.065791264",
        "2015-10-18 18:05:27,570 WARN [LeaseRenewer:msrabi@msra-sa-41:9000]"
        " org.apache.hadoop.ipc.Client: Address change detected. Old:"
        " msra-sa-41/10.190.173.170:9000 New: msra-sa-41:9000",
        "2015-10-18 18:10:53,546 WARN [RMCommunicator Allocator] org.apache.hadoop.ipc.Client:"
        " Address change detected. Old: msra-sa-41/10.190.173.170:8030 New: msra-sa-41:8030",
        "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
        "Dec 10 07:02:47 LabSZ sshd[24203]: Invalid user test9 from 52.80.34.196",
    ]
    log.write_text("\n".join(lines) + "\n")
    done = vigil("logs", "templates", str(log), "--jsonl", home=home)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["line"] for o in out] == lines
    ids = [o["template_id"] for o in out]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[4] == ids[5]
    assert len(set(ids)) == 3
    assert out[0]["template"] == "Progress of TaskAttempt <*> is : <*>"
    assert out[4]["template"] == "Invalid user <*> from <*>"


def test_summarize_reports_span_rate_templates_errors_and_what_is_new(
    home: Path, tmp_path: Path
) -> None:
    """--json has the numbers and a written summary by the rules; the text form reads well."""
    log = tmp_path / "app.log"
    body = [f"2026-01-02T03:0{i // 60}:{i % 60:02d}Z INFO request {i} served" for i in range(300)]
    body[150] = "2026-01-02T03:02:30Z ERROR payment failed for order 77"
    log.write_text("\n".join(body) + "\n")
    done = vigil("logs", "summarize", str(log), "--json", home=home)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["records"] == 300
    assert summary["span"]["seconds"] == 299.0
    assert summary["rate_per_minute"] == pytest.approx(60.2, abs=0.1)
    assert summary["top_templates"][0]["count"] == 299
    assert summary["top_templates"][0]["share"] == pytest.approx(0.9967, abs=1e-4)
    assert summary["error_share"] == pytest.approx(1 / 300, abs=1e-4)
    assert summary["first_error"]["line"] == 151
    assert [b["line"] for b in summary["first_error"]["before"]] == [148, 149, 150]
    assert summary["written"]["by"] == "rules"
    assert "300 records over 4m 59s" in summary["written"]["text"]
    text = vigil("logs", "summarize", str(log), home=home)
    assert text.returncode == 0 and "first error, line 151" in text.stdout


@pytest.mark.parametrize(
    ("target", "message"),
    [("missing.log", "no such file"), (".", "is a directory")],
)
def test_bad_files_are_one_clear_line(
    home: Path, tmp_path: Path, target: str, message: str
) -> None:
    """A missing file or a directory: one line on stderr, non-zero exit, no traceback."""
    for command in ("templates", "summarize"):
        done = vigil("logs", command, str(tmp_path / target), home=home)
        assert done.returncode != 0
        assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_binary_garbage_is_read_as_text(home: Path, tmp_path: Path) -> None:
    """Bytes that are not text still give one template per line."""
    log = tmp_path / "bin.log"
    log.write_bytes(bytes(range(256)) * 4 + b"\nok line\n\xff\xfe\x00\n")
    done = vigil("logs", "templates", str(log), "--jsonl", home=home)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(log.read_bytes().split(b"\n")) - 1


def test_follow_prints_templates_and_anomalies_until_interrupted(
    home: Path, tmp_path: Path
) -> None:
    """The foreground follower prints each new record with its template, stores anomalies as
    events, and stops cleanly on SIGINT."""
    log = tmp_path / "app.log"
    log.write_text("already here\n")
    env = {**os.environ, "VIGIL_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil", "logs", "follow", str(log), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None  # it starts at the end, like tail -F, and says so
        assert proc.stderr.readline().startswith(f"vigil: following {log} from its end")
        with log.open("a") as handle:
            handle.write("INFO started worker 1\nERROR worker 1 crashed: out of memory\n")
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        second = json.loads(proc.stdout.readline())
        assert first["line"] == "INFO started worker 1" and first["anomalies"] == []
        assert second["anomalies"][0]["data"]["kind"] == "new_template"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    stored = events(home, "--type", "log.anomaly.detected")
    assert [e["data"]["template"] for e in stored] == ["worker <*> crashed: out of memory"]
    directory = vigil("logs", "follow", str(tmp_path), home=home)
    assert directory.returncode != 0 and "is a directory" in directory.stderr


@pytest.mark.slow
def test_the_daemon_follows_configured_logs(home: Path, tmp_path: Path) -> None:
    """[[logs.follow]] in config.toml: the daemon publishes log.anomaly.detected for a new error
    template, shows the follower in health, and keeps templates across a restart."""
    log = tmp_path / "service.log"
    log.write_text("")
    config = home / "config.toml"
    config.write_text(config.read_text() + f'\n[[logs.follow]]\npath = "{log}"\n')
    with daemon(home) as state:
        name = f"logs:{log}"
        wait_for(lambda: any(c["name"] == name for c in _health(home)["components"]))
        with log.open("a") as handle:
            handle.write("ERROR queue consumer lost its connection to 10.0.0.7:5672\n")
        found = wait_for(lambda: events(home, "--type", "log.anomaly.detected"))
        assert found[0]["data"]["path"] == str(log)
        assert found[0]["data"]["kind"] == "new_template"
        assert state["pid"]
    with log.open("a") as handle:  # written while the daemon is down
        handle.write("ERROR queue consumer lost its connection to 10.0.0.8:5672\n")
    with daemon(home):
        wait_for(lambda: _read_up_to(home, log) == log.stat().st_size)
    assert len(events(home, "--type", "log.anomaly.detected")) == 1  # not new the second time


def _read_up_to(home: Path, log: Path) -> int | None:
    """The stored read position of ``log`` (what a restart resumes from)."""
    with sqlite3.connect(home / "vigil.db") as conn:
        row = conn.execute(
            "SELECT offset FROM log_offsets WHERE stream = ?", (str(log),)
        ).fetchone()
    return None if row is None else int(row[0])


def _health(home: Path) -> dict[str, object]:
    done = vigil("health", "--json", home=home)
    parsed: dict[str, object] = json.loads(done.stdout)
    return parsed
