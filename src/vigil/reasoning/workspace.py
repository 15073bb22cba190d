"""What the reasoning layer may read: the :class:`Workspace` protocol and :class:`StoreWorkspace`.

Tools (``tools.py``) and the rules provider (``providers/rules.py``) read Vigil's state only
through a :class:`Workspace`; every method is read-only and returns plain JSON-able values, small
enough to hand to a model (compact event summaries, output tails cut to their last lines, bounded
git patches).

:class:`StoreWorkspace` implements it over the event log, the knowledge base and the run history.
The composition root wires it::

    StoreWorkspace(
        log=vigil.log, knowledge=vigil.knowledge, history=vigil.history,
        git_log=lambda limit: [...],             # newest first: {sha, subject, author, time}
        git_diff=lambda rev, path: {...},        # {rev, stat, patch} for ``git diff rev [-- path]``
        project_dir=Path.cwd(), log_dir=settings.log_dir,
        daemon_running=lambda: ...,
    )

Layering note: ``vigil.memory`` and ``vigil.reasoning`` are independent siblings in the import
contract, so the knowledge base and the run history are typed here by the small structural
protocols :class:`KnowledgeReader` and :class:`RunsReader` (``KnowledgeBase`` and ``RunHistory``
satisfy them) rather than imported. ``project_state`` reads the ``runs`` projection (owned by
``vigil.memory.history``) through the history's database handle.

Safety: ``log_tail`` reads only regular files under ``project_dir`` or ``log_dir`` (after
resolving symlinks), never well-known secret files (``.env``, keys); ``git_diff`` refuses a
revision or path that could be read as a git option. Text read from files or git is redacted
with the process's :class:`~vigil.storage.Redactor` (events are redacted when stored).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from vigil.clock import isoformat, parse_since
from vigil.errors import NotFoundError, UsageError
from vigil.events.catalog import BUILD_RUN_FAILED, BUILD_RUN_PASSED, TRIAGE_COMPLETED
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event
from vigil.storage import Database, Redactor

OUTPUT_TAIL_LINES = 40  # lines of a run's output ``get_event`` keeps
MAX_STRING = 1000  # characters of any other string in a full event
MAX_ITEMS = 20  # items of any list in a full event
SUMMARY_CHARS = 160  # one-line summaries in ``recent_events``
PATCH_CHARS = 3000  # characters of a ``git_diff`` patch
RUN_WINDOW = 5000  # the most recent runs ``project_state`` aggregates

_TYPE_PATTERN = re.compile(r"^[a-z0-9_.*?-]{1,100}$")
_REV = re.compile(r"^[A-Za-z0-9_./~^@{}:+-]{1,100}$")
_SECRET_FILES = re.compile(
    r"(^\.env(\..*)?$|^\.netrc$|^\.pgpass$|^id_[a-z0-9]+$|\.(pem|key|p12|pfx|kdbx|keystore)$"
    r"|^credentials(\.json)?$|^secrets?\.(json|ya?ml|toml)$)",
    re.IGNORECASE,
)


class Dictable(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class KnowledgeReader(Protocol):
    """What the workspace reads from the knowledge base (``vigil.memory.KnowledgeBase``)."""

    def search(self, query: str, limit: int = ...) -> Sequence[Dictable]: ...

    def count(self) -> int: ...


class RunsReader(Protocol):
    """The run history (``vigil.memory.history.RunHistory``): its database holds ``runs``."""

    @property
    def db(self) -> Database: ...


class Workspace(Protocol):
    """Read-only views of Vigil's state, as plain JSON-able values."""

    def project_state(self) -> dict[str, Any]:
        """Home, daemon up, counts, latest run per command, open failures with their triage."""
        ...

    def search_knowledge(self, query: str, limit: int = 5) -> list[dict[str, Any]]:
        """Knowledge entries matching ``query``, best first (id, kind, title, snippet...)."""
        ...

    def recent_events(
        self, type_pattern: str = "*", limit: int = 20, since: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest events first, compact: id, type, time, subject and a one-line summary."""
        ...

    def get_event(self, event_id: str) -> dict[str, Any]:
        """One event in full, its ``output_tail`` cut to its last lines."""
        ...

    def triage_of(self, event_id: str | None = None) -> dict[str, Any]:
        """The diagnosis of a failure (by failure or triage id), or of the latest failure."""
        ...

    def log_tail(self, path: str, lines: int = 50) -> dict[str, Any]:
        """The last lines of a file under the project directory or Vigil's log directory."""
        ...

    def git_log(self, limit: int = 10) -> list[dict[str, Any]]:
        """Recent commits, newest first."""
        ...

    def git_diff(self, rev: str = "HEAD", path: str | None = None) -> dict[str, Any]:
        """Diff stat and a bounded patch of the working tree against ``rev``."""
        ...


# -- shaping values for a model ----------------------------------------------------------------


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with a note of how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f" [... {len(text) - limit} more characters]"


def one_line(text: str, limit: int = SUMMARY_CHARS) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def last_lines(text: str, count: int) -> tuple[str, int]:
    """The last ``count`` lines of ``text`` and how many earlier lines were left out."""
    lines = text.splitlines()
    if len(lines) <= count:
        return text, 0
    return "\n".join(lines[-count:]), len(lines) - count


def bounded(value: Any, max_string: int = MAX_STRING, max_items: int = MAX_ITEMS) -> Any:
    """``value`` with every string and list cut to size (for JSON a model reads)."""
    if isinstance(value, str):
        return clip(value, max_string)
    if isinstance(value, Mapping):
        return {str(k): bounded(v, max_string, max_items) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [bounded(v, max_string, max_items) for v in value[:max_items]]
        if len(value) > max_items:
            items.append(f"[... {len(value) - max_items} more items]")
        return items
    return value


def summary_of(event: Event) -> str:
    """One line that says what an event is about, without its output."""
    data = event.data
    subject = event.subject or str(data.get("command") or "")
    if event.type in (BUILD_RUN_FAILED, BUILD_RUN_PASSED):
        status = "failed" if event.type == BUILD_RUN_FAILED else "passed"
        exit_code = data.get("exit_code")
        seconds = float(data.get("duration_ms") or 0) / 1000
        text = f"{subject} {status}"
        if event.type == BUILD_RUN_FAILED:
            text += f" (exit {exit_code})"
        return one_line(f"{text} in {seconds:.1f} s")
    if event.type == TRIAGE_COMPLETED:
        text = str(data.get("summary") or "")
        history = data.get("history") or {}
        if isinstance(history, Mapping):
            if history.get("seen"):
                text += f"; seen {history['seen']} times before"
            if history.get("flaky"):
                text += "; flaky"
        fixes = data.get("known_fixes") or []
        if fixes:
            text += f"; {len(fixes)} known fix{'es' if len(fixes) != 1 else ''}"
        return one_line(text)
    if event.type == "build.run.started":
        return one_line(f"started {subject}")
    if "title" in data:
        return one_line(f"{data.get('title')} {data.get('entry_id') or ''}".strip())
    scalars = [
        f"{k}={v}" for k, v in data.items() if isinstance(v, str | int | float | bool) and v != ""
    ]
    return one_line(", ".join(scalars[:6]) or subject or event.type)


def compact(event: Event) -> dict[str, Any]:
    """An event as ``recent_events`` lists it."""
    item: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "time": event.time,
        "subject": event.subject,
        "summary": summary_of(event),
    }
    if event.causation_id:
        item["cause"] = event.causation_id
    return item


def full(event: Event, tail_lines: int = OUTPUT_TAIL_LINES) -> dict[str, Any]:
    """An event as ``get_event`` shows it: everything, within bounds."""
    shown = event.to_dict()
    data = dict(event.data)
    tail = data.get("output_tail")
    if isinstance(tail, str):
        kept, dropped = last_lines(tail, tail_lines)
        data["output_tail"] = "\n".join(clip(line, 300) for line in kept.splitlines())
        if dropped:
            data["output_tail_lines_omitted"] = dropped
    shown["data"] = {
        k: v if k == "output_tail" else bounded(v) for k, v in data.items() if k != "git"
    }
    git = data.get("git")
    if isinstance(git, Mapping):  # blobs and long dirty lists say little to a reader
        shown["data"]["git"] = {
            k: bounded(git.get(k), max_items=10) for k in ("branch", "head", "dirty", "root")
        }
    return shown


def diagnosis_view(triage: Event, failure: Event | None) -> dict[str, Any]:
    """A ``triage.completed`` event as a model needs it: facts, ids, no bulk."""
    data = triage.data
    fixes = [
        {
            key: (clip(str(fix.get(key) or ""), 300) if key == "body" else fix.get(key))
            for key in ("id", "title", "kind", "status", "confidence", "match", "body")
        }
        for fix in (data.get("known_fixes") or [])[:5]
        if isinstance(fix, Mapping)
    ]
    suspects = [
        {key: s.get(key) for key in ("path", "score", "reasons", "committed", "commits")}
        for s in (data.get("suspects") or [])[:5]
        if isinstance(s, Mapping)
    ]
    since = data.get("since_pass")
    if isinstance(since, Mapping):
        since = {
            "event_id": since.get("event_id"),
            "time": since.get("time"),
            "head": since.get("head"),
            "commits": list(since.get("commits") or [])[:5],
        }
    view: dict[str, Any] = {
        "triage_id": triage.id,
        "failure_id": triage.causation_id,
        "command": triage.subject,
        "time": triage.time,
        "summary": data.get("summary"),
        "fingerprint": triage.fingerprint or data.get("fingerprint"),
        "failures": bounded(list(data.get("failures") or [])[:5], max_string=300),
        "known_fixes": fixes,
        "suspects": suspects,
        "history": data.get("history"),
        "since_pass": since,
        "notes": bounded(list(data.get("notes") or []), max_string=300, max_items=5),
    }
    if failure is not None:
        view["exit_code"] = failure.data.get("exit_code")
        view["cwd"] = failure.data.get("cwd")
    return view


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, int(value)))


