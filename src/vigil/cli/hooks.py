"""``vigil hooks install|uninstall|status [--repo DIR]``: git hooks that publish commits,
branch switches and merges. ``vigil hooks run HOOK ARGS...`` is what the hooks call."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TypeVar

P = TypeVar("P", bound=argparse.ArgumentParser)


def add_parser(subparsers: argparse._SubParsersAction[P]) -> P:
    """Register ``hooks`` on ``subparsers``."""
    hooks = subparsers.add_parser("hooks", help="git hooks: commits and branch switches")
    sub = hooks.add_subparsers(
        dest="hooks_command", metavar="COMMAND", parser_class=type(hooks), required=True
    )
    for name, text, func in (
        (
            "install",
            "install post-commit, post-checkout, post-merge (existing ones chained)",
            cmd_install,
        ),
        ("uninstall", "remove Vigil's hooks and restore the chained ones", cmd_uninstall),
        ("status", "which hooks are Vigil's", cmd_status),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("--repo", default=".", metavar="DIR", help="the repository (.)")
        command.add_argument("--json", action="store_true", help="print JSON")
        command.set_defaults(func=func)
    run = sub.add_parser("run", help=argparse.SUPPRESS)
    run.add_argument("hook")
    run.add_argument("args", nargs=argparse.REMAINDER)
    run.set_defaults(func=cmd_run)
    return hooks


def cmd_install(args: argparse.Namespace) -> int:
    from vigil.cli.context import settings
    from vigil.sources.git_hooks import install, interpreter

    home = settings().home.absolute()
    changes = install(Path(args.repo).absolute(), interpreter(), home)
    if args.json:
        print(json.dumps([c.to_dict() for c in changes]))
        return 0
    for change in changes:
        note = " (the existing hook runs first)" if change.action == "chained" else ""
        print(f"{change.action:<9} {change.path}{note}")
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    from vigil.sources.git_hooks import uninstall

    changes = uninstall(Path(args.repo).absolute())
    if args.json:
        print(json.dumps([c.to_dict() for c in changes]))
        return 0
    for change in changes:
        note = " (not Vigil's: left alone)" if change.action == "foreign" else ""
        print(f"{change.action:<9} {change.path}{note}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from vigil.sources.git_hooks import status

    rows = status(Path(args.repo).absolute())
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        chained = ", chains the earlier hook" if row["chained"] else ""
        print(f"{row['hook']:<14} {row['state']}{chained}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Called by the hooks in the background; never prints, and a failure changes nothing."""
    from vigil.cli.context import open_vigil
    from vigil.sources.git_hooks import hook_events

    with open_vigil() as vigil:
        events = hook_events(args.hook, list(args.args), Path.cwd(), vigil.clock)
        if events:
            vigil.publish(events)
    return 0
