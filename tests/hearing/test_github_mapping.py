"""GitHub deliveries -> events, by the contract's rules, on the real payloads."""

from __future__ import annotations

import pytest

from tests.hearing.payloads import (
    CHECK_RUN,
    JOB_FAILED,
    JOB_PASSED,
    PUSH,
    WORKFLOW_RUN,
    WORKFLOW_RUN_REQUESTED,
    payload,
    raw,
    with_conclusion,
)
from vigil.errors import ValidationError
from vigil.sources.github import map_delivery, sign, verify_signature
from vigil.testing import FakeClock

CI_FIELDS = {"repository", "branch", "head_sha", "workflow", "conclusion", "url"}


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    """Only sha256=HMAC(secret, body) verifies; another secret, body or scheme does not."""
    body = raw(WORKFLOW_RUN)
    good = sign(b"secret", body)
    assert verify_signature(b"secret", body, good)
    assert verify_signature(b"secret", body, good.upper().replace("SHA256=", "sha256="))
    assert not verify_signature(b"other", body, good)
    assert not verify_signature(b"secret", body + b" ", good)
    assert not verify_signature(b"secret", body, None)
    assert not verify_signature(b"secret", body, good.replace("sha256=", "sha1="))


def test_failed_job_becomes_ci_run_failed_with_the_contract_fields() -> None:
    """The real failed workflow_job maps to ci.run.failed with repository, branch, sha..."""
    mapped = map_delivery("workflow_job", payload(JOB_FAILED), clock=FakeClock(), delivery="d1")
    (event,) = mapped.events
    assert event.type == "ci.run.failed" and event.source == "github"
    assert set(event.data) >= CI_FIELDS
    assert event.data["repository"] == "Codertocat/Hello-World"
    assert event.data["branch"] == "main"
    assert event.data["head_sha"] == "3484a3fb816e0859fd6e1cea078d76385ff50625"
    assert event.data["workflow"] == "CodeQL"
    assert event.data["conclusion"] == "failure"
    assert event.data["url"] == "https://github.com/octo-org/octo-repo/runs/1291536064"
    assert event.data["failed_steps"] == ["Run yarn run format-check"]
    assert "format-check" in event.data["summary"]
    assert event.data["delivery"] == "d1"


def test_passed_runs_become_ci_run_passed() -> None:
    """A successful workflow_run, workflow_job and check_run each map to ci.run.passed."""
    for name, file in (
        ("workflow_run", WORKFLOW_RUN),
        ("workflow_job", JOB_PASSED),
        ("check_run", CHECK_RUN),
    ):
        (event,) = map_delivery(name, payload(file), clock=FakeClock()).events
        assert event.type == "ci.run.passed", name
        assert set(event.data) >= CI_FIELDS, name
    run = map_delivery("workflow_run", payload(WORKFLOW_RUN), clock=FakeClock()).events[0]
    assert run.data["workflow"] == "test"  # the run's name is empty; the workflow's name
    check = map_delivery("check_run", payload(CHECK_RUN), clock=FakeClock()).events[0]
    assert check.data["branch"] == "changes"


@pytest.mark.parametrize("conclusion", ["failure", "timed_out", "startup_failure"])
@pytest.mark.parametrize(
    ("name", "file", "key"),
    [
        ("workflow_run", WORKFLOW_RUN, "workflow_run"),
        ("workflow_job", JOB_PASSED, "workflow_job"),
        ("check_run", CHECK_RUN, "check_run"),
    ],
)
def test_failing_conclusions_are_failures(name: str, file: str, key: str, conclusion: str) -> None:
    """failure, timed_out and startup_failure give ci.run.failed for every CI kind."""
    (event,) = map_delivery(name, with_conclusion(file, key, conclusion), clock=FakeClock()).events
    assert event.type == "ci.run.failed"
    assert event.data["conclusion"] == conclusion


