"""Proposals through their life on a real SQLite file with the fake clock: who may decide,
expiry, the policy again at execution, limits, the events' chain, requests, and recovery."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from vigil.app import Vigil
from vigil.app.control import build_runner, recover, requests_handler
from vigil.config import Settings
from vigil.errors import NotFoundError, ValidationError
from vigil.events.bus import run_handler
from vigil.guard.control import Control, ProposalStateError
from vigil.guard.proposals import Approver
from vigil.testing import FakeClock

ALICE = Approver(by="alice", via="cli")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    return root


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def open_vigil(settings: Settings, clock: FakeClock, **control: Any) -> Vigil:

    vigil = Vigil(settings.replace(control=control), clock)
    vigil.on_stored = lambda: None
    vigil.ensure_schema()
    return vigil


def propose(control: Control, project: Path, argv: list[str], **options: Any) -> Any:
    return control.propose("run_command", {"argv": argv, "cwd": str(project)}, **options).proposal


def events(vigil: Vigil, pattern: str = "*") -> list[Any]:
    return vigil.log.find(patterns=(pattern,), newest_first=False, limit=500)


def test_a_proposal_waits_for_a_person_and_runs_once(
    settings: Settings, clock: FakeClock, project: Path
) -> None:
    """Proposed, approved by a person, executed once; approving again changes nothing."""
    with open_vigil(settings, clock) as vigil:
        proposal = propose(vigil.control, project, ["echo", "hi"], why="say hi")
        assert proposal.status == "pending" and proposal.expires_at > proposal.created
        approved = vigil.control.approve(proposal.id, ALICE).proposal
        assert (approved.status, approved.decided_by, approved.decided_via) == (
            "approved",
            "alice",
            "cli",
        )
        runner = build_runner(vigil.control, clock)
        done = runner.run(proposal.id).proposal
        assert done.status == "executed" and done.result["output_tail"] == "hi\n"
        with pytest.raises(ProposalStateError, match="already executed"):
            vigil.control.approve(proposal.id, ALICE)
        with pytest.raises(ProposalStateError):
            runner.run(proposal.id)
        types = [e.type for e in events(vigil, "action.*")]
        assert types == ["action.proposed", "action.approved", "action.executed"]


def test_the_chain_of_events_links_cause_to_effect(
    settings: Settings, clock: FakeClock, project: Path
) -> None:
    """Each action event names the one before as its cause and they share a correlation."""
    with open_vigil(settings, clock) as vigil:
        failure = vigil.publish(
            [
                vigil.event(
                    "build.run.failed",
                    {
                        "command": "pytest",
                        "cwd": str(project),
                        "exit_code": 1,
                        "duration_ms": 1.0,
                        "output_tail": "E boom",
                    },
                )
            ]
        )[0]
        proposal = vigil.control.propose(
            "run_command", {"argv": ["echo"], "cwd": str(project)}, cause=failure
        ).proposal
        vigil.control.approve(proposal.id, ALICE)
        build_runner(vigil.control, clock).run(proposal.id)
        proposed, approved, executed = events(vigil, "action.*")
        assert proposed.causation_id == failure.id
        assert approved.causation_id == proposed.id and executed.causation_id == approved.id
        assert {proposed.correlation_id, approved.correlation_id, executed.correlation_id} == {
            failure.id
        }
        assert proposal.evidence["events"] == [failure.id]


def test_only_a_person_approves(settings: Settings, clock: FakeClock, project: Path) -> None:
    """A model, the policy or an unknown channel cannot approve; nothing changes."""
    with open_vigil(settings, clock) as vigil:
        proposal = propose(vigil.control, project, ["echo"], proposer="model")
        for approver in (
            Approver("model", "cli"),
            Approver("model:groq", "api"),
            Approver("bob", "model"),
        ):
            with pytest.raises(ValidationError):
                vigil.control.approve(proposal.id, approver)
        assert vigil.control.store.get(proposal.id).status == "pending"
        assert (
            vigil.control.approve(proposal.id, Approver("alice", "dashboard")).proposal.decided_via
            == "dashboard"
        )


def test_expiry_on_the_clock_counts_as_denied(
    settings: Settings, clock: FakeClock, project: Path
) -> None:
    """A pending proposal expires at its time (default 30 minutes), asks for a notification,
    and can no longer be approved."""
    with open_vigil(settings, clock) as vigil:
        proposal = propose(vigil.control, project, ["echo"])
        clock.advance(29 * 60)
        assert vigil.control.expire_due() == []
        clock.advance(61)
        (change,) = vigil.control.expire_due()
        assert change.proposal.status == "expired"
        expired, notice = change.events
        assert expired.type == "action.expired" and notice.type == "notification.requested"
        assert notice.causation_id == expired.id and notice.data["severity"] in ("info", "warning")
        assert {"title", "body", "severity"} <= set(notice.data)
        before = events(vigil)
        with pytest.raises(ProposalStateError, match="expired"):
            vigil.control.approve(proposal.id, ALICE)
        assert events(vigil) == before  # nothing changed
        assert vigil.control.expire_due() == []  # expired once


def test_approving_an_overdue_proposal_expires_it_instead(
    settings: Settings, clock: FakeClock, project: Path
) -> None:
    """With nobody having expired it yet, approving after its time fails: it expired."""
    with open_vigil(settings, clock) as vigil:
        proposal = propose(vigil.control, project, ["echo"], expires_s=60)
        clock.advance(61)
        with pytest.raises(ProposalStateError, match="expired"):
            vigil.control.approve(proposal.id, ALICE)
        assert vigil.control.store.get(proposal.id).status == "expired"


def test_denied_proposals_stay_denied(settings: Settings, clock: FakeClock, project: Path) -> None:
    """A denied proposal (by a person or by the policy) cannot be approved."""
    with open_vigil(settings, clock) as vigil:
        by_person = propose(vigil.control, project, ["echo"])
        vigil.control.deny(by_person.id, ALICE, why="not now")
        by_policy = propose(vigil.control, project, ["sudo", "reboot"])
        assert by_policy.status == "denied" and "sudo" in by_policy.decision_why
        for proposal_id in (by_person.id, by_policy.id):
            with pytest.raises(ProposalStateError, match="denied"):
                vigil.control.approve(proposal_id, ALICE)
        with pytest.raises(NotFoundError):
            vigil.control.approve("pr_does_not_exist", ALICE)


def test_malformed_actions_store_nothing(
    settings: Settings, clock: FakeClock, project: Path
) -> None:
    """An unknown action, missing or wrong arguments: a ValidationError and nothing stored."""
    with open_vigil(settings, clock) as vigil:
        bad: list[tuple[object, object]] = [
            ("launch", {}),
            ("run_command", {"argv": [], "cwd": str(project)}),
            ("run_command", {"argv": "ls", "cwd": str(project)}),
            ("run_command", {"argv": ["ls"], "cwd": "relative"}),
            ("run_command", {"argv": ["ls"], "cwd": str(project), "extra": 1}),
            ("rerun", {"cwd": str(project)}),
        ]
        for kind, args in bad:
            with pytest.raises(ValidationError):
                vigil.control.propose(kind, args)
        assert vigil.control.store.find(include_all=True) == [] and events(vigil) == []


def test_policy_is_checked_again_at_execution(
    settings: Settings, clock: FakeClock, project: Path
) -> None:
    """A proposal approved under one config and run under a stricter one is denied then."""
    with open_vigil(settings, clock, allow_commands=["mytool"]) as vigil:
        proposal = propose(vigil.control, project, ["mytool", "--go"])
        vigil.control.approve(proposal.id, ALICE)
    with open_vigil(settings, clock) as vigil:  # the person removed mytool from the config
        change = build_runner(vigil.control, clock).run(proposal.id)
        assert change.proposal.status == "denied" and change.proposal.started_at is None
        (denied,) = change.events
        assert denied.type == "action.denied" and denied.data["stage"] == "execution"


def test_rate_limit_and_daily_budget(settings: Settings, clock: FakeClock, project: Path) -> None:
    """Past max_per_hour executions of a kind, the next is denied at execution; and a model
    past its daily proposals budget is denied at once."""
    with open_vigil(settings, clock, max_per_hour=2, daily_model_proposals=1) as vigil:
        runner = build_runner(vigil.control, clock)
        statuses = []
        for _ in range(3):
            proposal = propose(vigil.control, project, ["true"])
            vigil.control.approve(proposal.id, ALICE)
            statuses.append(runner.run(proposal.id).proposal.status)
        assert statuses == ["executed", "executed", "denied"]
        clock.advance(3601)
        proposal = propose(vigil.control, project, ["true"])
        vigil.control.approve(proposal.id, ALICE)
        assert runner.run(proposal.id).proposal.status == "executed"
        assert propose(vigil.control, project, ["true"], proposer="model").status == "pending"
        second = propose(vigil.control, project, ["true"], proposer="model")
        assert second.status == "denied" and "daily budget" in second.decision_why


def test_auto_approval_only_for_low_risk_kinds_a_person_listed(
    settings: Settings, clock: FakeClock, project: Path
) -> None:
    """auto_approve approves low-risk, allowed, unflagged actions of the listed kinds only."""
    with open_vigil(settings, clock, auto_approve=["run_command"]) as vigil:
        low = propose(vigil.control, project, ["pytest", "-q"])
        assert (low.status, low.decided_via) == ("approved", "config")
        high = propose(vigil.control, project, ["rm", "-rf", "build"])
        assert high.status == "pending"
    with open_vigil(settings, clock) as vigil:
        assert propose(vigil.control, project, ["pytest", "-q"]).status == "pending"


def test_receipts_record_the_proposal_and_the_execution(
    settings: Settings, clock: FakeClock, project: Path
) -> None:
    """The proposal's receipt keeps its inputs and decision; the execution's its outcome."""
    with open_vigil(settings, clock) as vigil:
        proposal = propose(vigil.control, project, ["echo", "ok"], why="check")
        vigil.control.approve(proposal.id, ALICE)
        build_runner(vigil.control, clock).run(proposal.id)
        kinds = {r.kind: r for r in vigil.receipts.for_subject(proposal.id)}
        assert kinds["proposal"].id == proposal.receipt_id
        assert kinds["proposal"].outcome["policy"]["decision"] == "allow"
        assert kinds["execution"].outcome["exit_code"] == 0
        assert kinds["execution"].inputs["approved_by"] == "alice"


def test_action_requested_becomes_a_judged_proposal(
    settings: Settings, clock: FakeClock, project: Path
) -> None:
    """The seam for other parts: a rerun request naming only the run becomes a pending
    proposal with that run's argv and directory, caused by the request; never approved."""
    with open_vigil(settings, clock) as vigil:
        run = vigil.publish(
            [
                vigil.event(
                    "build.run.failed",
                    {
                        "command": "pytest -q",
                        "argv": ["pytest", "-q"],
                        "cwd": str(project),
                        "exit_code": 1,
                        "duration_ms": 1.0,
                        "output_tail": "",
                    },
                )
            ]
        )[0]
        request = vigil.publish(
            [
                vigil.event(
                    "action.requested",
                    {
                        "action": "rerun",
                        "args": {"event_id": run.id},
                        "why": "re-run the failed test",
                        "proposer": "person:mallory",
                    },
                )
            ]
        )[0]
        outputs = run_handler(
            vigil.log, "control.requests", requests_handler(vigil.control), request
        )
        assert outputs is not None and outputs[0].type == "action.proposed"
        (proposal,) = vigil.control.store.find()
        assert proposal.args["argv"] == ["pytest", "-q"] and proposal.args["event_id"] == run.id
        assert proposal.status == "pending" and proposal.proposer.startswith("event:")
        assert outputs[0].causation_id == request.id


