"""The seam for other parts that want an action: ``action.requested`` and its helpers.

Any part of Vigil (a handler such as triage's "re-run the failed test", the voice intent
``run_tests``, a webhook) asks for an action by publishing ``action.requested``::

    {"type": "action.requested",
     "data": {"action": "rerun", "args": {"event_id": "ev_..."},
              "why": "re-run the failed test", "proposer": "voice",
              "evidence": {"events": ["ev_..."]}}}

The guard's durable consumer (``control.requests`` in the daemon, or inline with
:func:`request_inline`) fills in what the request left out (a ``rerun`` names only the run it
repeats: its argv and directory come from that run's event), judges it with the policy, and
records ``action.proposed`` (pending, or ``action.denied`` at once) whose cause is the request.
Nobody but a person approves it. Producers that live in this process can call
:func:`rerun_args` and :meth:`Control.propose` directly instead.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from vigil.errors import NotFoundError, ValidationError
from vigil.events.catalog import BUILD_RUN_FAILED, BUILD_RUN_PASSED
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event
from vigil.guard import action as kinds

RUN_TYPES = (BUILD_RUN_FAILED, BUILD_RUN_PASSED)


def rerun_args(run: Event) -> dict[str, Any]:
    """The ``rerun`` arguments that repeat ``run`` (a ``build.run.*`` event)."""
    if run.type not in RUN_TYPES:
        raise ValidationError(f"{run.id} is a {run.type}, not a recorded run to repeat")
    data = run.data
    argv = data.get("argv")
    if not isinstance(argv, list) or not argv:
        command = data.get("command")
        if not isinstance(command, str) or not command.strip():
            raise ValidationError(f"{run.id} does not say what command it ran")
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ValidationError(f"{run.id}: cannot split its command ({exc})") from None
    cwd = data.get("cwd")
    if not isinstance(cwd, str) or not cwd:
        raise ValidationError(f"{run.id} does not say where it ran")
    return {"event_id": run.id, "argv": [str(a) for a in argv], "cwd": cwd}


def latest_run(log: SqliteEventLog, *, failed: bool = True) -> Event:
    """The most recent failed (or any) recorded run."""
    types = (BUILD_RUN_FAILED,) if failed else RUN_TYPES
    found = log.find(patterns=types, limit=1)
    if not found:
        raise NotFoundError("no recorded run to repeat")
    return found[0]


def resolve(log: SqliteEventLog, kind: object, args: object) -> object:
    """``args`` with what a request may leave out filled in (a ``rerun``'s argv and cwd)."""
    if kind == kinds.RERUN and isinstance(args, Mapping) and "argv" not in args:
        event_id = args.get("event_id")
        if not isinstance(event_id, str):
            raise ValidationError("a rerun request names the run to repeat (args.event_id)")
        run = latest_run(log) if event_id == "latest" else log.get(event_id)
        return rerun_args(run)
    return args


def request_fields(event: Event) -> dict[str, Any]:
    """The keyword arguments of :meth:`Control.prepare` that an ``action.requested`` carries."""
    data = event.data
    proposer = data.get("proposer") or f"event:{event.source}"
    if not isinstance(proposer, str) or proposer.lower().startswith(("person", "config")):
        proposer = f"event:{event.source}"  # a request never speaks for a person
    fields: dict[str, Any] = {
        "why": data.get("why", ""),
        "evidence": data.get("evidence") or {},
        "proposer": proposer[:100],
        "cause": event,
    }
    if data.get("expires_s") is not None:
        fields["expires_s"] = data["expires_s"]
    return fields
