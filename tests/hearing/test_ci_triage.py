"""A CI failure is triaged like a local one: the job's log through the GitHub API (a local
fake on loopback) behind a breaker, or the payload's summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import events, wait_for
from tests.hearing.github_fake import configure, fake_github
from tests.hearing.live import live
from tests.hearing.payloads import JOB_FAILED, SECRET, WORKFLOW_RUN, raw, with_conclusion
from tests.hearing.test_webhooks import deliver

TOKEN = "ghp_" + "T" * 36


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_GITHUB_SECRET", SECRET)
    monkeypatch.setenv("VIGIL_GITHUB_TOKEN", TOKEN)


def _triage_of(home: Path, cause: str) -> list[dict[str, Any]]:
    return [e for e in events(home, "--type", "triage.completed") if e["causation_id"] == cause]


def test_failed_job_log_is_fetched_and_triaged(home: Path) -> None:
    """With a token, the failed job's log comes from the API (redirect followed, timestamps
    stripped) and triage finds the pytest failure in it."""
    with fake_github() as github:
        configure(home, github.url)
        with live(home) as (client, _):
            assert deliver(client, "workflow_job", raw(JOB_FAILED), "j1").status_code == 201
            (failed,) = wait_for(lambda: events(home, "--type", "ci.run.failed"))
            (triage,) = wait_for(lambda: _triage_of(home, failed["id"]), timeout=20)
        assert github.requests[0][0] == "/repos/Codertocat/Hello-World/actions/jobs/289782451/logs"
        assert github.requests[0][1] == f"Bearer {TOKEN}"
    data = triage["data"]
    assert data["tools"] == ["pytest"]
    assert data["failures"][0]["file"] == "tests/test_calc.py"
    assert any("GitHub API" in note for note in data["notes"])
    assert TOKEN not in json.dumps(events(home))


def test_failed_workflow_run_reads_its_failed_jobs(home: Path) -> None:
    """A failed workflow_run lists its jobs and reads the failed ones' logs."""
    with fake_github() as github:
        github.jobs = [
            {"id": 11, "name": "lint", "conclusion": "success"},
            {"id": 12, "name": "tests", "conclusion": "failure"},
        ]
        configure(home, github.url)
        body = json.dumps(with_conclusion(WORKFLOW_RUN, "workflow_run", "failure")).encode()
        with live(home) as (client, _):
            assert deliver(client, "workflow_run", body, "r1").status_code == 201
            (failed,) = wait_for(lambda: events(home, "--type", "ci.run.failed"))
            (triage,) = wait_for(lambda: _triage_of(home, failed["id"]), timeout=20)
        paths = [path for path, _ in github.requests]
    assert "/repos/octo-org/octo-repo/actions/jobs/12/logs" in paths
    assert "/repos/octo-org/octo-repo/actions/jobs/11/logs" not in paths
    assert triage["data"]["tools"] == ["pytest"]


def test_a_failing_api_opens_its_breaker_and_the_summary_is_triaged(home: Path) -> None:
    """When the API answers 500, each failure is still triaged (from the payload summary);
    after three failures the github breaker opens and the API is left alone."""
    with fake_github() as github:
        github.mode = "error"
        configure(home, github.url)
        with live(home) as (client, _):
            for n in range(5):
                assert deliver(client, "workflow_job", raw(JOB_FAILED), f"e{n}").status_code == 201
            wait_for(lambda: len(events(home, "--type", "triage.completed")) == 5, timeout=30)
            opened = wait_for(lambda: events(home, "--type", "breaker.opened"))
        calls = len(github.requests)
    assert calls == 3
    assert opened[0]["data"]["breaker"] == "github"
    for triage in events(home, "--type", "triage.completed"):
        assert "format-check" in triage["data"]["summary"]
        assert any("not fetched" in note for note in triage["data"]["notes"])