def test_interrupted_execution_is_recorded_and_never_rerun(
    settings: Settings, clock: FakeClock, project: Path
) -> None:
    """An execution claimed by a process that died is recorded failed (interrupted) after a
    restart, and not run again."""
    marker = project / "ran"
    with open_vigil(settings, clock) as vigil:
        proposal = propose(vigil.control, project, ["touch", str(marker)])
        vigil.control.approve(proposal.id, ALICE)
        vigil.control.begin(proposal.id, {"pid": 999_999_999, "pid_start": 1})  # then "crash"
    with open_vigil(settings, clock) as vigil:
        (change,) = recover(vigil.control)
        assert change.proposal.status == "failed" and change.proposal.result["interrupted"]
        assert "not run again" in change.proposal.result["reason"]
        assert build_runner(vigil.control, clock).run_ready() == []
        assert recover(vigil.control) == []
    assert not marker.exists()


def test_a_live_runner_is_not_taken_for_dead(
    settings: Settings, clock: FakeClock, project: Path
) -> None:
    """Recovery leaves alone an execution whose process (this one) still runs."""
    import os

    from vigil.guard.executor import process_start

    with open_vigil(settings, clock) as vigil:
        proposal = propose(vigil.control, project, ["true"])
        vigil.control.approve(proposal.id, ALICE)
        vigil.control.begin(
            proposal.id, {"pid": os.getpid(), "pid_start": process_start(os.getpid())}
        )
        assert recover(vigil.control) == []


def test_secrets_in_why_and_output_are_redacted(
    settings: Settings, clock: FakeClock, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret in the rationale or the command's output never reaches the database."""
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    with open_vigil(settings, clock) as vigil:
        proposal = propose(
            vigil.control, project, [sys.executable, "scripts/x.py"], why=f"token {token}"
        )
        (project / "scripts").mkdir()
        (project / "scripts" / "x.py").write_text(f"print({token!r})")
        vigil.control.approve(proposal.id, ALICE)
        build_runner(vigil.control, clock).run(proposal.id)
    for stored in settings.home.rglob("vigil.db*"):
        assert token.encode() not in stored.read_bytes()
