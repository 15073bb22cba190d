"""The real GitHub webhook payloads in shared/data (octokit/webhooks examples), and variants."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.conftest import REPO, SHARED_DATA

# shared/ sits beside the clone (CI, /work/main) or two levels up (a worktree under /work/wt).
GITHUB = next(
    (
        base / "github-webhooks"
        for base in (SHARED_DATA, REPO.parent.parent / "shared" / "data")
        if (base / "github-webhooks").is_dir()
    ),
    SHARED_DATA / "github-webhooks",
)
SECRET = "hook-secret-for-tests"


def raw(name: str) -> bytes:
    return (GITHUB / f"{name}.payload.json").read_bytes()


def payload(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(raw(name))
    return loaded


def with_conclusion(name: str, key: str, conclusion: str | None) -> dict[str, Any]:
    """A real payload whose run (``key``) concluded ``conclusion`` instead."""
    changed = copy.deepcopy(payload(name))
    changed[key]["conclusion"] = conclusion
    return changed


WORKFLOW_RUN = "workflow_run.completed"
WORKFLOW_RUN_REQUESTED = "workflow_run.requested"
JOB_FAILED = "workflow_job.completed.failure.with-organization"
JOB_PASSED = "workflow_job.completed.success.with-organization"
CHECK_RUN = "check_run.completed"
PUSH = "push"


def path(name: str) -> Path:
    return GITHUB / f"{name}.payload.json"