class StoreWorkspace:
    """A :class:`Workspace` over the stores, with git and the daemon check injected."""

    def __init__(
        self,
        *,
        log: SqliteEventLog,
        knowledge: KnowledgeReader,
        history: RunsReader,
        git_log: Callable[[int], list[dict[str, Any]]],
        git_diff: Callable[[str, str | None], dict[str, Any]],
        project_dir: Path,
        log_dir: Path,
        daemon_running: Callable[[], bool],
        redactor: Redactor | None = None,
    ) -> None:
        self.log = log
        self.knowledge = knowledge
        self.history = history
        self._git_log = git_log
        self._git_diff = git_diff
        self.project_dir = project_dir
        self.log_dir = log_dir
        self._daemon_running = daemon_running
        self._redactor = redactor

    @property
    def redactor(self) -> Redactor:
        if self._redactor is None:
            self._redactor = Redactor.from_environment()
        return self._redactor

    # -- state ---------------------------------------------------------------------------------

    def project_state(self) -> dict[str, Any]:
        commands = self._commands()
        failing = [c for c in commands if c["status"] == "failed"]
        triages = self._triages_of([c["event_id"] for c in failing[:5]])
        open_failures = []
        for command in failing[:5]:
            item: dict[str, Any] = {
                "command": command["command"],
                "event_id": command["event_id"],
                "triage_id": None,
            }
            triage = triages.get(command["event_id"])
            if triage is None:
                item["summary"] = "not triaged yet"
            else:
                data = triage.data
                history = data.get("history")
                if not isinstance(history, Mapping):
                    history = {}
                item.update(
                    triage_id=triage.id,
                    summary=one_line(str(data.get("summary") or ""), 200),
                    fingerprint=triage.fingerprint,
                    seen_before=history.get("seen", 0),
                    flaky=bool(history.get("flaky")),
                    known_fixes=[
                        {"id": f.get("id"), "title": one_line(str(f.get("title")), 80)}
                        for f in (data.get("known_fixes") or [])[:3]
                        if isinstance(f, Mapping)
                    ],
                    suspects=[
                        s.get("path")
                        for s in (data.get("suspects") or [])[:3]
                        if isinstance(s, Mapping)
                    ],
                )
            open_failures.append(item)
        project = str(self.project_dir)
        for command in commands:  # the directory only when it is not the project's
            if command["cwd"] == project:
                del command["cwd"]
        latest = self.log.find(limit=1)
        return {
            "home": str(self.log.db.path.parent),
            "project_dir": project,
            "daemon_running": bool(self._daemon_running()),
            "counts": {
                "events": self.log.last_seq(),
                "runs": sum(c["runs"] for c in commands),
                "failed_runs": sum(c["failures"] for c in commands),
                "knowledge": self.knowledge.count(),
            },
            "latest_event": compact(latest[0]) if latest else None,
            "commands": commands[:10],
            "open_failures": open_failures,
        }

    def _commands(self) -> list[dict[str, Any]]:
        """Latest run per (command, directory), most recent first, over the last runs."""
        rows = self.history.db.query(
            "SELECT event_id, subject, cwd, status, time FROM runs ORDER BY seq DESC LIMIT ?",
            (RUN_WINDOW,),
        )
        commands: dict[tuple[str | None, str | None], dict[str, Any]] = {}
        for event_id, subject, cwd, status, time in rows:
            key = (subject, cwd)
            command = commands.get(key)
            if command is None:
                command = commands[key] = {
                    "command": subject,
                    "cwd": cwd,
                    "status": status,
                    "event_id": event_id,
                    "time": time,
                    "runs": 0,
                    "failures": 0,
                    "recent": "",
                }
            command["runs"] += 1
            command["failures"] += status == "failed"
            if len(command["recent"]) < 10:  # newest first: P passed, F failed
                command["recent"] += "F" if status == "failed" else "P"
        return list(commands.values())

    def _triages_of(self, failure_ids: Sequence[str]) -> dict[str, Event]:
        if not failure_ids:
            return {}
        marks = ",".join("?" for _ in failure_ids)
        found: dict[str, Event] = {}
        for event_id in self.log.db.query(
            f"SELECT id FROM events WHERE type = ? AND causation_id IN ({marks})",
            (TRIAGE_COMPLETED, *failure_ids),
        ):
            triage = self.log.get(event_id[0])
            found.setdefault(str(triage.causation_id), triage)
        return found

    # -- knowledge -----------------------------------------------------------------------------

    def search_knowledge(self, query: str, limit: int = 5) -> list[dict[str, Any]]:
        hits = self.knowledge.search(query, limit=_clamp(limit, 1, 20))
        results = []
        for hit in hits:
            entry = hit.to_dict()
            results.append(
                {
                    "id": entry.get("id"),
                    "kind": entry.get("kind"),
                    "title": entry.get("title"),
                    "status": entry.get("status"),
                    "confidence": entry.get("confidence"),
                    "tags": entry.get("tags"),
                    "score": entry.get("score"),
                    "snippet": clip(str(entry.get("snippet") or ""), 300),
                    "body": clip(str(entry.get("body") or ""), 500),
                }
            )
        return results

    # -- events --------------------------------------------------------------------------------

    def recent_events(
        self, type_pattern: str = "*", limit: int = 20, since: str | None = None
    ) -> list[dict[str, Any]]:
        patterns = [p.strip() for p in type_pattern.split(",") if p.strip()] or ["*"]
        for pattern in patterns:
            if not _TYPE_PATTERN.match(pattern):
                raise UsageError(
                    f"invalid type pattern {pattern!r}: use event types or globs like build.*"
                )
        start = None
        if since:
            start = isoformat(parse_since(since, self.log.clock.now()))
        events = self.log.find(patterns=patterns, since=start, limit=_clamp(limit, 1, 50))
        return [compact(e) for e in events]

    def get_event(self, event_id: str) -> dict[str, Any]:
        return full(self.log.get(event_id.strip()))

    def triage_of(self, event_id: str | None = None) -> dict[str, Any]:
        if event_id:
            event = self.log.get(event_id.strip())
        else:
            latest = self.log.find(patterns=[BUILD_RUN_FAILED], limit=1)
            if not latest:
                return {"note": "no failed run is recorded yet"}
            event = latest[0]
        if event.type == TRIAGE_COMPLETED:
            failure = None
            if event.causation_id:
                try:
                    failure = self.log.get(event.causation_id)
                except NotFoundError:
                    failure = None
            return diagnosis_view(event, failure)
        if event.type != BUILD_RUN_FAILED:
            raise UsageError(f"{event.id} is a {event.type} event, not a failed run")
        found = self.log.find(patterns=[TRIAGE_COMPLETED], causation_id=event.id, limit=1)
        if not found:
            return {
                "failure_id": event.id,
                "command": event.subject,
                "time": event.time,
                "exit_code": event.data.get("exit_code"),
                "note": "this failure has not been triaged yet",
            }
        return diagnosis_view(found[0], event)

    # -- files and git -------------------------------------------------------------------------

    def log_tail(self, path: str, lines: int = 50) -> dict[str, Any]:
        target = self._readable(path)
        count = _clamp(lines, 1, 200)
        size = target.stat().st_size
        with target.open("rb") as handle:
            handle.seek(max(0, size - 256 * 1024))
            raw = handle.read()
        text, _ = last_lines(raw.decode("utf-8", errors="replace"), count)
        text = "\n".join(clip(line, 500) for line in text.splitlines())
        return {"path": str(target), "bytes": size, "lines": count, "text": self._redact(text)}

    def _readable(self, path: str) -> Path:
        """``path`` resolved, if it is a regular file this workspace may read."""
        if not path or "\x00" in path:
            raise UsageError("log_tail needs a file path")
        raw = Path(path).expanduser()
        candidate = raw if raw.is_absolute() else self.project_dir / raw
        resolved = candidate.resolve()
        roots = [self.project_dir.resolve(), self.log_dir.resolve()]
        if not any(resolved.is_relative_to(root) for root in roots):
            raise UsageError(
                f"refused: {path} is outside the project directory and Vigil's log directory"
            )
        inside = next(root for root in roots if resolved.is_relative_to(root))
        if _SECRET_FILES.search(resolved.name) or ".git" in resolved.relative_to(inside).parts:
            raise UsageError(f"refused: {path} may hold secrets or git internals")
        if not resolved.is_file():
            raise NotFoundError(f"no file {path}")
        return resolved

    def git_log(self, limit: int = 10) -> list[dict[str, Any]]:
        commits = self._git_log(_clamp(limit, 1, 30))
        return [bounded(dict(c), max_string=300) for c in commits[:30]]

    def git_diff(self, rev: str = "HEAD", path: str | None = None) -> dict[str, Any]:
        rev = rev.strip() or "HEAD"
        if rev.startswith("-") or not _REV.match(rev):
            raise UsageError(f"invalid revision {rev!r}")
        if path is not None:
            path = path.strip() or None
        if path is not None:
            if path.startswith("-") or "\x00" in path:
                raise UsageError(f"invalid path {path!r}")
            resolved = (self.project_dir / path).resolve()
            if not resolved.is_relative_to(self.project_dir.resolve()):
                raise UsageError(f"refused: {path} is outside the project directory")
        result = dict(self._git_diff(rev, path))
        for key, limit in (("patch", PATCH_CHARS), ("stat", 2000)):
            value = result.get(key)
            if isinstance(value, str):
                result[key] = clip(self._redact(value), limit)
        return result

    def _redact(self, text: str) -> str:
        return self.redactor.redact(text)


def dumps(value: Any) -> str:
    """Compact JSON for a model (non-ASCII kept, unknown objects as strings)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def ids_in(values: Iterable[str]) -> list[str]:
    """Event and knowledge ids found in ``values``, in order of first appearance."""
    seen: dict[str, None] = {}
    for text in values:
        for match in ID_PATTERN.finditer(text):
            seen.setdefault(match.group(0))
    return list(seen)


ID_PATTERN = re.compile(r"\b(?:ev|kb)_[0-9A-HJKMNP-TV-Z]{26}\b")
