"""``vigil run`` passes SIGINT's disposition on to the command, as a shell does."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import with_sigint

# The command prints its own ignored-signals mask (``SigIgn`` in /proc/self/status, hex).
SHOW_SIGIGN = "print(next(l for l in open('/proc/self/status') if l.startswith('SigIgn')))"


def _sigint_ignored_in_child(home: Path, disposition: str) -> bool:
    import os
    import subprocess

    argv = [sys.executable, "-m", "vigil", "run", "--", sys.executable, "-c", SHOW_SIGIGN]
    done = subprocess.run(
        with_sigint(disposition, argv),
        env={**os.environ, "VIGIL_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    mask = int(done.stdout.split(":")[1].strip(), 16)
    return bool(mask & (1 << (signal.SIGINT - 1)))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_an_ignored_sigint_stays_ignored_for_the_command(home: Path) -> None:
    """Started with SIGINT ignored (a background job), ``vigil run`` starts its command with
    SIGINT ignored too; started with the default, the command gets the default."""
    assert _sigint_ignored_in_child(home, "ignore") is True
    assert _sigint_ignored_in_child(home, "default") is False
