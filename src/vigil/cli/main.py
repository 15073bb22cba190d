"""``vigil``: the command line. Thin: parse, call, print.

Every :class:`VigilError` becomes one line on stderr and a non-zero exit; a usage mistake
(unknown flag, bad value) too, instead of argparse's multi-line usage dump. Command modules are
imported only when their command runs, so ``vigil --version`` and reading commands start fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from vigil import __version__
from vigil.errors import UsageError, VigilError


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _lazy(module: str, function: str) -> object:
    def call(args: argparse.Namespace) -> int:
        import importlib

        handler = getattr(importlib.import_module(module), function)
        result: int = handler(args)
        return result

    return call


def build_parser() -> Parser:
    parser = Parser(prog="vigil", description="Vigil: an always-on AI operations companion.")
    parser.add_argument("--version", action="version", version=f"vigil {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    up = sub.add_parser("up", help="run the daemon in the foreground")
    up.add_argument("--port", type=int, help="HTTP port on 127.0.0.1 (default 7878, 0: any)")
    up.set_defaults(func=_lazy("vigil.cli.daemon", "cmd_up"))

    status = sub.add_parser("status", help="daemon and store status")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=_lazy("vigil.cli.daemon", "cmd_status"))

    run = sub.add_parser(
        "run", help="run a command; diagnose it if it fails", usage="vigil run -- CMD [ARGS...]"
    )
    run.add_argument("argv", nargs=argparse.REMAINDER, help="the command and its arguments")
    run.set_defaults(func=_lazy("vigil.cli.run", "cmd_run"))

    triage = sub.add_parser("triage", help="diagnose saved build or test output")
    triage.add_argument("--log", required=True, metavar="FILE", help="the output ('-': stdin)")
    triage.add_argument("--cwd", help="the project directory the output came from")
    triage.add_argument("--command", dest="cmdline", help="the command that produced it")
    triage.add_argument("--json", action="store_true", help="print JSON")
    triage.set_defaults(func=_lazy("vigil.cli.run", "cmd_triage"))

    events = sub.add_parser("events", help="list recorded events")
    events.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="PATTERN",
        help="type glob, e.g. 'build.*' (repeatable)",
    )
    events.add_argument("--since", metavar="TIME", help="10m, 2h, 3d, today or ISO 8601")
    events.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (50)")
    events.add_argument("--json", action="store_true", help="print a JSON array")
    events.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    events.add_argument("--id", dest="event_id", metavar="ID", help="show one event in full")
    events.set_defaults(func=_lazy("vigil.cli.events", "cmd_events"))

    ingest = sub.add_parser("ingest", help="store events from JSON lines (all or nothing)")
    ingest.add_argument("file", metavar="FILE|-", help="JSON lines file, or - for stdin")
    ingest.add_argument("--json", action="store_true", help="print the stored ids as JSON")
    ingest.set_defaults(func=_lazy("vigil.cli.events", "cmd_ingest"))

    ask = sub.add_parser("ask", help="ask a question about your project (tools, offline ok)")
    ask.add_argument("question", nargs="+", metavar="QUESTION")
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.set_defaults(func=_lazy("vigil.cli.ask", "cmd_ask"))

    why = sub.add_parser("why", help="what a triage or an answer was based on")
    why.add_argument("id", metavar="ID", help="an event id or a receipt id")
    why.add_argument("--json", action="store_true", help="print JSON")
    why.set_defaults(func=_lazy("vigil.cli.why", "cmd_why"))

    health = sub.add_parser("health", help="components, heartbeats, breakers, readiness")
    health.add_argument("--json", action="store_true", help="print JSON")
    health.set_defaults(func=_lazy("vigil.cli.health", "cmd_health"))

    service = sub.add_parser("service", help="run Vigil under systemd")
    service_sub = service.add_subparsers(
        dest="service_command", metavar="COMMAND", parser_class=Parser, required=True
    )
    install = service_sub.add_parser("install", help="write a systemd unit for vigil up")
    install.add_argument("--user", action="store_true", help="a user unit (no root needed)")
    install.add_argument("--print", action="store_true", help="print the unit, write nothing")
    install.set_defaults(func=_lazy("vigil.cli.health", "cmd_service_install"))

    deadletters = sub.add_parser("dead-letters", help="events a handler failed on")
    deadletters.add_argument("--json", action="store_true", help="print JSON")
    deadletters.add_argument("--limit", type=int, default=50, metavar="N")
    deadletters.set_defaults(func=_lazy("vigil.cli.events", "cmd_dead_letters"))

    from vigil.cli.kb import add_parser as add_kb
    from vigil.cli.logs import add_parser as add_logs
    from vigil.cli.stats import add_parser as add_stats

    add_kb(sub)
    add_stats(sub)
    add_logs(sub)
    return parser


def _quiet_library_logs() -> None:
    """The CLI speaks through its output and one-line errors; library warnings (git skipped,
    a breaker open) belong in the daemon's log, which ``vigil up`` configures."""
    import logging

    root = logging.getLogger("vigil")
    if not root.handlers:
        root.addHandler(logging.NullHandler())
        root.propagate = False


def _run_kb(args: argparse.Namespace) -> int:
    from vigil.cli.context import open_vigil

    with open_vigil() as vigil:
        code: int = args.kb_handler(args, vigil.knowledge)
        return code


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(arguments)
        _quiet_library_logs()
        if getattr(args, "kb_handler", None) is not None:
            return _run_kb(args)
        if getattr(args, "func", None) is None:
            parser.print_help(sys.stderr)
            return 2
        code: int = args.func(args)
        return code
    except VigilError as exc:
        print(f"vigil: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
