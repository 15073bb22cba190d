"""The executor: runs one approved command within bounds, and says which bound it hit.

Bounds (:class:`~vigil.guard.policy.Bounds`):

- **time**: a wall-clock timeout; then SIGTERM to the whole process group, SIGKILL a second later;
- **memory**: ``RLIMIT_AS``; **CPU**: ``RLIMIT_CPU`` (SIGXCPU, then SIGKILL); **file size**:
  ``RLIMIT_FSIZE``; no core dumps. Set in the child by a tiny trampoline (``_child.py``) between
  fork and exec, because ``preexec_fn`` is unsafe in a process with threads (the daemon);
- **processes**: ``RLIMIT_NPROC`` counts every process *of the user*, so the limit is set to what
  the user runs now plus ``max_processes``. The kernel does not apply it to root, so when Vigil
  runs as root the child joins a fresh pids cgroup (``pids.max``) when one can be made, or else
  drops to ``run_as`` (default ``nobody``), for whom the limit holds; with neither possible it
  refuses to run (fail closed). The choice is recorded in every result (``process_guard``);
- **output**: the first ``output_bytes`` are read (the last ``tail_bytes`` kept); more stops the
  command;
- **place**: the working directory is pinned; stdin is ``/dev/null``; the environment is this
  process's minus every secret variable (``vigil.config.secret_variables``) the action did not
  ask to keep (``env_keep``).

Whatever happens, no process of the action is left behind: the process group (and the cgroup)
is killed when the command ends.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.clock import Clock, SystemClock
from vigil.guard.policy import Bounds

CHILD = str(Path(__file__).with_name("_child.py"))
_MEMORY = re.compile(
    r"MemoryError|Cannot allocate memory|std::bad_alloc|out of memory|memory allocation",
    re.IGNORECASE,
)
_PROCESSES = re.compile(
    r"Resource temporarily unavailable|fork: retry|BlockingIOError|EAGAIN|can't fork", re.IGNORECASE
)
_CGROUP_BASES = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")
_counter = itertools.count()


@dataclass(frozen=True, slots=True)
class RunResult:
    """How one execution ended."""

    ok: bool
    exit_code: int | None
    duration_ms: float
    output_tail: str
    output_bytes: int
    truncated: bool
    limit: str | None  # timeout | memory | cpu | output | processes | cancelled | None
    reason: str
    process_guard: str
    signal: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "duration_ms": round(self.duration_ms, 3),
            "output_tail": self.output_tail,
            "output_bytes": self.output_bytes,
            "truncated": self.truncated,
            "limit": self.limit,
            "reason": self.reason,
            "process_guard": self.process_guard,
        }


def scrubbed_environment(
    environ: Mapping[str, str], secrets: Collection[str], keep: Sequence[str] = ()
) -> dict[str, str]:
    """``environ`` without the secret variables (except those in ``keep``) and Vigil's own."""
    return {
        name: value
        for name, value in environ.items()
        if (name not in secrets or name in keep) and not name.startswith("VIGIL_")
    }


def process_start(pid: int) -> int | None:
    """The start time (clock ticks since boot) of ``pid``, or ``None`` when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[19]) if len(fields) > 19 else None


def alive(pid: int | None, start: int | None) -> bool:
    """Whether the process ``pid`` that started at ``start`` still runs (not a reused pid)."""
    return bool(pid) and start is not None and process_start(int(pid or 0)) == start


def kill_leftovers(runner: Mapping[str, Any]) -> None:
    """After a crash: kill what an interrupted execution left running (its group, its cgroup)."""
    pid, start = runner.get("child_pid"), runner.get("child_start")
    if alive(pid, start):
        with contextlib.suppress(OSError):
            os.killpg(int(pid or 0), signal.SIGKILL)
    cgroup = runner.get("cgroup")
    if isinstance(cgroup, str) and cgroup:
        _kill_cgroup(cgroup)
        with contextlib.suppress(OSError):
            os.rmdir(cgroup)


def _kill_cgroup(path: str) -> None:
    for _ in range(50):
        try:
            with open(os.path.join(path, "cgroup.procs")) as handle:
                pids = [int(p) for p in handle.read().split()]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        threading.Event().wait(0.01)


def _uid_tasks(uid: int) -> int:
    """How many tasks (processes and threads: what RLIMIT_NPROC counts) ``uid`` runs now."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            count += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return count


