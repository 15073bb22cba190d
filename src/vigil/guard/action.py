"""Typed actions: what a proposal asks Vigil to do, each with a base risk and its effect.

An :class:`Action` is a kind and its arguments, validated here (a malformed action is a
:class:`~vigil.errors.ValidationError` and nothing is stored). The kinds::

    run_command        run a command (argv) in a directory                      risk medium*
    rerun              re-run a recorded build or test run (its argv and cwd)  risk low*
    restart_component  restart one of the daemon's supervised components       risk medium
    restart_unit       restart a systemd unit (``systemctl [--user] restart``)  risk high
    revert_file        put a file back to its content at the last green run    risk medium
    open_issue         open an issue or pull request through a webhook         risk medium
    clear_cache        delete the contents of a cache directory in the project risk medium

(*) the policy refines the risk of a command from what it runs: read-only and test tools are
low, anything that deletes or overwrites is high.

Every action carries ``cwd``, the directory it is pinned to (and judged against: paths outside
the project it belongs to are refused by the policy).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vigil.errors import ValidationError

RISKS = ("low", "medium", "high")
RUN_COMMAND = "run_command"
RERUN = "rerun"
RESTART_COMPONENT = "restart_component"
RESTART_UNIT = "restart_unit"
REVERT_FILE = "revert_file"
OPEN_ISSUE = "open_issue"
CLEAR_CACHE = "clear_cache"

MAX_ARGV = 200
MAX_ARG_CHARS = 8192
MAX_TEXT = 20_000
_NAME = re.compile(r"^[A-Za-z0-9_.@:-]{1,200}$")
_REV = re.compile(r"^[0-9a-fA-F]{7,64}$")


@dataclass(frozen=True, slots=True)
class Action:
    """One validated action: ``kind``, normalised ``args`` (JSON), base ``risk``, ``effect``."""

    kind: str
    args: Mapping[str, Any]
    risk: str
    effect: str

    @property
    def cwd(self) -> str:
        return str(self.args.get("cwd") or "")

    @property
    def argv(self) -> list[str] | None:
        """The command this action runs, when it runs one."""
        argv = self.args.get("argv")
        return list(argv) if isinstance(argv, list) else None

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.kind, "args": dict(self.args), "risk": self.risk}


def _text(args: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 500) -> str:
    value = args.get(name)
    if value is None or value == "":
        if required:
            raise ValidationError(f"action argument {name!r} is required")
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"action argument {name!r} must be a string")
    if len(value) > limit:
        raise ValidationError(f"action argument {name!r} is longer than {limit} characters")
    if "\x00" in value:
        raise ValidationError(f"action argument {name!r} contains a NUL character")
    return value


def _cwd(args: Mapping[str, Any]) -> str:
    cwd = _text(args, "cwd", limit=4096)
    if not cwd.startswith("/"):
        raise ValidationError(f"action argument 'cwd' must be an absolute path, got {cwd!r}")
    return cwd


def _argv(args: Mapping[str, Any]) -> list[str]:
    argv = args.get("argv")
    if not isinstance(argv, list | tuple) or not argv:
        raise ValidationError("action argument 'argv' must be a non-empty list of strings")
    if len(argv) > MAX_ARGV:
        raise ValidationError(f"action argument 'argv' has more than {MAX_ARGV} items")
    for item in argv:
        if not isinstance(item, str):
            raise ValidationError("action argument 'argv' must be a list of strings")
        if "\x00" in item or len(item) > MAX_ARG_CHARS:
            raise ValidationError("action argument 'argv' has an item that is too long or has NUL")
    if not argv[0].strip():
        raise ValidationError("action argument 'argv' must start with a command")
    return [str(a) for a in argv]


def _env_keep(args: Mapping[str, Any]) -> list[str]:
    keep = args.get("env_keep") or []
    if not isinstance(keep, list) or not all(
        isinstance(k, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,100}", k) for k in keep
    ):
        raise ValidationError("action argument 'env_keep' must be a list of variable names")
    return list(dict.fromkeys(keep))


def _run_command(args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    argv = _argv(args)
    out: dict[str, Any] = {"argv": argv, "cwd": _cwd(args)}
    keep = _env_keep(args)
    if keep:
        out["env_keep"] = keep
    return out, f"runs `{_line(argv)}` in {out['cwd']}"


def _rerun(args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    argv = _argv(args)
    event_id = _text(args, "event_id", limit=100)
    out = {"event_id": event_id, "argv": argv, "cwd": _cwd(args)}
    return out, f"re-runs `{_line(argv)}` (the run {event_id}) in {out['cwd']}"


def _restart_component(args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    name = _text(args, "component", limit=200)
    if not _NAME.match(name):
        raise ValidationError(f"not a component name: {name!r}")
    out = {"component": name, "cwd": _cwd(args)}
    return out, f"restarts the daemon's component {name} (it resumes from its stored offset)"


def _restart_unit(args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    unit = _text(args, "unit", limit=200)
    if not _NAME.match(unit) or unit.startswith("-"):
        raise ValidationError(f"not a systemd unit name: {unit!r}")
    user = args.get("user", True)
    if not isinstance(user, bool):
        raise ValidationError("action argument 'user' must be true or false")
    out = {"unit": unit, "user": user, "cwd": _cwd(args)}
    scope = "user " if user else "system "
    return out, f"restarts the {scope}systemd unit {unit}"


def _revert_file(args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    path = _text(args, "path", limit=4096)
    source = _text(args, "source", limit=100)
    if not _REV.match(source):
        raise ValidationError(f"action argument 'source' must be a git object id, got {source!r}")
    kind = args.get("source_kind", "blob")
    if kind not in ("blob", "commit"):
        raise ValidationError("action argument 'source_kind' must be 'blob' or 'commit'")
    out = {"path": path, "source": source, "source_kind": kind, "cwd": _cwd(args)}
    if args.get("event_id"):
        out["event_id"] = _text(args, "event_id", limit=100)
    return out, f"overwrites {path} with its content at the last green run ({source[:12]})"


def _open_issue(args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    kind = args.get("kind", "issue")
    if kind not in ("issue", "pull_request"):
        raise ValidationError("action argument 'kind' must be 'issue' or 'pull_request'")
    out = {
        "kind": kind,
        "title": _text(args, "title", limit=300),
        "body": _text(args, "body", required=False, limit=MAX_TEXT),
        "webhook": _text(args, "webhook", limit=200),
        "cwd": _cwd(args),
    }
    what = "an issue" if kind == "issue" else "a pull request"
    return out, f"posts {what} titled {out['title']!r} to the webhook {out['webhook']}"


def _clear_cache(args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    path = _text(args, "path", limit=4096)
    out = {"path": path, "cwd": _cwd(args)}
    return out, f"deletes everything inside the cache directory {path}"


_KINDS: dict[str, tuple[str, Callable[[Mapping[str, Any]], tuple[dict[str, Any], str]]]] = {
    RUN_COMMAND: ("medium", _run_command),
    RERUN: ("low", _rerun),
    RESTART_COMPONENT: ("medium", _restart_component),
    RESTART_UNIT: ("high", _restart_unit),
    REVERT_FILE: ("medium", _revert_file),
    OPEN_ISSUE: ("medium", _open_issue),
    CLEAR_CACHE: ("medium", _clear_cache),
}
KINDS: tuple[str, ...] = tuple(_KINDS)


def parse_action(kind: object, args: object) -> Action:
    """Validate ``kind`` and ``args``; a :class:`ValidationError` says what is wrong."""
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValidationError(f"unknown action {kind!r} (known: {', '.join(KINDS)})")
    if not isinstance(args, Mapping):
        raise ValidationError(f"the arguments of {kind} must be an object")
    allowed = {
        RUN_COMMAND: {"argv", "cwd", "env_keep"},
        RERUN: {"argv", "cwd", "event_id"},
        RESTART_COMPONENT: {"component", "cwd"},
        RESTART_UNIT: {"unit", "user", "cwd"},
        REVERT_FILE: {"path", "source", "source_kind", "cwd", "event_id"},
        OPEN_ISSUE: {"kind", "title", "body", "webhook", "cwd"},
        CLEAR_CACHE: {"path", "cwd"},
    }[kind]
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise ValidationError(f"unknown argument {unknown[0]!r} for {kind}")
    risk, build = _KINDS[kind]
    normalised, effect = build(args)
    return Action(kind=kind, args=normalised, risk=risk, effect=effect)


def _line(argv: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(a) for a in argv)


def command_line(argv: list[str]) -> str:
    """``argv`` as one shell-quoted line (for people to read)."""
    return _line(argv)
