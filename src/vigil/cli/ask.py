"""``vigil ask "QUESTION" [--json]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from vigil.cli.context import open_vigil
from vigil.errors import UsageError


def cmd_ask(args: argparse.Namespace) -> int:
    from vigil.app.ask import ask

    question = " ".join(args.question).strip()
    if not question:
        raise UsageError('vigil ask: the question is empty (usage: vigil ask "QUESTION")')
    stream = not args.json and sys.stdout.isatty()

    def show(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    with open_vigil() as vigil:
        vigil.ensure_schema()
        result = asyncio.run(ask(vigil, question, on_text=show if stream else None))
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    if not stream:
        sys.stdout.write(result.answer)
    if not result.answer.endswith("\n"):
        sys.stdout.write("\n")
    note = f"— {result.provider}"
    if result.model and result.model != result.provider:
        note += f" ({result.model})"
    note += f", {result.elapsed_ms / 1000:.1f} s"
    if result.skipped:
        note += "; skipped " + ", ".join(f"{s['provider']} ({s['reason']})" for s in result.skipped)
    note += f" · vigil why {result.receipt_id}"
    print(note, file=sys.stderr)
    return 0
