"""Control, wired: the policy from config, the executor, and the daemon's ``control`` component.

The daemon runs :class:`ControlComponent` under the supervisor. On start it settles what a
previous process left: an execution that was started and never finished (the daemon died while
it ran) is recorded as failed and interrupted, its leftover processes are killed, and it is never
run again; overdue proposals are expired. Then it waits for ``action.*`` events (any process's:
the doorbell wakes the bus), or for the next proposal to expire on its clock, and runs approved
proposals one at a time on a worker thread, beating while they run and stopping them (recorded
as failed) when the daemon shuts down.

With the daemon down, ``vigil approve`` runs the proposal in the CLI process itself, within the
same bounds (:func:`run_inline`); the claim in the database keeps the two from both running it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.clock import Clock, parse_iso
from vigil.config import environment, secret_variables, user_home
from vigil.errors import ValidationError, VigilError
from vigil.events.bus import EventBus, Outcome
from vigil.events.model import Event
from vigil.guard.control import Change, Control
from vigil.guard.executor import Executor, alive, kill_leftovers
from vigil.guard.policy import Policy, PolicyConfig
from vigil.guard.requests import request_fields, resolve
from vigil.guard.runner import ActionRunner
from vigil.reasoning.tools import Proposer
from vigil.reliability.supervisor import Beat

if TYPE_CHECKING:
    from vigil.app import Vigil

log = logging.getLogger("vigil.control")

REQUESTS_CONSUMER = "control.requests"
BEAT_EVERY_S = 5.0


def build_policy(vigil: Vigil) -> Policy:
    return Policy(PolicyConfig.from_table(vigil.settings.control), user_home())


def build_control(
    vigil: Vigil, *, source: str, on_stored: Callable[[], None] | None = None
) -> Control:
    return Control(
        vigil.db,
        vigil.log,
        vigil.receipts,
        build_policy(vigil),
        vigil.clock,
        source=source,
        on_stored=on_stored,
    )


def build_runner(
    control: Control, clock: Clock, restart_component: Callable[[str], str] | None = None
) -> ActionRunner:
    executor = Executor(
        control.policy.config.bounds,
        environ=environment(),
        secrets=set(secret_variables()),
        clock=clock,
    )
    return ActionRunner(control, executor, restart_component=restart_component)


def still_running(runner: Mapping[str, Any]) -> bool:
    """Whether the process that claimed an execution is alive (on this machine)."""
    return runner.get("host") == socket.gethostname() and alive(
        runner.get("pid"), runner.get("pid_start")
    )


def recover(control: Control) -> list[Change]:
    """Record executions a dead process left unfinished; kill what they left running."""
    for proposal in control.store.unfinished():
        if not still_running(dict(proposal.runner or {})):
            kill_leftovers(dict(proposal.runner or {}))
    return control.recover(still_running)


def run_inline(vigil: Vigil, proposal_id: str) -> Change:
    """Run an approved proposal here and now (``vigil approve`` with the daemon down)."""
    runner = build_runner(vigil.control, vigil.clock)
    return runner.run(proposal_id)


def model_proposer(vigil: Vigil, project_dir: Path) -> Proposer:
    """What ``propose_action`` calls: a model's proposal, judged, stored, never approved."""
    from vigil.guard.action import CLEAR_CACHE, OPEN_ISSUE, RERUN, RESTART_COMPONENT, RUN_COMMAND

    def propose(
        action: str,
        command: str,
        target: str | None,
        why: str,
        evidence: list[str],
        read: dict[str, str],
    ) -> dict[str, Any]:
        cwd = str(project_dir)
        args: dict[str, Any]
        if action == RUN_COMMAND:
            try:
                argv = shlex.split(command)
            except ValueError as exc:
                raise ValidationError(f"cannot split the command: {exc}") from None
            args = {"argv": argv, "cwd": cwd}
        elif action == RERUN:
            args = resolve(vigil.log, RERUN, {"event_id": target or "latest"})  # type: ignore[assignment]
        elif action == CLEAR_CACHE:
            args = {"path": target or "", "cwd": cwd}
        elif action == RESTART_COMPONENT:
            args = {"component": target or "", "cwd": cwd}
        elif action == OPEN_ISSUE:
            args = {"kind": "issue", "title": target or "", "body": why, "webhook": "issues"}
            args["cwd"] = cwd
        else:
            raise ValidationError(f"unknown action {action!r}")
        events = [e for e in evidence if e.startswith("ev_")]
        knowledge = [e for e in evidence if e.startswith("kb_")]
        change = vigil.control.propose(
            action,
            args,
            why=why,
            evidence={"events": events, "knowledge": knowledge},
            proposer="model",
            read=read,
        )
        proposal = change.proposal
        return {
            "proposal_id": proposal.id,
            "status": proposal.status,
            "policy": decision_summary(proposal.policy),
            "note": "Nothing runs until a person approves it; you cannot approve it.",
        }

    return propose


