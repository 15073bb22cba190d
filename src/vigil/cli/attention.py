"""``vigil attention replay FILE [--config F] [--json]``: what the gates would have done."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    from vigil.cli.main import Parser, _lazy

    attention = sub.add_parser("attention", help="notification gates: replay a recorded day")
    commands = attention.add_subparsers(
        dest="attention_command", metavar="COMMAND", parser_class=Parser, required=True
    )
    replay = commands.add_parser(
        "replay", help="run a recorded stream through the gates on the event clock"
    )
    replay.add_argument("file", metavar="FILE", help="`vigil events --json` output or JSON lines")
    replay.add_argument("--config", metavar="F", help="a config.toml whose [attention] to use")
    replay.add_argument("--json", action="store_true", help="print JSON")
    replay.set_defaults(func=_lazy("vigil.cli.attention", "cmd_replay"))


def _hhmm(stamp: str) -> str:
    return stamp[:16].replace("T", " ")


def cmd_replay(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from vigil.app.replay import parse_stream, replay
    from vigil.cli.context import settings as load
    from vigil.cli.events import read_input
    from vigil.config.attention import load_attention

    events = parse_stream(read_input(args.file), args.file)
    settings = load()
    rules = load_attention(Path(args.config)) if args.config else None
    report = replay(events, settings, rules)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return 0
    totals = report.totals
    print(
        f"replayed {totals['replayed']} event(s) on their own clock in {report.elapsed_s:.1f} s: "
        f"{totals['requests']} request(s), {totals['interruptions']} interruption(s), "
        f"{totals['delivered_quietly']} shown quietly, {totals['suppressed']} suppressed, "
        f"{totals['still_deferred']} still deferred, {totals['rejected']} rejected"
    )
    print("\nwhat would have interrupted:")
    if not report.interruptions:
        print("  nothing")
    for item in report.interruptions:
        late = f" (+{item['after_s']:.0f} s)" if item["after_s"] >= 1 else ""
        print(
            f"  {_hhmm(item['time'])}{late}  {','.join(item['channels'] or [])}  "
            f"{item['severity']}  {item['title']}\n      {item['gate']}: {item['reason']}"
        )
    print("\nwhy the rest did not (one line per fingerprint):")
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in report.quiet:
        groups.setdefault(str(item["fingerprint"]), []).append(item)
    if not groups:
        print("  nothing else")
    for items in groups.values():
        last = items[-1]
        count = f"{len(items)}x " if len(items) > 1 else ""
        print(
            f"  {_hhmm(items[0]['time'])}  {count}{last['severity']}  {last['title']}\n"
            f"      {last['outcome']} by {last['gate']}: {last['reason']}"
        )
    by_gate = ", ".join(f"{k} {v}" for k, v in totals["by_gate"].items()) or "none"
    print(f"\nby gate: {by_gate}; digest: {totals['digest_lines']} line(s)")
    return 0
