"""``vigil why`` for control: the chain from a failure to a proposal and what came of it."""

from __future__ import annotations

import json
from typing import Any

from vigil.guard.chain import walk
from vigil.guard.proposals import Proposal


def print_chain(vigil: Any, identifier: str, proposal: Proposal, as_json: bool) -> int:
    steps = walk(proposal, vigil.log, vigil.receipts)
    if as_json:
        body = {"id": identifier, "proposal": proposal.to_dict(), "chain": steps}
        print(json.dumps(body, ensure_ascii=False))
        return 0
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