def decision_summary(policy: Mapping[str, Any]) -> str:
    if policy.get("decision") == "allow":
        return f"allowed ({policy.get('risk')} risk), waiting for a person"
    return "denied: " + "; ".join(policy.get("reasons") or [])


def requests_handler(control: Control) -> Callable[[Event], Outcome | None]:
    """The ``control.requests`` consumer: ``action.requested`` -> a judged proposal."""

    def handle(event: Event) -> Outcome | None:
        fields = request_fields(event)
        args = resolve(control.log, event.data.get("action"), event.data.get("args"))
        proposal, events, receipt = control.prepare(event.data.get("action"), args, **fields)
        return Outcome(events=events, apply=control.handler_outcome(proposal, receipt))

    return handle


class ControlComponent:
    """The daemon's executor of approved proposals and expirer of overdue ones."""

    def __init__(self, control: Control, runner: ActionRunner, bus: EventBus, clock: Clock) -> None:
        self.control = control
        self.runner = runner
        self.bus = bus
        self.clock = clock
        self.wakeup = asyncio.Event()
        self.executed = 0

    async def __call__(self, beat: Beat) -> None:
        unsubscribe = self.bus.subscribe(("action.*",), lambda _event: self.wakeup.set())
        try:
            await self.bus.db.call(recover, self.control)
            while True:
                beat()
                self.wakeup.clear()
                await self.step(beat)
                await self._wait()
        finally:
            unsubscribe()

    async def step(self, beat: Callable[[], None] | None = None) -> None:
        """Expire what is overdue, then run every approved proposal (one at a time)."""
        await self.bus.db.call(self.control.expire_due)
        ready = await self.bus.db.call(self.control.store.ready)
        for proposal in ready:
            await self._run(proposal.id, beat)

    async def _run(self, proposal_id: str, beat: Callable[[], None] | None) -> None:
        cancel = threading.Event()
        task = asyncio.ensure_future(asyncio.to_thread(self._run_one, proposal_id, cancel))
        try:
            while not task.done():
                if beat is not None:
                    beat()
                await asyncio.wait({task}, timeout=1.0)
        except asyncio.CancelledError:
            cancel.set()  # the daemon stops: the command is stopped and recorded as failed
            with contextlib.suppress(Exception):
                await asyncio.shield(task)
            raise
        task.result()

    def _run_one(self, proposal_id: str, cancel: threading.Event) -> None:
        try:
            change = self.runner.run(proposal_id, cancel)
        except VigilError as exc:  # taken by another process, or changed meanwhile
            log.info("proposal not run", extra={"proposal": proposal_id, "error": str(exc)})
            return
        self.executed += change.proposal.status in ("executed", "failed")
        log.info(
            "proposal finished",
            extra={"proposal": proposal_id, "status": change.proposal.status},
        )

    async def _wait(self) -> None:
        timeout = BEAT_EVERY_S
        upcoming = await self.bus.db.call(self.control.store.next_expiry)
        if upcoming is not None:
            left = (parse_iso(upcoming) - self.clock.now()).total_seconds()
            timeout = max(0.0, min(timeout, left + 0.001))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.wakeup.wait()


def next_expiry_in(control: Control, now: datetime) -> float | None:
    """Seconds until the next pending proposal expires (``None``: nothing pending)."""
    upcoming = control.store.next_expiry()
    return None if upcoming is None else (parse_iso(upcoming) - now).total_seconds()