def cgroup_base() -> str | None:
    """A pids cgroup directory this process may create children in, if any."""
    for base in _CGROUP_BASES:
        if os.path.isfile(os.path.join(base, "cgroup.procs")) and os.access(base, os.W_OK):
            controllers = os.path.join(base, "cgroup.controllers")
            if base.endswith("/pids") or (
                os.path.exists(controllers) and "pids" in Path(controllers).read_text().split()
            ):
                return base
    return None


class ExecutionRefused(Exception):
    """The bounds cannot be put in place here (fail closed: nothing runs)."""


class Executor:
    """Runs commands within :class:`Bounds`."""

    def __init__(
        self,
        bounds: Bounds,
        *,
        environ: Mapping[str, str],
        secrets: Collection[str],
        clock: Clock | None = None,
    ) -> None:
        self.bounds = bounds
        self.environ = dict(environ)
        self.secrets = frozenset(secrets)
        self.clock = clock or SystemClock()

    # -- the process guard -------------------------------------------------------------------

    def _guard(self) -> tuple[str, dict[str, Any]]:
        """The process guard to use, and the trampoline settings that go with it."""
        wanted = self.bounds.process_guard
        root = os.geteuid() == 0
        if wanted == "auto":
            if not root:
                wanted = "rlimit"
            elif cgroup_base() is not None:
                wanted = "cgroup"
            else:
                wanted = "setuid"
        if wanted == "rlimit":
            if root:
                raise ExecutionRefused("RLIMIT_NPROC does not bind root: use cgroup or setuid")
            return wanted, {"nproc": _uid_tasks(os.getuid()) + self.bounds.max_processes}
        if wanted == "cgroup":
            base = cgroup_base()
            if base is None:
                raise ExecutionRefused("no writable pids cgroup to bound the process count")
            path = os.path.join(base, f"vigil-{os.getpid()}-{next(_counter)}")
            os.mkdir(path)
            with open(os.path.join(path, "pids.max"), "w") as handle:
                handle.write(str(self.bounds.max_processes))
            return wanted, {"cgroup": path}
        import pwd

        try:
            user = pwd.getpwnam(self.bounds.run_as)
        except KeyError:
            raise ExecutionRefused(f"no user {self.bounds.run_as!r} to run as") from None
        if user.pw_uid == 0:
            raise ExecutionRefused("run_as must not be root")
        if not root and os.getuid() != user.pw_uid:
            raise ExecutionRefused("only root can run actions as another user")
        nproc = _uid_tasks(user.pw_uid) + self.bounds.max_processes
        return "setuid", {"nproc": nproc, "user": {"uid": user.pw_uid, "gid": user.pw_gid}}

    # -- running -----------------------------------------------------------------------------

    def run(
        self,
        argv: Sequence[str],
        cwd: str,
        *,
        env_keep: Sequence[str] = (),
        cancel: threading.Event | None = None,
        on_start: Callable[[dict[str, Any]], None] | None = None,
    ) -> RunResult:
        """Run ``argv`` in ``cwd`` within the bounds; never raises for the command's sake."""
        bounds = self.bounds
        started = self.clock.monotonic()
        try:
            guard, extra = self._guard()
        except (ExecutionRefused, OSError) as exc:
            return _refused(f"refused: cannot bound the process count ({exc})", "none")
        mib = 1024 * 1024
        rlimits: dict[str, list[int]] = {
            "AS": [bounds.memory_mb * mib] * 2,
            "CPU": [bounds.cpu_s, bounds.cpu_s + 5],
            "FSIZE": [bounds.file_mb * mib] * 2,
            "CORE": [0, 0],
        }
        if "nproc" in extra:
            rlimits["NPROC"] = [extra["nproc"]] * 2
        settings = {"rlimits": rlimits, "cgroup": extra.get("cgroup"), "user": extra.get("user")}
        env = scrubbed_environment(self.environ, self.secrets, env_keep)
        env["PWD"] = cwd
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", CHILD, json.dumps(settings), *argv],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            self._cleanup(None, extra)
            return _refused(f"cannot start: {exc.strerror or exc}", guard)
        info = {"child_pid": proc.pid, "child_start": process_start(proc.pid), "guard": guard}
        if extra.get("cgroup"):
            info["cgroup"] = extra["cgroup"]
        if on_start is not None:
            on_start(info)
        try:
            return self._watch(proc, started, guard, extra, cancel)
        finally:
            self._cleanup(proc, extra)

    def _watch(
        self,
        proc: subprocess.Popen[bytes],
        started: float,
        guard: str,
        extra: Mapping[str, Any],
        cancel: threading.Event | None,
    ) -> RunResult:
        bounds = self.bounds
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        tail = bytearray()
        total = 0
        limit: str | None = None
        deadline = started + bounds.timeout_s
        exited_at: float | None = None
        while True:
            now = self.clock.monotonic()
            if cancel is not None and cancel.is_set():
                limit = "cancelled"
                break
            if now >= deadline:
                limit = "timeout"
                break
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > 0.2:
                break  # the program ended; something it left behind holds the pipe open
            ready, _, _ = select.select([fd], [], [], min(0.1, max(0.0, deadline - now)))
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            total += len(chunk)
            tail += chunk
            if len(tail) > bounds.tail_bytes:
                del tail[: len(tail) - bounds.tail_bytes]
            if total > bounds.output_bytes:
                limit = "output"
                break
        if limit is None and proc.poll() is None:  # closed its output but still runs
            while proc.poll() is None and limit is None:
                if cancel is not None and cancel.is_set():
                    limit = "cancelled"
                elif self.clock.monotonic() >= deadline:
                    limit = "timeout"
                else:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=0.1)
        if limit is not None:
            _terminate(proc)
        status = _wait(proc)
        duration = (self.clock.monotonic() - started) * 1000
        code = proc.returncode
        text = tail.decode("utf-8", "replace")
        sig = -code if code is not None and code < 0 else None
        if limit is None:
            limit = _classify(code, status, text, bounds, extra)
        reason = _reason(limit, code, sig, bounds)
        return RunResult(
            ok=code == 0 and limit is None,
            exit_code=code,
            duration_ms=duration,
            output_tail=text,
            output_bytes=total,
            truncated=total > len(tail),
            limit=limit,
            reason=reason,
            process_guard=guard,
            signal=sig,
        )

    def _cleanup(self, proc: subprocess.Popen[bytes] | None, extra: Mapping[str, Any]) -> None:
        if proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)  # whatever it left behind in its group
            if proc.poll() is None:
                _wait(proc)
            if proc.stdout is not None:
                proc.stdout.close()
        cgroup = extra.get("cgroup")
        if cgroup:
            _kill_cgroup(cgroup)
            for _ in range(100):
                try:
                    os.rmdir(cgroup)
                    break
                except OSError:
                    threading.Event().wait(0.01)


