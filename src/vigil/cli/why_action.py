"""``vigil why`` for control: the chain from a failure to a proposal and what came of it."""

from __future__ import annotations

from typing import Any

from vigil.guard.proposals import Proposal


def print_chain(identifier: str, proposal: Proposal, steps: list[dict[str, Any]]) -> int:
    print(f"why {identifier}: {proposal.id} {proposal.status}: {proposal.effect}")
    for step in steps:
        when = str(step.get("time") or "")[:19].replace("T", " ")
        print(f"  {step['step']:<9} {step['id']}  {when}  {step.get('summary', '')}")
        if step["step"] == "proposal":
            policy = step["policy"]
            verdict = "allowed" if policy.get("decision") == "allow" else "denied"
            reasons = "; ".join(policy.get("reasons") or [])
            print(f"            policy ({policy.get('stage')}): {verdict}"
                  + (f": {reasons}" if reasons else ""))  # fmt: skip
            for flag in step["flags"]:
                print(f"            ⚠ {flag['kind']} in {flag['where']}: {flag['match']!r}")
        if step.get("output_tail"):
            last = step["output_tail"].rstrip().splitlines()[-3:]
            for line in last:
                print(f"            | {line[:160]}")
    return 0
