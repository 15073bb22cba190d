"""``vigil propose``, ``vigil proposals``, ``vigil approve``, ``vigil deny``.

``vigil propose [--why TEXT] [--expires DURATION] -- CMD [ARGS...]`` prints the new proposal's
id (and only that, on stdout, so ``ID=$(vigil propose -- make test)`` works); what the policy
said goes to stderr. A proposal the policy denies is recorded (with why) and exits 1.

``vigil approve ID``: with the daemon running, it runs the proposal (this command waits up to
``--wait`` seconds to show the outcome); with the daemon down, it runs right here, within the
same bounds, and shows the outcome. Exit 0 when it ran and succeeded, 1 when it failed or the
policy refused it at execution.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from typing import Any

from vigil.cli.context import open_vigil
from vigil.errors import UsageError

STATUS_MARK = {
    "pending": "?",
    "approved": "+",
    "executed": "✓",
    "failed": "✗",
    "denied": "-",
    "expired": "-",
}


def add_parser(sub: Any) -> None:
    from vigil.cli.main import _lazy

    propose = sub.add_parser(
        "propose",
        help="propose a command for a person to approve",
        usage="vigil propose [--why TEXT] [--expires DURATION] -- CMD [ARGS...]",
    )
    propose.add_argument("--why", default="", help="why it should run")
    propose.add_argument("--expires", metavar="DURATION", help="30m (default), 90s, 2h, 1d")
    propose.add_argument(
        "--keep-env", action="append", default=[], metavar="NAME",
        help="a secret variable the command needs (it is removed otherwise; repeatable)",
    )  # fmt: skip
    propose.add_argument("--json", action="store_true", help="print the proposal as JSON")
    propose.add_argument("argv", nargs=argparse.REMAINDER, help="the command and its arguments")
    propose.set_defaults(func=_lazy("vigil.cli.control", "cmd_propose"))

    proposals = sub.add_parser(
        "proposals", help="proposals waiting for a person (--all: every one)"
    )
    proposals.add_argument("--all", action="store_true", help="decided ones too")
    proposals.add_argument("--json", action="store_true", help="print a JSON array")
    proposals.set_defaults(func=_lazy("vigil.cli.control", "cmd_proposals"))

    approve = sub.add_parser("approve", help="approve a proposal: it runs, within bounds")
    approve.add_argument("id", metavar="ID")
    approve.add_argument(
        "--wait", type=float, default=10.0, metavar="SECONDS",
        help="with the daemon running: how long to wait for the outcome (10)",
    )  # fmt: skip
    approve.add_argument("--json", action="store_true", help="print the proposal as JSON")
    approve.set_defaults(func=_lazy("vigil.cli.control", "cmd_approve"))

    deny = sub.add_parser("deny", help="deny a proposal")
    deny.add_argument("id", metavar="ID")
    deny.add_argument("--why", default="", help="why not")
    deny.add_argument("--json", action="store_true", help="print the proposal as JSON")
    deny.set_defaults(func=_lazy("vigil.cli.control", "cmd_deny"))


def _person() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


def cmd_propose(args: argparse.Namespace) -> int:
    from vigil.guard.action import RUN_COMMAND
    from vigil.guard.policy import parse_duration

    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError(
            "vigil propose: give the command after --, e.g. vigil propose -- make test"
        )
    expires = parse_duration(args.expires, "--expires") if args.expires else None
    command: dict[str, Any] = {"argv": argv, "cwd": os.getcwd()}
    if args.keep_env:
        command["env_keep"] = list(args.keep_env)
    with open_vigil() as vigil:
        vigil.ensure_schema()
        change = vigil.control.propose(
            RUN_COMMAND,
            command,
            why=args.why,
            proposer=f"person:{_person()}",
            expires_s=expires,
        )
    proposal = change.proposal
    print(json.dumps(proposal.to_dict(), ensure_ascii=False) if args.json else proposal.id)
    if proposal.status == "denied":
        reasons = "; ".join(proposal.policy.get("reasons") or []) or "no reason"
        print(f"vigil: error: {proposal.id} denied by policy: {reasons}", file=sys.stderr)
        return 1
    if not args.json:
        then = (
            "approved by your config (auto_approve)"
            if proposal.status == "approved"
            else f"approve with `vigil approve {proposal.id}`"
        )
        print(f"vigil: proposed: {proposal.effect} ({proposal.risk} risk); {then}", file=sys.stderr)
    return 0


def cmd_proposals(args: argparse.Namespace) -> int:
    with open_vigil() as vigil:
        vigil.ensure_schema()
        vigil.control.expire_due()
        found = vigil.control.store.find(include_all=args.all)
    if args.json:
        print(json.dumps([p.to_dict() for p in found], ensure_ascii=False))
        return 0
    if not found:
        print("no proposals" + ("" if args.all else " waiting (vigil proposals --all)"))
        return 0
    for p in found:
        mark = STATUS_MARK.get(p.status, " ")
        flag = "  ⚠ flagged" if p.flags else ""
        if p.status == "pending":
            when = f"expires {p.expires_at[:19].replace('T', ' ')}"
        else:
            moment = (p.finished_at or p.decided_at or "")[:19].replace("T", " ")
            when = f"{p.decided_by or ''} {moment}"
        print(f"{mark} {p.id}  {p.status:<8} {p.risk:<6} {p.effect}{flag}")
        extra = f"    by {p.proposer}; {when.strip()}"
        if p.why:
            extra += f"; why: {p.why[:120]}"
        if p.policy.get("decision") == "deny":
            extra += f"; policy: {'; '.join(p.policy.get('reasons') or [])[:200]}"
        if p.result and p.result.get("reason"):
            extra += f"; result: {p.result['reason']}"
        print(extra)
    return 0


def _approver(via: str = "cli") -> Any:
    from vigil.guard.proposals import Approver

    return Approver(by=_person(), via=via)


def cmd_approve(args: argparse.Namespace) -> int:
    from vigil.app.control import run_inline
    from vigil.events.doorbell import is_listening

    with open_vigil() as vigil:
        vigil.ensure_schema()
        change = vigil.control.approve(args.id, _approver())
        proposal = change.proposal
        if is_listening(vigil.settings.home):
            print(f"approved {proposal.id}; the daemon runs it", file=sys.stderr)
            deadline = time.monotonic() + max(0.0, args.wait)
            while time.monotonic() < deadline:
                proposal = vigil.control.store.get(proposal.id)
                if proposal.status != "approved":
                    break
                time.sleep(0.05)
        else:
            print(f"approved {proposal.id}; running it here (the daemon is not running)",
                  file=sys.stderr)  # fmt: skip
            proposal = run_inline(vigil, proposal.id).proposal
    return _outcome(proposal, args.json)


def _outcome(proposal: Any, as_json: bool) -> int:
    if as_json:
        print(json.dumps(proposal.to_dict(), ensure_ascii=False))
    result = proposal.result or {}
    if proposal.status == "approved":
        if not as_json:
            print(f"{proposal.id} is still running; see `vigil proposals --all`")
        return 0
    if not as_json:
        tail = str(result.get("output_tail") or "")
        if tail:
            sys.stdout.write(tail if tail.endswith("\n") else tail + "\n")
        reason = result.get("reason") or proposal.decision_why or proposal.status
        print(f"── vigil ── {proposal.id} {proposal.status}: {reason}", file=sys.stderr)
    return 0 if proposal.status == "executed" else 1


def cmd_deny(args: argparse.Namespace) -> int:
    with open_vigil() as vigil:
        vigil.ensure_schema()
        change = vigil.control.deny(args.id, _approver(), why=args.why)
    if args.json:
        print(json.dumps(change.proposal.to_dict(), ensure_ascii=False))
    else:
        print(f"denied {change.proposal.id}")
    return 0
