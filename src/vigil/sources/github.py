"""GitHub webhook deliveries -> events (pure mapping; no HTTP here).

Signature: ``X-Hub-Signature-256: sha256=<hex>`` is HMAC-SHA256 of the raw body with the
webhook's secret; :func:`verify_signature` compares in constant time.

Mapping (the interface contract's rules):

================  =========================================================================
``workflow_run``  action ``completed`` only: conclusion ``failure``, ``timed_out`` or
``workflow_job``  ``startup_failure`` -> ``ci.run.failed``; ``success`` -> ``ci.run.passed``;
``check_run``     any other conclusion (cancelled, skipped, neutral, action_required, stale)
                  -> nothing. Data: ``repository``, ``branch``, ``head_sha``, ``workflow``,
                  ``conclusion``, ``url``, plus ``kind``, ``name``, ``run_id``, ``job_id``,
                  ``run_attempt``, ``summary`` (what the payload says about the failure),
                  ``failed_steps``, ``app``.
``check_suite``   action ``completed`` -> ``ci.suite.completed`` (never ``ci.run.*``: its runs
                  report already).
``status``        -> ``ci.status.reported`` (never ``ci.run.*``).
``push``          -> ``git.push.received``: ``repository``, ``branch`` (``None`` for a tag),
                  ``head_sha``, ``ref``, ``before``, ``created``, ``deleted``, ``forced``,
                  ``commits``.
``pull_request``  -> ``git.pull_request.<action>``.
``ping``          answered, nothing stored.
anything else     acknowledged, counted, nothing stored.
================  =========================================================================

A known event type whose payload lacks what its mapping needs raises
:class:`~vigil.errors.ValidationError` (HTTP 400), so nothing partial is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vigil.clock import Clock
from vigil.errors import ValidationError
from vigil.events import catalog
from vigil.events.model import Event, new_event

SOURCE = "github"
FAILED = frozenset({"failure", "timed_out", "startup_failure"})
PASSED = frozenset({"success"})
CI_KINDS = ("workflow_run", "workflow_job", "check_run")
MAPPED = frozenset({*CI_KINDS, "check_suite", "status", "push", "pull_request", "ping"})
_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SUMMARY_CHARS = 8000


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is ``sha256=`` + the HMAC-SHA256 of ``body`` (constant time)."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header[7:].strip().lower().encode())


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Mapped:
    """What one delivery becomes: events to store, and what happened (for counting)."""

    outcome: str  # mapped | ignored | ping
    events: tuple[Event, ...] = field(default=())
    reason: str = ""


def counted_name(name: str) -> str:
    """The event name as a metric label: a known one, or ``other`` (labels stay a small set)."""
    return name if name in MAPPED else "other"


def _obj(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        raise ValidationError(f"{where}: missing object {key!r}")
    return value


def _str(parent: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    value = parent.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{where}: missing string {key!r}")
    return value


def _repository(payload: Mapping[str, Any], name: str) -> str:
    return str(_str(_obj(payload, "repository", name), "full_name", f"{name}.repository"))


def _as_obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _verdict(conclusion: object) -> str | None:
    if conclusion in FAILED:
        return catalog.CI_RUN_FAILED
    if conclusion in PASSED:
        return catalog.CI_RUN_PASSED
    return None


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_CHARS else text[-SUMMARY_CHARS:]


def _ci_data(name: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ci.run.*`` payload of a completed workflow_run, workflow_job or check_run."""
    repository = _repository(payload, name)
    run = _obj(payload, name, name)
    where = f"{name}.{name}"
    conclusion = _str(run, "conclusion", where, optional=True)
    data: dict[str, Any] = {
        "repository": repository,
        "conclusion": conclusion,
        "head_sha": _str(run, "head_sha", where),
        "url": _str(run, "html_url", where, optional=True),
        "kind": name,
    }
    if name == "workflow_run":
        workflow = payload.get("workflow")
        titled = workflow.get("name") if isinstance(workflow, Mapping) else None
        data["workflow"] = run.get("name") or titled or run.get("path") or "workflow"
        data["branch"] = _str(run, "head_branch", where, optional=True)
        data["name"] = data["workflow"]
        data["run_id"] = _int(run.get("id"))
        data["run_attempt"] = _int(run.get("run_attempt"))
        title = run.get("display_title") or ""
        data["summary"] = _clip(
            f"Workflow {data['workflow']!r} concluded {conclusion}"
            + (f": {title}" if isinstance(title, str) and title else "")
        )
    elif name == "workflow_job":
        job = str(_str(run, "name", where))
        data["workflow"] = run.get("workflow_name") or job
        data["branch"] = _str(run, "head_branch", where, optional=True)
        data["name"] = job
        data["job_id"] = _int(run.get("id"))
        data["run_id"] = _int(run.get("run_id"))
        data["run_attempt"] = _int(run.get("run_attempt"))
        steps = _as_list(run.get("steps"))
        failed = [
            str(s.get("name"))
            for s in steps
            if isinstance(s, Mapping) and s.get("conclusion") in FAILED
        ]
        data["failed_steps"] = failed
        where_failed = f" at step {failed[0]!r}" if failed else ""
        data["summary"] = _clip(
            f"Job {job!r} of workflow {data['workflow']!r} concluded {conclusion}{where_failed}"
        )
    else:
        check = str(_str(run, "name", where))
        suite = _as_obj(run.get("check_suite"))
        data["workflow"] = check
        data["name"] = check
        data["branch"] = suite.get("head_branch")
        data["job_id"] = _int(run.get("id"))
        data["app"] = _as_obj(run.get("app")).get("slug")
        output = _as_obj(run.get("output"))
        parts = [f"Check {check!r} concluded {conclusion}"]
        parts += [str(output[k]) for k in ("title", "summary", "text") if output.get(k)]
        data["summary"] = _clip("\n".join(parts))
    return data


