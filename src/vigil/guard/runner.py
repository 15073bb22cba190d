"""Running approved proposals: claim (the policy judges again), execute by kind, record.

:meth:`ActionRunner.run` is the only path from a proposal to an effect, and it starts with
:meth:`Control.begin`, which refuses anything that is not approved by a person (or a person's
``auto_approve``), not yet started, and allowed by the policy *now*. Commands (``run_command``,
``rerun``, ``restart_unit``) go through the bounded :class:`~vigil.guard.executor.Executor`; the
other kinds are small bounded operations here: a file written back from git, a webhook post
(no redirects, a timeout), a cache directory emptied (never following symlinks).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vigil.guard import action as kinds
from vigil.guard.control import Change, Control, ProposalStateError
from vigil.guard.executor import Executor, process_start
from vigil.guard.paths import judge_path
from vigil.guard.proposals import Proposal

MAX_REVERT_BYTES = 50 * 1024 * 1024
WEBHOOK_TIMEOUT_S = 10.0


class ActionRunner:
    """Executes approved proposals, one at a time, through :class:`Control`."""

    def __init__(
        self,
        control: Control,
        executor: Executor,
        *,
        restart_component: Callable[[str], str] | None = None,
        git_timeout_s: float = 10.0,
    ) -> None:
        self.control = control
        self.executor = executor
        self.restart_component = restart_component
        self.git_timeout_s = git_timeout_s

    def run(self, proposal_id: str, cancel: threading.Event | None = None) -> Change:
        """Run one approved proposal (or record why the policy refused it now)."""
        me = {"pid_start": process_start(os.getpid())}
        change = self.control.begin(proposal_id, me)
        proposal = change.proposal
        if proposal.status != "approved":
            return change
        started = time.monotonic()
        try:
            result = self._execute(proposal, cancel)
        except Exception as exc:  # noqa: BLE001 - recorded as the execution's failure
            result = {"ok": False, "reason": f"{type(exc).__name__}: {exc}", "limit": None}
        result.setdefault("duration_ms", round((time.monotonic() - started) * 1000, 3))
        return self.control.finish(proposal.id, result)

    def run_ready(self, cancel: threading.Event | None = None) -> list[Change]:
        """Run every approved, unstarted proposal, oldest approval first."""
        done = []
        for proposal in self.control.store.ready():
            if cancel is not None and cancel.is_set():
                break
            with contextlib.suppress(ProposalStateError):  # another process took it
                done.append(self.run(proposal.id, cancel))
        return done

    # -- by kind -----------------------------------------------------------------------------

    def _execute(self, proposal: Proposal, cancel: threading.Event | None) -> dict[str, Any]:
        args = proposal.args
        cwd = str(args["cwd"])

        def started(info: dict[str, Any]) -> None:
            self.control.note_process(proposal.id, info)

        if proposal.action in (kinds.RUN_COMMAND, kinds.RERUN):
            keep = list(args.get("env_keep") or [])
            argv = list(args["argv"])
            return self.executor.run(
                argv, cwd, env_keep=keep, cancel=cancel, on_start=started
            ).to_dict()
        if proposal.action == kinds.RESTART_UNIT:
            argv = ["systemctl", *(["--user"] if args.get("user", True) else []), "restart"]
            argv.append(str(args["unit"]))
            return self.executor.run(argv, cwd, cancel=cancel, on_start=started).to_dict()
        if proposal.action == kinds.RESTART_COMPONENT:
            if self.restart_component is None:
                return {
                    "ok": False,
                    "reason": "only the running daemon can restart its components (start it"
                    " with `vigil up`)",
                }
            return {"ok": True, "reason": self.restart_component(str(args["component"]))}
        if proposal.action == kinds.REVERT_FILE:
            return self._revert(args)
        if proposal.action == kinds.OPEN_ISSUE:
            return self._post(args)
        if proposal.action == kinds.CLEAR_CACHE:
            return self._clear(args)
        return {"ok": False, "reason": f"no executor for {proposal.action}"}

    def _revert(self, args: Mapping[str, Any]) -> dict[str, Any]:
        place = self.control.policy.place(str(args["cwd"]))
        path = str(args["path"])
        refused = judge_path(path, place, write=True)
        if refused:
            return {"ok": False, "reason": f"refused at execution: {refused}"}
        target = Path(os.path.realpath(os.path.join(place.cwd, path)))
        relative = target.relative_to(place.project).as_posix()
        source = str(args["source"])
        spec = source if args.get("source_kind", "blob") == "blob" else f"{source}:{relative}"
        git = ["git", "-C", place.project]
        size = subprocess.run(
            [*git, "cat-file", "-s", spec],
            capture_output=True,
            text=True,
            timeout=self.git_timeout_s,
        )
        if size.returncode != 0:
            return {"ok": False, "reason": f"git has no {spec}: {size.stderr.strip()[:300]}"}
        if int(size.stdout.strip() or 0) > MAX_REVERT_BYTES:
            return {"ok": False, "reason": f"{spec} is larger than {MAX_REVERT_BYTES} bytes"}
        content = subprocess.run(
            [*git, "cat-file", "blob", spec], capture_output=True, timeout=self.git_timeout_s
        )
        if content.returncode != 0:
            return {"ok": False, "reason": f"git cat-file failed: {content.stderr[:300]!r}"}
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = target.with_name(f".{target.name}.vigil-revert")
        scratch.write_bytes(content.stdout)
        with contextlib.suppress(OSError):
            shutil.copymode(target, scratch)
        os.replace(scratch, target)
        return {
            "ok": True,
            "reason": f"restored {relative} from {spec}",
            "bytes": len(content.stdout),
        }

    def _post(self, args: Mapping[str, Any]) -> dict[str, Any]:
        url = self.control.policy.config.webhooks.get(str(args["webhook"]))
        if url is None:
            return {"ok": False, "reason": f"no webhook named {args['webhook']!r}"}
        body = json.dumps(
            {"kind": args["kind"], "title": args["title"], "body": args.get("body", "")}
        ).encode()
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        opener = urllib.request.build_opener(_NoRedirect())
        try:
            with opener.open(request, timeout=WEBHOOK_TIMEOUT_S) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            return {"ok": False, "status": exc.code, "reason": f"the webhook answered {exc.code}"}
        except (urllib.error.URLError, OSError) as exc:
            return {"ok": False, "reason": f"the webhook could not be reached: {exc}"}
        return {"ok": 200 <= status < 300, "status": status, "reason": f"posted ({status})"}

    def _clear(self, args: Mapping[str, Any]) -> dict[str, Any]:
        place = self.control.policy.place(str(args["cwd"]))
        path = str(args["path"])
        refused = judge_path(path, place, write=True)
        if refused:
            return {"ok": False, "reason": f"refused at execution: {refused}"}
        joined = os.path.join(place.cwd, path)
        if os.path.islink(joined.rstrip("/")):
            return {"ok": False, "reason": f"{path} is a symbolic link: not followed"}
        if not os.path.isdir(joined):
            return {"ok": True, "reason": f"{path} does not exist: nothing to clear", "removed": 0}
        removed = 0
        for entry in os.scandir(joined):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed += 1
        return {"ok": True, "reason": f"emptied {path} ({removed} entries)", "removed": removed}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook answer that redirects elsewhere is refused (its host was never judged)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
