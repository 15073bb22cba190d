"""The daemon's JSON log rotates at its configured size and keeps the configured number."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from vigil.app.logs import configure


def test_log_rotates_and_keeps_n(tmp_path: Path) -> None:
    """Past max_bytes the log rotates; only `keep` old files remain, each line valid JSON."""
    logs = tmp_path / "logs"
    handler = configure(logs, "info", max_bytes=2000, keep=2)
    logger = logging.getLogger("vigil.test.rotation")
    try:
        for i in range(200):
            logger.info("line", extra={"i": i, "pad": "x" * 50})
    finally:
        handler.close()
        logging.getLogger("vigil").handlers.clear()
    files = sorted(p.name for p in logs.iterdir())
    assert files == ["vigil.log", "vigil.log.1", "vigil.log.2"]
    for name in files:
        for line in (logs / name).read_text().splitlines():
            assert json.loads(line)["message"] == "line"
    assert all((logs / n).stat().st_size <= 2200 for n in files)
