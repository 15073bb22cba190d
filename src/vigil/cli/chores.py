"""``vigil chores [--json]`` (schedule, last and next run, result) and
``vigil chores run NAME [--json]`` (run one now)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TypeVar

P = TypeVar("P", bound=argparse.ArgumentParser)


def add_parser(subparsers: argparse._SubParsersAction[P]) -> P:
    """Register ``chores`` on ``subparsers``."""
    chores = subparsers.add_parser("chores", help="scheduled chores: last and next runs")
    chores.add_argument("--json", action="store_true", help="print JSON")
    chores.set_defaults(func=cmd_chores)
    sub = chores.add_subparsers(dest="chores_command", metavar="COMMAND", parser_class=type(chores))
    run = sub.add_parser("run", help="run one chore now")
    run.add_argument("name", metavar="NAME")
    run.add_argument("--json", action="store_true", help="print JSON")
    run.set_defaults(func=cmd_run)
    return chores


def _short(value: Any) -> str:
    return "-" if not value else str(value)[:19].replace("T", " ")


def cmd_chores(args: argparse.Namespace) -> int:
    from vigil.app.chores import open_chores
    from vigil.cli.context import open_vigil

    with open_vigil() as vigil:
        rows = open_chores(vigil).listing()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for row in rows:
        state = "off" if not row["enabled"] else ("ok" if row["ok"] else "FAILED")
        if row["ok"] is None and row["enabled"]:
            state = "never ran"
        print(
            f"{row['name']:<19} {row['schedule']:<32} last {_short(row['last_run']):<19} "
            f"{state:<9} next {_short(row['next_run'])}"
        )
        if row["error"]:
            print(f"  ! {row['error']}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from vigil.app.chores import open_chores
    from vigil.cli.context import open_vigil

    with open_vigil() as vigil:
        chores = open_chores(vigil)
        ok, result, events = chores.run(args.name)
        vigil.publish(events)
    if args.json:
        print(json.dumps({"name": args.name, "ok": ok, "result": result}, ensure_ascii=False))
    elif ok:
        print(f"{args.name}: done {json.dumps(result, ensure_ascii=False)}")
    else:
        print(f"vigil: error: chore {args.name} failed: {result.get('error')}", file=sys.stderr)
    return 0 if ok else 1
