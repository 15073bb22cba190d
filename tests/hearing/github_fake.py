"""A local stand-in for the GitHub REST API's Actions log endpoints, on 127.0.0.1.

A real HTTP server in a thread. ``GET /repos/{repo}/actions/jobs/{id}/logs`` answers 302 to
``/blobs/{id}`` like GitHub does (a redirect to the log's storage); the blob is a real pytest
output with GitHub's timestamp before every line. ``GET /repos/{repo}/actions/runs/{id}/jobs``
lists jobs. ``mode`` switches faults: ``ok``, ``error`` (500), ``gone`` (404).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import REPO

LOG = (REPO / "tests" / "fixtures" / "outputs" / "pytest" / "assertion.txt").read_text()


def stamped(text: str) -> str:
    return "".join(
        f"2026-01-01T10:00:{i % 60:02d}.1234567Z {line}\n"
        for i, line in enumerate(text.splitlines())
    )


@dataclass
class FakeGitHub:
    mode: str = "ok"
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    jobs: list[dict[str, object]] = field(default_factory=list)
    url: str = ""


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    state = FakeGitHub()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(
            self,
            code: int,
            body: bytes,
            kind: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("Authorization")))
            if state.mode == "error":
                self._send(500, b'{"message": "Server Error"}')
                return
            if state.mode == "gone":
                self._send(404, b'{"message": "Not Found"}')
                return
            job = re.fullmatch(r"/repos/[^/]+/[^/]+/actions/jobs/(\d+)/logs", self.path)
            if job:
                self._send(302, b"", headers={"Location": f"{state.url}/blobs/{job.group(1)}"})
                return
            if self.path.startswith("/blobs/"):
                self._send(200, stamped(LOG).encode(), "text/plain")
                return
            if re.fullmatch(r"/repos/[^/]+/[^/]+/actions/runs/\d+/jobs\?.*", self.path):
                self._send(
                    200, json.dumps({"total_count": len(state.jobs), "jobs": state.jobs}).encode()
                )
                return
            self._send(404, b'{"message": "Not Found"}')

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-github", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def configure(home: Path, url: str) -> None:
    with (home / "config.toml").open("a") as config:
        config.write(f'\n[hooks.github]\napi_url = "{url}"\n')