def _refused(reason: str, guard: str) -> RunResult:
    return RunResult(False, None, 0.0, "", 0, False, None, reason, guard)


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)


def _wait(proc: subprocess.Popen[bytes]) -> dict[str, float]:
    """Reap the child (it has ended or been killed); its CPU seconds from ``wait4``."""
    if proc.returncode is not None:
        return {}
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:
        proc.wait()
        return {}
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"cpu_s": usage.ru_utime + usage.ru_stime}


def _classify(
    code: int | None, status: Mapping[str, float], text: str, bounds: Bounds, extra: Any
) -> str | None:
    if code == 0:
        return None
    if code == -signal.SIGXCPU or (
        code == -signal.SIGKILL and status.get("cpu_s", 0.0) >= bounds.cpu_s - 0.5
    ):
        return "cpu"
    recent = text[-4000:]
    if _MEMORY.search(recent):
        return "memory"
    cgroup = extra.get("cgroup")
    if cgroup:
        with contextlib.suppress(OSError, ValueError):
            events = Path(cgroup, "pids.events").read_text().split()
            if "max" in events and int(events[events.index("max") + 1]) > 0:
                return "processes"
    if _PROCESSES.search(recent):
        return "processes"
    return None


def _reason(limit: str | None, code: int | None, sig: int | None, bounds: Bounds) -> str:
    if limit == "timeout":
        return f"stopped: still running after {bounds.timeout_s:g} s (time limit)"
    if limit == "output":
        return (
            f"stopped: printed more than {bounds.output_bytes // (1024 * 1024)} MiB (output limit)"
        )
    if limit == "cancelled":
        return "stopped: Vigil is shutting down"
    if limit == "cpu":
        return f"stopped: used {bounds.cpu_s} s of CPU (CPU limit)"
    if limit == "memory":
        return f"failed: ran out of its {bounds.memory_mb} MiB of memory (memory limit)"
    if limit == "processes":
        return f"failed: hit the limit of {bounds.max_processes} processes"
    if code == 0:
        return "exit 0"
    if code == 127:
        return "exit 127: the command could not be started"
    if sig is not None:
        return f"killed by signal {signal.Signals(sig).name}"
    return f"exit {code}"
