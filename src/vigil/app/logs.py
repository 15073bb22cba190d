"""The daemon's log: one JSON object per line under ``$VIGIL_HOME/logs``, rotated by size.

Fields: ``time`` (UTC ISO 8601), ``level``, ``logger``, ``message``, every ``extra=`` field the
caller passed, and ``error`` with the traceback when one is attached. The message, every extra
field (deep) and the traceback are redacted (:mod:`vigil.storage.redact`): secrets never reach
the log.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigil.storage import Redactor

ROTATE_BYTES = 50 * 1024 * 1024
KEEP = 5
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON, with secrets redacted.

    The default redactor knows this process's secret environment variables.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor if redactor is not None else Redactor.from_environment()

    def format(self, record: logging.LogRecord) -> str:
        redactor = self.redactor
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redactor.redact(record.getMessage()),
        }
        extra = {
            key: value
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")
        }
        if extra:
            entry.update(redactor.redact_obj(extra))
        if record.exc_info:
            entry["error"] = redactor.redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(
    log_dir: Path, level: str, *, max_bytes: int = ROTATE_BYTES, keep: int = KEEP
) -> logging.Handler:
    """Send ``vigil.*`` loggers to ``log_dir/vigil.log`` as JSON lines; returns the handler."""
    handler: logging.Handler
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            log_dir / "vigil.log", maxBytes=max_bytes, backupCount=keep, encoding="utf-8"
        )
        fallback = None
    except OSError as exc:  # a read-only or full disk must not keep the daemon from running
        handler = logging.StreamHandler()
        fallback = f"cannot write logs under {log_dir} ({exc.strerror}); logging to stderr"
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("vigil")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    if fallback:
        root.warning(fallback)
    return handler
