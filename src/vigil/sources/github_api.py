"""The GitHub REST API, for one thing: the log of a failed CI job (httpx lives only here).

With a token (the environment variable named by ``[hooks.github] token_env``, default
``VIGIL_GITHUB_TOKEN``), :meth:`GitHubLogs.read` turns a ``ci.run.failed`` payload into the
text of its failed jobs' logs:

- ``workflow_job``: ``GET /repos/{repo}/actions/jobs/{job_id}/logs`` (a redirect to the log);
- ``workflow_run``: ``GET /repos/{repo}/actions/runs/{run_id}/jobs`` for the failed jobs (at
  most :data:`MAX_JOBS`), then each one's log;
- ``check_run`` from GitHub Actions (app ``github-actions``): its id is the job's id.

Only the last :data:`TAIL_BYTES` of each log are kept, and the timestamps GitHub puts before
every line are removed, so the parsers see what the tool printed. The caller puts this behind a
circuit breaker: :class:`GitHubUnavailable` (network, 5xx, 429) counts against it;
:class:`LogUnavailable` (no such job, log expired, token refused) does not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from vigil.errors import SourceError

TAIL_BYTES = 256 * 1024
MAX_JOBS = 3
FAILED = ("failure", "timed_out", "startup_failure")
_STAMP = re.compile(r"^\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ", re.MULTILINE)
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GitHubUnavailable(SourceError):
    """GitHub could not be reached, timed out, or answered 5xx or 429."""


class LogUnavailable(SourceError):
    """GitHub answered, but there is no log to have (404, 410, 401, 403)."""


def strip_stamps(text: str) -> str:
    return _STAMP.sub("", text)


class GitHubLogs:
    """Reads failed jobs' logs with a token; one HTTP client, closed by :meth:`close`."""

    def __init__(self, token: str, api_url: str, *, timeout: float = 10.0) -> None:
        import httpx

        self._client = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            timeout=timeout,
            follow_redirects=True,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "vigil",
            },
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def _get(self, path: str, *, tail: bool = False) -> Any:
        import httpx

        try:
            async with self._client.stream("GET", path) as response:
                status = response.status_code
                if status >= 500 or status == 429:
                    raise GitHubUnavailable(f"GitHub answered {status} for {path}")
                if status >= 400:
                    raise LogUnavailable(f"GitHub answered {status} for {path}")
                kept = bytearray()
                async for chunk in response.aiter_bytes():
                    kept += chunk
                    if tail and len(kept) > 2 * TAIL_BYTES:
                        del kept[: len(kept) - TAIL_BYTES]
                    elif not tail and len(kept) > 8 * 1024 * 1024:
                        raise LogUnavailable(f"GitHub's answer for {path} is too large")
        except httpx.HTTPError as exc:
            raise GitHubUnavailable(f"GitHub API: {type(exc).__name__}: {exc}") from exc
        if tail:
            return bytes(kept[-TAIL_BYTES:]).decode("utf-8", "replace")
        try:
            import json

            return json.loads(kept)
        except ValueError as exc:
            raise GitHubUnavailable(f"GitHub answered malformed JSON for {path}") from exc

    async def job_log(self, repository: str, job_id: int) -> str:
        text = await self._get(f"/repos/{repository}/actions/jobs/{job_id}/logs", tail=True)
        return strip_stamps(str(text))

    async def read(self, data: Mapping[str, Any]) -> str | None:
        """The failed jobs' logs for a ``ci.run.failed`` payload; ``None`` if it has none."""
        repository = str(data.get("repository") or "")
        if not _REPO.match(repository):
            return None
        kind = data.get("kind")
        jobs: list[tuple[int, str]] = []
        if kind == "workflow_job" and isinstance(data.get("job_id"), int):
            jobs = [(data["job_id"], str(data.get("name") or "job"))]
        elif kind == "check_run" and data.get("app") == "github-actions":
            if isinstance(data.get("job_id"), int):
                jobs = [(data["job_id"], str(data.get("name") or "job"))]
        elif kind == "workflow_run" and isinstance(data.get("run_id"), int):
            listing = await self._get(
                f"/repos/{repository}/actions/runs/{data['run_id']}/jobs?filter=latest&per_page=100"
            )
            found = listing.get("jobs", []) if isinstance(listing, dict) else []
            jobs = [
                (job["id"], str(job.get("name") or "job"))
                for job in found
                if isinstance(job, dict)
                and job.get("conclusion") in FAILED
                and isinstance(job.get("id"), int)
            ][:MAX_JOBS]
        if not jobs:
            return None
        parts = []
        for job_id, name in jobs:
            parts.append(f"== {name} ==\n{await self.job_log(repository, job_id)}")
        return "\n".join(parts)
