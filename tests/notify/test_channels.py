"""Channels against real receivers: an HTTP server on 127.0.0.1, a real notify-send stand-in on
PATH, espeak-ng, the terminal file, the dashboard broadcast; and delivery's retries."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.notify.conftest import event
from vigil.clock import SystemClock
from vigil.events import catalog
from vigil.notify.channels import Notice
from vigil.notify.channels.dashboard import Broadcast, DashboardChannel
from vigil.notify.channels.delivery import Deliverer
from vigil.notify.channels.desktop import DesktopChannel
from vigil.notify.channels.spoken import SpokenChannel
from vigil.notify.channels.terminal import TerminalChannel, show
from vigil.notify.channels.webhook import WebhookChannel
from vigil.reliability import BreakerRegistry
from vigil.reliability import testing as no_backoff


class Receiver:
    """A webhook receiver on 127.0.0.1 answering from a script of status codes."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                receiver.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("authorization")}
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@contextmanager
def receiving(statuses: list[int] | None = None) -> Iterator[Receiver]:
    receiver = Receiver(list(statuses or []))
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join()


def notice(**changes: Any) -> Notice:
    base: dict[str, Any] = {
        "request_id": "ev_req",
        "decision_id": "ev_dec",
        "time": "2026-03-02T10:00:00.000000Z",
        "title": "CI failed: tests on main",
        "body": "acme/shop abc123 failure",
        "severity": "error",
        "level": "time-sensitive",
        "reason": "score 0.80",
        "score": 0.8,
        "links": ("https://ci.example/run/1",),
        "channels": ("terminal", "webhook"),
    }
    return Notice(**{**base, **changes})


async def test_ntfy_json_goes_to_the_root_with_the_topic() -> None:
    """ntfy's JSON form: posted to the server root with topic, title, message, priority, click;
    the token from the environment is a bearer token."""
    with receiving() as receiver:
        channel = WebhookChannel(f"{receiver.url}/vigil-alerts", format="ntfy", token="tk_abc")
        await channel.send(notice())
    (got,) = receiver.requests
    assert got["path"] == "/"
    assert got["body"]["topic"] == "vigil-alerts"
    assert got["body"]["title"] == "CI failed: tests on main"
    assert got["body"]["priority"] == 4
    assert got["body"]["click"] == "https://ci.example/run/1"
    assert got["auth"] == "Bearer tk_abc"


async def test_slack_payload_has_text_and_blocks() -> None:
    """Slack-compatible JSON: a text fallback and mrkdwn blocks, to the URL as given."""
    with receiving() as receiver:
        await WebhookChannel(f"{receiver.url}/services/T/B/X", format="slack").send(notice())
    (got,) = receiver.requests
    assert got["path"] == "/services/T/B/X"
    assert got["body"]["text"].startswith("CI failed: tests on main")
    assert got["body"]["blocks"][0]["text"]["text"].startswith("*CI failed")


def _delivered(channels: list[str]) -> Any:
    return event(
        catalog.NOTIFICATION_DELIVERED,
        {"request_id": "ev_req", "title": "Disk full", "severity": "error",
         "level": "time-sensitive", "reason": "r", "score": 0.8, "channels": channels},
    )  # fmt: skip


async def test_delivery_retries_a_5xx_then_succeeds() -> None:
    """A 503 is retried (backoff removed in tests) and the second attempt delivers."""
    with receiving([503]) as receiver, no_backoff():
        deliverer = Deliverer({"webhook": WebhookChannel(f"{receiver.url}/t")})
        report = await deliverer.deliver(_delivered(["webhook"]), None)
    assert report.sent.keys() == {"webhook"} and not report.events
    assert len(receiver.requests) == 2


async def test_refused_delivery_is_recorded_as_failed_once() -> None:
    """A 400 is not retried; it becomes a notification.failed caused by the delivery, and the
    other channels still deliver."""
    with receiving([400]) as receiver, no_backoff():
        broadcast = Broadcast()
        queue, unsubscribe = broadcast.subscribe()
        deliverer = Deliverer(
            {
                "webhook": WebhookChannel(f"{receiver.url}/t"),
                "dashboard": DashboardChannel(broadcast),
            },
            breakers=BreakerRegistry(clock=SystemClock()),
        )
        decision = _delivered(["dashboard", "webhook"])
        report = await deliverer.deliver(decision, None)
        unsubscribe()
    assert len(receiver.requests) == 1
    (failed,) = report.events
    assert failed.type == catalog.NOTIFICATION_FAILED
    assert failed.causation_id == decision.id and failed.data["channel"] == "webhook"
    assert "400" in failed.data["error"] and "127.0.0.1" not in failed.data["error"]
    assert queue.get_nowait()["title"] == "Disk full"


