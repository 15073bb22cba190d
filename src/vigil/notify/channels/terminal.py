"""The terminal channel: notices wait in a file and the next `vigil` command prints them.

Writing appends one JSON line to ``$VIGIL_HOME/run/notices.jsonl``. Reading is what every CLI
command does on its way out, so it must cost nothing when there is nothing to show: one
``stat`` of that path. When the file is there, it is claimed by renaming it (atomic: of two
commands ending at once, one prints each notice), printed to stderr and removed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TextIO

from vigil.notify.channels import Notice

FILE = "notices.jsonl"
MAX_SHOWN = 5
_MARK = {"info": "·", "warning": "!", "error": "✗", "critical": "‼"}


def notices_path(home: Path) -> Path:
    return home / "run" / FILE


class TerminalChannel:
    """Leaves the notice for the next command in any terminal."""

    name = "terminal"

    def __init__(self, home: Path) -> None:
        self.path = notices_path(home)

    def unavailable(self) -> str | None:
        return None

    async def send(self, notice: Notice) -> dict[str, Any] | None:
        self.write(notice)
        return None

    def write(self, notice: Notice) -> None:
        line = json.dumps(
            {
                "id": notice.request_id,
                "time": notice.time,
                "title": notice.title,
                "body": notice.body,
                "severity": notice.severity,
            },
            ensure_ascii=False,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


def take(home: Path) -> list[dict[str, Any]]:
    """The waiting notices, claimed (nobody else will print them), oldest first."""
    path = notices_path(home)
    if not path.exists():
        return []
    claimed = path.with_name(f"{FILE}.{os.getpid()}")
    try:
        path.replace(claimed)
    except OSError:
        return []  # another command took them first, or the home is read-only
    try:
        text = claimed.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    finally:
        try:
            claimed.unlink()
        except OSError:
            pass
    notices = []
    for raw in text.splitlines():
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        if isinstance(item, dict):
            notices.append(item)
    return notices


def show(home: Path, stream: TextIO) -> int:
    """Print the waiting notices to ``stream``; how many there were."""
    notices = take(home)
    if not notices:
        return 0
    stream.write(f"── vigil ── {len(notices)} notice{'s' if len(notices) != 1 else ''}:\n")
    for item in notices[-MAX_SHOWN:]:
        mark = _MARK.get(str(item.get("severity")), "·")
        when = str(item.get("time") or "")[11:16]
        stream.write(f"  {mark} {when} {item.get('title')}  ({item.get('id')})\n")
    if len(notices) > MAX_SHOWN:
        stream.write(f"  ... and {len(notices) - MAX_SHOWN} more: vigil inbox\n")
    stream.flush()
    return len(notices)
