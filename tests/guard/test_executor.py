"""The bounded executor with real subprocesses: memory, processes, time, output, CPU, place,
environment. Every child is bounded by its own limits, so none of these can hurt the machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from vigil.guard.executor import Executor, cgroup_base
from vigil.guard.policy import Bounds

PY = sys.executable
# Forks until the limit stops it (at most 200 children, each sleeping 30 s, then killed with
# its group): even with no guard at all this stays harmless.
FORK_BOMB = """
import os, sys, time
n = 0
try:
    for _ in range(200):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError as exc:
    print(f"forked {n}, then {exc}")
    sys.exit(1)
print(f"forked {n}")
"""


def executor(**bounds: object) -> Executor:
    base = {"timeout_s": 20.0, "memory_mb": 512, "cpu_s": 20, "max_processes": 40}
    environ = {"PATH": os.environ["PATH"], "GROQ_API_KEY": "gsk_live_0123456789abcdef", "LANG": "C"}
    return Executor(Bounds(**{**base, **bounds}), environ=environ, secrets={"GROQ_API_KEY"})  # type: ignore[arg-type]


def test_a_command_runs_in_its_pinned_directory(tmp_path: Path) -> None:
    """The command runs in the given directory with stdin closed and exits 0."""
    result = executor().run(
        [PY, "-c", "import os, sys; print(os.getcwd()); print(sys.stdin.read()=='')"], str(tmp_path)
    )
    assert result.ok and result.exit_code == 0
    assert result.output_tail.split() == [str(tmp_path), "True"]


def test_secrets_are_scrubbed_unless_kept(tmp_path: Path) -> None:
    """A secret variable is not in the child's environment unless the action keeps it."""
    script = [PY, "-c", "import os; print(os.environ.get('GROQ_API_KEY', 'absent'))"]
    assert executor().run(script, str(tmp_path)).output_tail.strip() == "absent"
    kept = executor().run(script, str(tmp_path), env_keep=["GROQ_API_KEY"])
    assert kept.output_tail.strip() == "gsk_live_0123456789abcdef"


def test_memory_hog_hits_the_memory_limit(tmp_path: Path) -> None:
    """A process that allocates 2 GiB under a 256 MiB limit fails and says memory."""
    result = executor(memory_mb=256).run([PY, "-c", "x = bytearray(2 * 1024**3)"], str(tmp_path))
    assert not result.ok and result.limit == "memory"
    assert "MemoryError" in result.output_tail


def test_fork_bomb_is_stopped_by_the_process_guard(tmp_path: Path) -> None:
    """A fork bomb gets no more than the process limit; the rest of its forks fail (EAGAIN)."""
    result = executor(max_processes=16).run([PY, "-c", FORK_BOMB], str(tmp_path))
    assert not result.ok and result.limit == "processes"
    forked = int(result.output_tail.split()[1].rstrip(","))
    assert forked < 16
    expected = "rlimit" if os.geteuid() != 0 else ("cgroup" if cgroup_base() else "setuid")
    assert result.process_guard == expected


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root")
def test_as_root_dropping_to_nobody_makes_rlimit_nproc_bind() -> None:
    """As root, the setuid guard runs the child as nobody, for whom RLIMIT_NPROC holds."""
    import tempfile

    # pytest's own temporary directories are private to root; nobody needs to reach this one
    with tempfile.TemporaryDirectory(prefix="vigil-nproc-") as scratch:
        place = Path(scratch)
        place.chmod(0o755)
        bomb = place / "bomb.py"
        bomb.write_text(FORK_BOMB)
        bomb.chmod(0o644)
        result = executor(max_processes=16, process_guard="setuid").run(
            ["/usr/bin/python3", str(bomb)], str(place)
        )
    assert result.process_guard == "setuid"
    assert not result.ok and result.limit == "processes", result.output_tail
    assert int(result.output_tail.split()[1].rstrip(",")) < 16


def test_rlimit_guard_is_refused_for_root_instead_of_pretending(tmp_path: Path) -> None:
    """Asked to bound processes with RLIMIT_NPROC as root, the executor refuses to run."""
    if os.geteuid() != 0:
        pytest.skip("only root is exempt from RLIMIT_NPROC")
    marker = tmp_path / "ran"
    result = executor(process_guard="rlimit").run(["touch", str(marker)], str(tmp_path))
    assert not result.ok and "refused" in result.reason
    assert not marker.exists()


def test_a_command_that_never_ends_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    """A command still running at the timeout is killed with its whole group."""
    script = "import subprocess, time; subprocess.Popen(['sleep', '300']); time.sleep(300)"
    result = executor(timeout_s=1.0).run([PY, "-c", script], str(tmp_path))
    assert not result.ok and result.limit == "timeout"
    assert "time limit" in result.reason


def test_a_command_printing_100_mb_is_stopped_at_the_output_cap(tmp_path: Path) -> None:
    """Printing 100 MB under a 1 MiB cap stops the command; only the tail is kept."""
    script = "import sys\nfor _ in range(1600): sys.stdout.write('x' * 65536)"
    result = executor(output_bytes=1024 * 1024, tail_bytes=4096).run(
        [PY, "-c", script], str(tmp_path)
    )
    assert not result.ok and result.limit == "output"
    assert 1024 * 1024 < result.output_bytes < 100 * 1024 * 1024
    assert len(result.output_tail) <= 4096 and result.truncated


def test_cpu_limit(tmp_path: Path) -> None:
    """A busy loop is stopped by RLIMIT_CPU and says cpu."""
    result = executor(cpu_s=1, timeout_s=60.0).run([PY, "-c", "while True: pass"], str(tmp_path))
    assert not result.ok and result.limit == "cpu"


def test_a_missing_program_exits_127(tmp_path: Path) -> None:
    """A program that does not exist exits 127 with one line saying so."""
    result = executor().run(["no-such-program-here"], str(tmp_path))
    assert result.exit_code == 127 and "cannot start no-such-program-here" in result.output_tail


def test_nothing_is_left_behind(tmp_path: Path) -> None:
    """A background child the command leaves running is killed when it ends."""
    pidfile = tmp_path / "pid"
    script = (
        "import subprocess; p = subprocess.Popen(['sleep', '60']);"
        f" open({str(pidfile)!r}, 'w').write(str(p.pid))"
    )
    result = executor().run([PY, "-c", script], str(tmp_path))
    assert result.ok
    pid = int(pidfile.read_text())
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except FileNotFoundError:
        state = "gone"
    assert state in ("gone", "Z", "X")