async def test_unreachable_webhook_fails_after_retries_and_opens_its_breaker() -> None:
    """A dead receiver: every attempt fails, the failure is recorded, and after three failed
    deliveries the channel's breaker refuses at once."""
    with receiving() as receiver:
        dead = receiver.url
    registry = BreakerRegistry(clock=SystemClock())
    with no_backoff():
        deliverer = Deliverer({"webhook": WebhookChannel(f"{dead}/t", timeout=1.0)},
                              breakers=registry)  # fmt: skip
        reports = [await deliverer.deliver(_delivered(["webhook"]), None) for _ in range(3)]
    assert all(r.failed for r in reports)
    assert "unreachable" in reports[0].failed["webhook"] or "open" in reports[0].failed["webhook"]
    assert "is open" in reports[-1].failed["webhook"]


async def test_desktop_is_skipped_without_a_session_bus() -> None:
    """No session bus: the desktop channel is unavailable, skipped with the reason, not failed."""
    deliverer = Deliverer({"desktop": DesktopChannel(None)})
    report = await deliverer.deliver(_delivered(["desktop"]), None)
    assert "no session bus" in report.skipped["desktop"] and not report.failed


async def test_desktop_runs_notify_send_with_urgency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a session bus, notify-send runs with the app name, urgency, title and body."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "argv.txt"
    script = bin_dir / "notify-send"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    await DesktopChannel("unix:path=/run/user/1000/bus").send(notice(level="critical"))
    assert record.read_text().splitlines() == [
        "--app-name=Vigil",
        "--urgency=critical",
        "CI failed: tests on main",
        "acme/shop abc123 failure",
    ]


def _espeak(text: str, wav: Path, *, voice: str | None = None) -> Path:
    """What vigil.notify.speech.synthesize does: espeak-ng to a WAV file."""
    argv = ["espeak-ng", "-w", str(wav)] + (["-v", voice] if voice else []) + [text]
    subprocess.run(argv, check=True, capture_output=True, timeout=30)
    return wav


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
async def test_spoken_notice_is_a_kept_wav(tmp_path: Path) -> None:
    """The spoken channel synthesises the title to a WAV kept under the request's id."""
    channel = SpokenChannel(tmp_path / "notifications", _espeak, sound=False)
    result = await channel.send(notice())
    assert result is not None
    wav = Path(result["wav"])
    assert wav == tmp_path / "notifications" / "ev_req.wav"
    assert wav.read_bytes()[:4] == b"RIFF" and wav.stat().st_size > 10_000
    assert result["played"] is False


async def test_spoken_without_a_synthesiser_is_skipped() -> None:
    """No synthesiser installed: the spoken channel is unavailable, not failed."""
    deliverer = Deliverer({"spoken": SpokenChannel(Path("/nonexistent"), None)})
    report = await deliverer.deliver(_delivered(["spoken"]), None)
    assert "synthesiser" in report.skipped["spoken"]


async def test_terminal_notices_are_shown_once(tmp_path: Path) -> None:
    """A terminal notice waits in the home and is printed by the next command, then gone."""
    await TerminalChannel(tmp_path).send(notice())
    first, second = io.StringIO(), io.StringIO()
    assert show(tmp_path, first) == 1
    assert "CI failed: tests on main" in first.getvalue()
    assert show(tmp_path, second) == 0 and second.getvalue() == ""


async def test_dashboard_broadcast_drops_the_oldest_for_a_slow_listener() -> None:
    """A listener that never reads keeps the newest notices and never blocks the others."""
    broadcast = Broadcast()
    queue, unsubscribe = broadcast.subscribe()
    for i in range(300):
        broadcast.publish({"n": i})
    assert queue.qsize() == 256 and queue.get_nowait() == {"n": 44}
    unsubscribe()
    broadcast.publish({"n": 999})
    assert broadcast.listeners == 0
    await asyncio.sleep(0)