def _push(payload: Mapping[str, Any]) -> dict[str, Any]:
    ref = str(_str(payload, "ref", "push"))
    commits = payload.get("commits")
    return {
        "repository": _repository(payload, "push"),
        "branch": ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else None,
        "head_sha": _str(payload, "after", "push"),
        "ref": ref,
        "before": payload.get("before"),
        "created": bool(payload.get("created")),
        "deleted": bool(payload.get("deleted")),
        "forced": bool(payload.get("forced")),
        "commits": len(commits) if isinstance(commits, list) else 0,
        "compare": payload.get("compare"),
    }


def _pull_request(payload: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    action = str(_str(payload, "action", "pull_request"))
    pr = _obj(payload, "pull_request", "pull_request")
    head, base, user = (_as_obj(pr.get(key)) for key in ("head", "base", "user"))
    data = {
        "repository": _repository(payload, "pull_request"),
        "action": action,
        "number": _int(payload.get("number")) or _int(pr.get("number")),
        "title": pr.get("title"),
        "state": pr.get("state"),
        "url": pr.get("html_url"),
        "branch": head.get("ref"),
        "head_sha": head.get("sha"),
        "base": base.get("ref"),
        "merged": bool(pr.get("merged")),
        "draft": bool(pr.get("draft")),
        "author": user.get("login"),
    }
    kind = re.sub(r"[^a-z0-9_-]", "_", action.lower()) or "changed"
    return f"{catalog.GIT_PULL_REQUEST}.{kind}", data


def _check_suite(payload: Mapping[str, Any]) -> dict[str, Any]:
    suite = _obj(payload, "check_suite", "check_suite")
    app = _as_obj(suite.get("app"))
    return {
        "repository": _repository(payload, "check_suite"),
        "branch": suite.get("head_branch"),
        "head_sha": _str(suite, "head_sha", "check_suite.check_suite"),
        "conclusion": suite.get("conclusion"),
        "app": app.get("slug"),
        "url": suite.get("url"),
    }


def _status(payload: Mapping[str, Any]) -> dict[str, Any]:
    branches = _as_list(payload.get("branches"))
    return {
        "repository": _repository(payload, "status"),
        "head_sha": _str(payload, "sha", "status"),
        "state": _str(payload, "state", "status"),
        "context": payload.get("context"),
        "description": payload.get("description"),
        "url": payload.get("target_url"),
        "branches": [b.get("name") for b in branches if isinstance(b, Mapping)][:20],
    }


def map_delivery(
    name: str, payload: object, *, clock: Clock, delivery: str | None = None
) -> Mapped:
    """The events one delivery of GitHub event ``name`` becomes."""
    if not _EVENT_NAME.match(name):
        return Mapped("ignored", reason="not a GitHub event name")
    if name not in MAPPED:
        return Mapped("ignored", reason=f"{name} is not an event Vigil maps")
    if not isinstance(payload, Mapping):
        raise ValidationError(f"{name}: the payload must be a JSON object")
    if name == "ping":
        return Mapped("ping")

    def event(kind: str, data: dict[str, Any]) -> Event:
        data = {**data, "delivery": delivery}
        return new_event(kind, data, clock=clock, source=SOURCE, subject=data["repository"])

    if name in CI_KINDS:
        action = _str(payload, "action", name)
        data = _ci_data(name, payload)  # validated whatever the action, so a bad one is a 400
        if action != "completed":
            return Mapped("ignored", reason=f"{name} {action}: only completed runs map")
        kind = _verdict(data["conclusion"])
        if kind is None:
            return Mapped("ignored", reason=f"{name} concluded {data['conclusion']}")
        return Mapped("mapped", (event(kind, data),))
    if name == "push":
        return Mapped("mapped", (event(catalog.GIT_PUSH_RECEIVED, _push(payload)),))
    if name == "pull_request":
        kind, data = _pull_request(payload)
        return Mapped("mapped", (event(kind, data),))
    if name == "check_suite":
        action = _str(payload, "action", name)
        data = _check_suite(payload)
        if action != "completed":
            return Mapped("ignored", reason=f"check_suite {action}")
        return Mapped("mapped", (event(catalog.CI_SUITE_COMPLETED, data),))
    return Mapped("mapped", (event(catalog.CI_STATUS_REPORTED, _status(payload)),))
