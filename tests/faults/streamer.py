"""Streams build failures into a home as another process would (used by the fault tests).

``python -m tests.faults.streamer HOME COUNT BATCH [PAUSE_S]`` prints each batch's ids as one JSON
line as soon as it is stored, so the test knows exactly what was committed even if it kills
things mid-way.
"""

from __future__ import annotations

import json
import os
import sys
import time

from vigil.app import Vigil
from vigil.config import load_settings

OUTPUT = (
    "E   AssertionError: assert {i} == {j}\n"
    "FAILED tests/test_stream.py::test_case_{k} - AssertionError: assert {i} == {j}\n"
)


def main() -> None:
    home, count, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    os.environ["VIGIL_HOME"] = home
    with Vigil.open(load_settings()) as vigil:
        sent = 0
        while sent < count:
            events = []
            for _ in range(min(batch, count - sent)):
                k = sent % 7
                data = {
                    "command": "pytest -q",
                    "cwd": "/tmp/stream",
                    "exit_code": 1,
                    "duration_ms": 5.0,
                    "output_tail": OUTPUT.format(i=k, j=k + 1, k=k),
                }
                events.append(vigil.event("build.run.failed", data, subject="pytest -q"))
                sent += 1
            stored = vigil.publish(events)
            print(json.dumps([e.id for e in stored]), flush=True)
            if pause:
                time.sleep(pause)


if __name__ == "__main__":
    main()
