"""Proposals waiting for a person, with approve and deny; the ones decided lately.

The buttons post to ``/api/proposals/ID/approve|deny`` from the script, with the session's
token in ``Authorization`` and ``X-Vigil-Client: dashboard`` (so the approval records that it
came from here). They are ``hidden`` until the script runs: without it the page says how to
decide from the command line instead.
"""

from __future__ import annotations

from typing import Any

from vigil.api.dashboard.data import Proposals
from vigil.api.dashboard.html import Html, badge, el, join, when


def _args(proposal: dict[str, Any]) -> str:
    args = proposal.get("args") or {}
    argv = args.get("argv")
    if isinstance(argv, list):
        return " ".join(str(a) for a in argv)
    return ", ".join(f"{k}={v}" for k, v in args.items())


def _policy(policy: dict[str, Any]) -> Html:
    verdict = "allowed" if policy.get("decision") == "allow" else "denied"
    reasons = "; ".join(str(r) for r in policy.get("reasons") or [])
    return el(
        "p",
        {"class": "policy"},
        "Policy: ",
        badge(verdict, "ok" if verdict == "allowed" else "bad"),
        f" {reasons}" if reasons else "",
    )


def pending_card(p: dict[str, Any]) -> Html:
    pid = str(p["id"])
    flags = p.get("flags") or []
    return el(
        "article",
        {"class": "card proposal", "data-proposal": pid},
        el("h3", None, el("code", None, p.get("effect") or p.get("action"))),
        el(
            "p",
            {"class": "meta"},
            f"{p.get('action')} · risk ",
            badge(
                str(p.get("risk")), {"low": "ok", "medium": "warn"}.get(str(p.get("risk")), "bad")
            ),
            " · proposed by ",
            p.get("proposer") or "?",
            " · expires ",
            when(p.get("expires_at"), date=True),
            " · ",
            el("a", {"href": f"/why/{pid}"}, "why"),
        ),
        el("p", {"class": "why"}, p.get("why") or "") if p.get("why") else "",
        el("p", {"class": "args"}, el("code", None, _args(p))) if p.get("args") else "",
        _policy(p.get("policy") or {}),
        el(
            "ul",
            {"class": "flags"},
            [
                el(
                    "li",
                    None,
                    f"⚠ {f.get('kind')} in {f.get('where')}: ",
                    el("code", None, f.get("match")),
                )
                for f in flags
            ],
        )
        if flags
        else "",
        el(
            "div",
            {"class": "decide", "hidden": True},
            el(
                "button",
                {"type": "button", "class": "approve", "data-decide": "approve", "data-id": pid},
                "Approve",
            ),
            el("label", {"for": f"why-{pid}", "class": "sr-only"}, f"Why deny {pid}"),
            el(
                "input",
                {"id": f"why-{pid}", "class": "deny-why", "placeholder": "why deny (optional)"},
            ),
            el(
                "button",
                {"type": "button", "class": "deny", "data-decide": "deny", "data-id": pid},
                "Deny",
            ),
            el("span", {"class": "result", "role": "status"}, ""),
        ),
        el("p", {"class": "nojs"}, f"Decide with: vigil approve {pid} · vigil deny {pid}"),
    )


def _decided(p: dict[str, Any]) -> Html:
    result = p.get("result") or {}
    outcome = ""
    if result:
        outcome = f" exit {result.get('exit_code')}" if "exit_code" in result else ""
    return el(
        "li",
        None,
        badge(str(p.get("status"))),
        " ",
        el("code", None, p.get("effect") or p.get("action")),
        outcome,
        f" · by {p.get('decided_by')} via {p.get('decided_via')}" if p.get("decided_by") else "",
        f" ({p.get('decision_why')})" if p.get("decision_why") else "",
        " · ",
        when(p.get("decided_at") or p.get("created"), date=True),
        " · ",
        el("a", {"href": f"/why/{p['id']}"}, "why"),
    )


def proposals_section(found: Proposals) -> Html:
    pending = (
        join(pending_card(p) for p in found.pending)
        if found.pending
        else el("p", {"class": "empty"}, "Nothing is waiting for you.")
    )
    decided = ""
    if found.decided:
        decided = join(
            [
                el("h3", None, "Decided lately"),
                el("ul", {"class": "decided"}, [_decided(p) for p in found.decided]),
            ]
        )
    return join([pending, decided])