@pytest.mark.parametrize(
    "conclusion", ["cancelled", "skipped", "neutral", "action_required", "stale", None]
)
def test_other_conclusions_map_to_nothing(conclusion: str | None) -> None:
    """cancelled, skipped, neutral, action_required and stale are neither passed nor failed."""
    changed = with_conclusion(JOB_PASSED, "workflow_job", conclusion)
    mapped = map_delivery("workflow_job", changed, clock=FakeClock())
    assert mapped.outcome == "ignored" and not mapped.events


def test_only_completed_actions_map() -> None:
    """A requested workflow_run is acknowledged, not mapped."""
    mapped = map_delivery("workflow_run", payload(WORKFLOW_RUN_REQUESTED), clock=FakeClock())
    assert mapped.outcome == "ignored" and not mapped.events


def test_check_suite_and_status_never_give_ci_run_events() -> None:
    """check_suite and status are stored under their own types, never ci.run.*."""
    check = payload(CHECK_RUN)
    suite = {
        "action": "completed",
        "check_suite": {**check["check_run"]["check_suite"], "conclusion": "failure"},
        "repository": check["repository"],
    }
    (event,) = map_delivery("check_suite", suite, clock=FakeClock()).events
    assert event.type == "ci.suite.completed"
    status = {
        "sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
        "state": "failure",
        "context": "ci/jenkins",
        "branches": [{"name": "main"}],
        "repository": check["repository"],
    }
    (event,) = map_delivery("status", status, clock=FakeClock()).events
    assert event.type == "ci.status.reported" and event.data["state"] == "failure"


def test_push_becomes_git_push_received() -> None:
    """The real push maps to git.push.received; a tag push has no branch."""
    (event,) = map_delivery("push", payload(PUSH), clock=FakeClock()).events
    assert event.type == "git.push.received"
    assert event.data["repository"] == "Codertocat/Hello-World"
    assert event.data["branch"] is None and event.data["ref"] == "refs/tags/simple-tag"
    assert event.data["head_sha"] == "0" * 40 and event.data["deleted"] is True
    branch_push = {**payload(PUSH), "ref": "refs/heads/main", "after": "a" * 40}
    (event,) = map_delivery("push", branch_push, clock=FakeClock()).events
    assert event.data["branch"] == "main" and event.data["head_sha"] == "a" * 40


def test_pull_request_is_typed_by_its_action() -> None:
    """pull_request becomes git.pull_request.<action>."""
    pr = {
        "action": "ready_for_review",
        "number": 7,
        "pull_request": {"title": "Fix", "head": {"ref": "fix", "sha": "b" * 40}},
        "repository": {"full_name": "o/r"},
    }
    (event,) = map_delivery("pull_request", pr, clock=FakeClock()).events
    assert event.type == "git.pull_request.ready_for_review"
    assert event.data["number"] == 7 and event.data["branch"] == "fix"


def test_ping_and_unknown_types_store_nothing() -> None:
    """ping is answered; an event type Vigil does not map is acknowledged and stores nothing."""
    assert map_delivery("ping", {"zen": "x"}, clock=FakeClock()).outcome == "ping"
    for name in ("issues", "star", "Not-A-Name", ""):
        mapped = map_delivery(name, {"action": "created"}, clock=FakeClock())
        assert mapped.outcome == "ignored" and not mapped.events


def test_payload_missing_what_the_mapping_needs_is_invalid() -> None:
    """A known type without its required fields is a validation error with a one-line reason."""
    broken = payload(JOB_FAILED)
    del broken["workflow_job"]["head_sha"]
    with pytest.raises(ValidationError, match="head_sha"):
        map_delivery("workflow_job", broken, clock=FakeClock())
    with pytest.raises(ValidationError, match="repository"):
        map_delivery("push", {"ref": "refs/heads/x", "after": "c" * 40}, clock=FakeClock())
    with pytest.raises(ValidationError):
        map_delivery("workflow_run", ["not", "an", "object"], clock=FakeClock())
