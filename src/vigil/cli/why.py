"""``vigil why ID``: what a triage, an enrichment or an answer was based on, from its receipts;
for a notification (its request or any decision about it), every gate's say, from the decisions.

ID may be a receipt id (``rc_...``), a failure event, its ``triage.completed`` or its
``triage.enriched`` event: each leads to the failure's receipts. What explains an id is gathered
by ``vigil.app.why`` (the dashboard shows the same); this module words it.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from vigil.cli.context import open_vigil


def _spent(skip: dict[str, Any]) -> str:
    """What a provider's failed attempt cost, when it ran at all."""
    tokens = int(skip.get("prompt_tokens") or 0) + int(skip.get("completion_tokens") or 0)
    return f" ({tokens} tokens spent)" if tokens else ""


def _size(chars: int) -> str:
    return f"{chars} chars" if chars < 10_000 else f"{chars / 1000:.0f}k chars"


def _tool_line(call: dict[str, Any]) -> str:
    """One tool call: who called it, the tool and its arguments, and what came back."""
    who = f"[{call['provider']}] " if call.get("provider") else ""
    arguments = call.get("raw_arguments")  # a malformed call: what the model sent
    if arguments is None:
        arguments = json.dumps(call.get("arguments", {}), ensure_ascii=False)
    if len(arguments) > 200:
        arguments = arguments[:199] + "…"
    status = "ok" if call.get("ok", True) else "error"
    size = f", {_size(int(call['chars']))}" if call.get("chars") is not None else ""
    took = f", {float(call['elapsed_ms']):.0f} ms" if call.get("elapsed_ms") is not None else ""
    return f"  tool {who}{call.get('name')}({arguments}) -> {status}{size}{took}"


def _lines(receipt: Any) -> list[str]:
    out = receipt.outcome
    head = (
        f"{receipt.kind:<10} {receipt.id}  {receipt.provider}"
        + (f" ({receipt.model})" if receipt.model and receipt.model != receipt.provider else "")
        + f", {receipt.elapsed_ms:.0f} ms"
    )
    lines = [head]
    for skip in receipt.skipped:
        lines.append(f"  skipped {skip['provider']}: {skip['reason']}{_spent(skip)}")
    if receipt.kind == "triage":
        lines.append(f"  {out.get('summary')}")
        lines.append(
            f"  parsed {out.get('failures')} failure(s) with "
            f"{', '.join(out.get('tools') or ['no known tool'])}; "
            f"fingerprint {out.get('fingerprint') or '-'}"
        )
        for fix in out.get("known_fixes") or []:
            lines.append(f'  known fix {fix["id"]} "{fix["title"]}" (matched by {fix["match"]})')
        suspects = out.get("suspects") or []
        if suspects:
            since = next((e for e in receipt.inputs.get("events", [])[1:]), None)
            where = f" since the last green run {since}" if since else ""
            lines.append(f"  suspects{where}: {', '.join(suspects)}")
        history = out.get("history") or {}
        if history:
            lines.append(
                f"  history: seen {history.get('seen', 0)} time(s) before"
                + (", flaky" if history.get("flaky") else "")
            )
        for note in out.get("notes") or []:
            lines.append(f"  note: {note}")
    elif receipt.kind == "enrichment":
        lines.append(f"  explanation: {out.get('explanation')}")
        lines.append(f"  next step: {out.get('next_step')}")
    else:
        if out.get("question"):
            lines.append(f"  question: {out['question']}")
        lines.extend(_tool_line(call) for call in receipt.tool_calls)
        if not receipt.tool_calls:
            lines.append("  tools: none called")
        cited = receipt.inputs.get("cited") or []
        if cited:
            lines.append(f"  cited: {', '.join(cited)}")
        if out.get("answer"):
            answer = str(out["answer"]).strip().replace("\n", " ")
            lines.append(f"  answer: {answer[:300]}")
    tokens = receipt.prompt_tokens + receipt.completion_tokens
    if tokens or receipt.kind in ("answer", "enrichment"):
        lines.append(
            f"  tokens: {receipt.prompt_tokens} in, {receipt.completion_tokens} out"
            + (f", ${receipt.cost:.5f}" if receipt.cost else "")
            + ("" if tokens else " (no model was used)")
        )
    return lines


def cmd_why(args: argparse.Namespace) -> int:
    from vigil.app.why import why

    with open_vigil() as vigil:
        vigil.ensure_schema()
        found = why(vigil, args.id)
        if args.json:
            print(json.dumps(found.body, ensure_ascii=False))
            return 0
        if found.kind == "notification":
            from vigil.cli.notify import explain_lines

            print("\n".join(explain_lines(found.body)))
            return 0
        if found.proposal is not None:  # a proposal, its events or receipts: walk its chain
            from vigil.cli.why_action import print_chain

            return print_chain(args.id, found.proposal, found.body["chain"])
        event = found.body["event"]
        if event:
            data = event["data"]
            print(
                f"why {args.id}: {event['type']} `{event.get('subject') or data.get('command')}`"
                f" at {event['time'][:19].replace('T', ' ')}"
                + (f", exit {data['exit_code']}" if "exit_code" in data else "")
            )
        for receipt in found.receipts:
            print("\n".join(_lines(receipt)))
    return 0
