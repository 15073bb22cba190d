"""``vigil propose|proposals|approve|deny|why`` as real subprocesses, with and without a real
daemon: the contract's JSON, bad input, execution by the daemon, expiry and crashes across
restarts."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

from tests.cli.helpers import daemon, events, vigil, wait_for


def proposals(home: Path, *args: str) -> list[dict[str, Any]]:
    done = vigil("proposals", "--json", *args, home=home)
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def one_line_error(done: Any) -> None:
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_propose_approve_runs_it_here_without_a_daemon(home: Path, tmp_path: Path) -> None:
    """propose prints the id; proposals --json has the contract's fields; approve runs it."""
    done = vigil("propose", "--why", "smoke", "--", "echo", "hello", home=home, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    proposal_id = done.stdout.strip()
    assert proposal_id.startswith("pr_") and "\n" not in proposal_id
    (listed,) = proposals(home)
    for field in ("id", "action", "args", "status", "risk", "why", "expires_at", "policy"):
        assert field in listed
    assert listed["status"] == "pending" and listed["args"]["argv"] == ["echo", "hello"]
    approved = vigil("approve", proposal_id, home=home)
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.strip() == "hello"
    assert proposals(home, "--all")[0]["status"] == "executed"
    types = [e["type"] for e in events(home, "--type", "action.*")]
    assert types == ["action.proposed", "action.approved", "action.executed"]


def test_bad_input_is_one_line_and_changes_nothing(home: Path, tmp_path: Path) -> None:
    """Unknown id, approving a denied or an expired proposal, a malformed action: one clear
    line, non-zero exit, nothing stored changes."""
    denied = vigil("propose", "--", "sudo", "rm", "-rf", "/", home=home, cwd=tmp_path)
    one_line_error(denied)
    assert "denied by policy" in denied.stderr
    denied_id = denied.stdout.strip()
    expired_id = vigil(
        "propose", "--expires", "1s", "--", "true", home=home, cwd=tmp_path
    ).stdout.strip()
    time.sleep(1.2)
    assert proposals(home, "--all")[0]["status"] == "expired"
    before = events(home)
    for args in (
        ("approve", "pr_nope"),
        ("approve", denied_id),
        ("approve", expired_id),
        ("deny", expired_id),
        ("propose",),
        ("propose", "--expires", "soon", "--", "true"),
        ("proposals", "--bogus"),
    ):
        one_line_error(vigil(*args, home=home, cwd=tmp_path))
    assert events(home) == before


def test_why_walks_failure_triage_proposal_execution(home: Path, tmp_path: Path) -> None:
    """vigil why on a proposal made from a failure shows the failure, its triage, the proposal,
    the approval and the execution, in that order."""
    done = vigil("run", "--", "sh", "-c", "echo 'error: boom'; exit 3", home=home, cwd=tmp_path)
    assert done.returncode == 3
    failure = events(home, "--type", "build.run.failed")[0]
    request = {
        "type": "action.requested",
        "data": {
            "action": "rerun",
            "args": {"event_id": failure["id"]},
            "why": "re-run the failed build",
            "proposer": "handler:test",
            "evidence": {"events": [failure["id"]]},
        },
    }
    with daemon(home):
        vigil("ingest", "-", home=home, stdin=json.dumps(request) + "\n")
        proposal = wait_for(lambda: proposals(home))[0]
        assert proposal["args"]["argv"] == ["sh", "-c", "echo 'error: boom'; exit 3"]
        vigil("approve", proposal["id"], home=home)
        wait_for(lambda: proposals(home, "--all")[0]["status"] in ("executed", "failed"))
    why = json.loads(vigil("why", proposal["id"], "--json", home=home).stdout)
    steps = [s["step"] for s in why["chain"]]
    assert steps[:3] == ["failure", "triage", "request"]
    assert steps.index("proposal") < steps.index("approved") < steps.index("failed")
    human = vigil("why", proposal["id"], home=home).stdout
    assert "build.run.failed" in human and "approved by" in human
    by_event = json.loads(vigil("why", why["chain"][-2]["id"], "--json", home=home).stdout)
    assert by_event["proposal"]["id"] == proposal["id"]


def test_daemon_executes_what_a_person_approves(home: Path, tmp_path: Path) -> None:
    """With the daemon up, approve hands the proposal to the daemon, which runs it once."""
    with daemon(home):
        proposal_id = vigil(
            "propose", "--", "echo", "from-daemon", home=home, cwd=tmp_path
        ).stdout.strip()
        done = vigil("approve", proposal_id, "--json", home=home)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["status"] == "executed" and result["result"]["output_tail"] == "from-daemon\n"
        executed = [e for e in events(home, "--type", "action.executed")]
        assert len(executed) == 1 and executed[0]["source"] == "vigil.daemon"


def test_expiry_across_a_restart(home: Path, tmp_path: Path) -> None:
    """A proposal that came due while the daemon was down is expired by it at start, and a
    pending one expires on the daemon's clock while it runs."""
    early = vigil(
        "propose", "--expires", "1s", "--", "true", home=home, cwd=tmp_path
    ).stdout.strip()
    time.sleep(1.1)
    with daemon(home):
        wait_for(
            lambda: any(e["subject"] == early for e in events(home, "--type", "action.expired"))
        )
        late = vigil(
            "propose", "--expires", "2s", "--", "true", home=home, cwd=tmp_path
        ).stdout.strip()
        wait_for(
            lambda: any(e["subject"] == late for e in events(home, "--type", "action.expired"))
        )
        notices = [
            e for e in events(home, "--type", "notification.requested") if e["subject"] == late
        ]
        assert any("expired" in n["data"]["title"].lower() for n in notices)
    expired = [e for e in events(home, "--type", "action.expired")]
    assert sorted(e["subject"] for e in expired) == sorted([early, late])


def test_a_crash_mid_execution_is_recorded_never_rerun(home: Path, tmp_path: Path) -> None:
    """The daemon killed while an action runs: after restart the action is failed
    (interrupted), its leftover process is gone, and it does not run a second time."""
    counter = tmp_path / "count"
    script = f"echo run >> {counter}; sleep 60"
    with daemon(home) as state:
        proposal_id = vigil(
            "propose", "--", "sh", "-c", script, home=home, cwd=tmp_path
        ).stdout.strip()
        vigil("approve", proposal_id, "--wait", "0", home=home)
        wait_for(lambda: counter.exists())
        state["proc"].send_signal(signal.SIGKILL)
        state["proc"].wait(timeout=10)
    with daemon(home):
        wait_for(lambda: proposals(home, "--all")[0]["status"] == "failed")
    (proposal,) = proposals(home, "--all")
    assert proposal["result"]["interrupted"] is True
    assert counter.read_text().count("run") == 1
    failed = events(home, "--type", "action.failed")
    assert len(failed) == 1 and failed[0]["data"]["interrupted"] is True
