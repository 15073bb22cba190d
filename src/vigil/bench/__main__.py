"""``python -m vigil.bench [--only SECTION[,SECTION...]]... [--quick]``: the report as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

from vigil.bench import SECTIONS

PROG = "vigil.bench"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line and exits 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog=f"python -m {PROG}", description="Vigil's performance report (JSON).")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SECTION",
        help=f"run only these sections (repeatable or comma list): {', '.join(SECTIONS)}",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes: a smoke run in well under a minute"
    )
    args = parser.parse_args(argv)
    from vigil.bench.runner import build_report, select

    try:
        names = select(args.only)
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    try:
        report = build_report(names, quick=args.quick)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing reported", file=sys.stderr)
        return 130
    json.dump(report, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")
    crashed = any("error" in body for body in report["sections"].values())
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
