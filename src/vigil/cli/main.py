"""``vigil``: the command line. Thin: parse, call, print.

Every :class:`VigilError` becomes one line on stderr and a non-zero exit; a usage mistake
(unknown flag, bad value) too, instead of argparse's multi-line usage dump. A flag the command
does not know is reported by that command, with the closest flag it does know::

    vigil events: unrecognized arguments: --limt (did you mean --limit? see vigil events --help)

Start-up is part of the interface (read commands start at the speed of Python: the bench's
``startup`` section). So the parser defines in full only the command being run; every other
command is one line (its name and help), which is all ``vigil --help`` shows, and a command's
module is imported only when it runs. Adding a command is one entry in :data:`COMMANDS`: its help
line and either a function here that adds its arguments (and ``func``), or the name of a module
whose ``add_parser(subparsers)`` registers it (``kb``, ``stats``).
"""

from __future__ import annotations

import argparse
import os
import sys

from vigil import __version__
from vigil.errors import UsageError, VigilError

TYPE_CHECKING = False  # spelt out: importing ``typing`` costs a read command a tenth of its time
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

    Define = Callable[[argparse.ArgumentParser], None]


class ParseError(UsageError):
    """A usage mistake found by the parser; its message names the command already."""


class Formatter(argparse.HelpFormatter):
    """argparse's help formatter, as wide as the terminal, found without ``shutil`` (argparse
    imports it, and asks the terminal again, for every argument a parser defines)."""

    columns: int | None = None

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = self._terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)

    @classmethod
    def _terminal_columns(cls) -> int:
        if cls.columns is None:
            try:
                cls.columns = int(os.environ["COLUMNS"])
            except (KeyError, ValueError):
                stream = sys.__stdout__
                try:
                    cls.columns = os.get_terminal_size(stream.fileno()).columns if stream else 0
                except (ValueError, OSError):
                    cls.columns = 0
            if cls.columns <= 0:
                cls.columns = 80
        return cls.columns


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise ParseError(f"{self.prog}: {message} (see {self.prog} --help)")

    def reject(self, extras: Sequence[str]) -> NoReturn:
        """Refuse arguments this command does not know, suggesting the closest flag."""
        flags = [extra for extra in extras if extra.startswith("-")]  # not the value after one
        message = f"{self.prog}: unrecognized arguments: {' '.join(flags or extras)}"
        closest = self.closest_flag(extras)
        hint = f"did you mean {closest}? " if closest else ""
        raise ParseError(f"{message} ({hint}see {self.prog} --help)")

    def closest_flag(self, extras: Sequence[str]) -> str | None:
        """The known flag nearest to the first unknown one that looks like a flag."""
        import difflib  # only on a mistake

        flags = [
            option
            for action in self._actions
            for option in action.option_strings
            if option.startswith("--") and action.help != argparse.SUPPRESS
        ]
        for extra in extras:
            if extra.startswith("--") and len(extra) > 2:
                word = extra.split("=", 1)[0]
                matches = difflib.get_close_matches(word, flags, n=1, cutoff=0.6)
                if matches:
                    return matches[0]
        return None


def _lazy(module: str, function: str) -> object:
    def call(args: argparse.Namespace) -> int:
        import importlib

        handler = getattr(importlib.import_module(module), function)
        result: int = handler(args)
        return result

    return call


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


# -- the commands ------------------------------------------------------------------------------


def _up(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, help="HTTP port on 127.0.0.1 (default 7878, 0: any)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1; others need --allow-remote)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (reads need a token)",
    )
    p.set_defaults(func=_lazy("vigil.cli.daemon", "cmd_up"))


def _status(p: argparse.ArgumentParser) -> None:
    _json(p)
    p.set_defaults(func=_lazy("vigil.cli.daemon", "cmd_status"))


def _run(p: argparse.ArgumentParser) -> None:
    p.usage = "vigil run [--explain] -- CMD [ARGS...]"
    p.add_argument(
        "--explain",
        action="store_true",
        help="wait (a few seconds at most) for the model's explanation before returning",
    )
    p.add_argument("argv", nargs=argparse.REMAINDER, help="the command and its arguments")
    p.set_defaults(func=_lazy("vigil.cli.run", "cmd_run"))


def _triage(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log", required=True, metavar="FILE", help="the output ('-': stdin)")
    p.add_argument("--cwd", help="the project directory the output came from")
    p.add_argument("--command", dest="cmdline", help="the command that produced it")
    _json(p)
    p.set_defaults(func=_lazy("vigil.cli.run", "cmd_triage"))


def _events(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="PATTERN",
        help="type glob, e.g. 'build.*' (repeatable)",
    )
    p.add_argument("--since", metavar="TIME", help="10m, 2h, 3d, today or ISO 8601")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (50)")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    p.add_argument("--id", dest="event_id", metavar="ID", help="show one event in full")
    p.set_defaults(func=_lazy("vigil.cli.events", "cmd_events"))


def _ingest(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE|-", help="JSON lines file, or - for stdin")
    p.add_argument("--json", action="store_true", help="print the stored ids as JSON")
    p.set_defaults(func=_lazy("vigil.cli.events", "cmd_ingest"))


def _ask(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", nargs="+", metavar="QUESTION")
    _json(p)
    p.set_defaults(func=_lazy("vigil.cli.ask", "cmd_ask"))


def _why(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID", help="an event id or a receipt id")
    _json(p)
    p.set_defaults(func=_lazy("vigil.cli.why", "cmd_why"))


def _health(p: argparse.ArgumentParser) -> None:
    _json(p)
    p.set_defaults(func=_lazy("vigil.cli.health", "cmd_health"))


def _service(p: argparse.ArgumentParser) -> None:
    commands = p.add_subparsers(
        dest="service_command", metavar="COMMAND", parser_class=Parser, required=True
    )
    install = commands.add_parser("install", help="write a systemd unit for vigil up")
    install.add_argument("--user", action="store_true", help="a user unit (no root needed)")
    install.add_argument("--print", action="store_true", help="print the unit, write nothing")
    install.add_argument(
        "--port", type=int, metavar="N", help="the port the unit's daemon listens on"
    )
    install.set_defaults(func=_lazy("vigil.cli.health", "cmd_service_install"))


def _dead_letters(p: argparse.ArgumentParser) -> None:
    _json(p)
    p.add_argument("--limit", type=int, default=50, metavar="N")
    p.set_defaults(func=_lazy("vigil.cli.events", "cmd_dead_letters"))


def _brief(p: argparse.ArgumentParser) -> None:
    _json(p)
    p.set_defaults(func=_lazy("vigil.cli.brief", "cmd_brief"))


def _mcp(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--project", metavar="DIR", help="the project directory (default: the current one)"
    )
    p.set_defaults(func=_lazy("vigil.cli.mcp", "cmd_mcp"))


COMMANDS: dict[str, tuple[str, Define | str]] = {
    "up": ("run the daemon in the foreground", _up),
    "status": ("daemon and store status", _status),
    "run": ("run a command; diagnose it if it fails", _run),
    "triage": ("diagnose saved build or test output", _triage),
    "events": ("list recorded events", _events),
    "ingest": ("store events from JSON lines (all or nothing)", _ingest),
    "ask": ("ask a question about your project (tools, offline ok)", _ask),
    "why": ("what a triage or an answer was based on", _why),
    "health": ("components, heartbeats, breakers, readiness", _health),
    "service": ("run Vigil under systemd", _service),
    "dead-letters": ("events a handler failed on", _dead_letters),
    "kb": ("the knowledge base: fixes, decisions, mistakes, patterns, notes", "vigil.cli.kb"),
    "stats": ("latency, success rate and resource use, with trends", "vigil.cli.stats"),
    "notify": ("tell yourself something (always delivered)", "vigil.cli.notify"),
    "inbox": ("every notification requested, with its decision", "vigil.cli.notify"),
    "digest": ("what was held back, one line per kind", "vigil.cli.notify"),
    "focus": ("hold interruptions for a while: 45m, 2h, off", "vigil.cli.notify"),
    "attention": ("notification gates: replay a recorded day", "vigil.cli.attention"),
    "propose": ("propose a command for a person to approve", "vigil.cli.control"),
    "proposals": ("proposals waiting for a person (--all: every one)", "vigil.cli.control"),
    "approve": ("approve a proposal: it runs, within bounds", "vigil.cli.control"),
    "deny": ("deny a proposal", "vigil.cli.control"),
    "say": ("speak TEXT (espeak-ng; to a WAV file, played if possible)", "vigil.cli.voice"),
    "listen": ("understand a spoken command (a WAV file, or the microphone)", "vigil.cli.voice"),
    "brief": ("what happened since last time, what is next", _brief),
    "mcp": ("serve Vigil's memory to AI coding tools (Model Context Protocol, stdio)", _mcp),
    "token": ("tokens for the HTTP API (needed for writes)", "vigil.cli.token"),
    "hooks": ("git hooks: commits and branch switches", "vigil.cli.hooks"),
    "chores": ("scheduled chores: last and next runs", "vigil.cli.chores"),
    "logs": ("log templates, summaries and following", "vigil.cli.logs"),
}
"""Command name -> (help line, how to define it). Listed in this order by ``vigil --help``."""

# Commands that never import ``logging`` (tests pin it): nothing to quiet, so they skip it.
_LIGHT = frozenset({"events"})


def command_word(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names: its first word that is not an option (the top-level options,
    ``--version`` and ``--help``, take no value)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] | None = None) -> Parser:
    """The parser. Given ``argv``, only what parsing it needs is defined: the command it names,
    in full; or, for help or a word that is no command, every command's name and help line; or
    nothing more (``vigil --version``). Without ``argv`` every command is defined in full (for
    tests and documentation)."""
    parser = Parser(prog="vigil", description="Vigil: an always-on AI operations companion.")
    parser.add_argument("--version", action="version", version=f"vigil {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    wanted = command_word(argv) if argv is not None else None
    if argv is not None and wanted is None and argv and not _asks_help(argv):
        return parser  # --version, or a stray flag: no command needed
    modules: set[str] = set()  # a module may define several commands (notify, inbox...)
    for name, (summary, define) in COMMANDS.items():
        if argv is not None and name != wanted:
            if wanted not in COMMANDS:
                sub.add_parser(name, help=summary)  # listed by --help; never parsed
        elif isinstance(define, str):
            if define not in modules:
                import importlib

                modules.add(define)
                importlib.import_module(define).add_parser(sub)
        else:
            define(sub.add_parser(name, help=summary))
    return parser


def _asks_help(argv: Sequence[str]) -> bool:
    """Whether the top-level options ask for help (``-h``, ``--help`` or a start of it)."""
    return any(a == "-h" or (a.startswith("--h") and "--help".startswith(a)) for a in argv)


def chosen_parser(parser: Parser, args: argparse.Namespace) -> Parser:
    """The (sub)command parser that ``args`` were parsed by, deepest first."""
    while True:
        subparsers = next(
            (a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None
        )
        name = getattr(args, subparsers.dest, None) if subparsers is not None else None
        if subparsers is None or name not in subparsers.choices:
            return parser
        parser = subparsers.choices[name]


def parse(arguments: Sequence[str]) -> tuple[Parser, argparse.Namespace]:
    """Parse ``arguments``; a flag no command knows is reported by the command it was given to."""
    parser = build_parser(arguments)
    args, extras = parser.parse_known_args(arguments)
    if extras:
        chosen_parser(parser, args).reject(extras)
    return parser, args


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


# Commands that print no notices: the daemon, the ones whose output is a protocol or a stream
# that never ends, the inbox (it shows them all) and notify (its own notice waits for the next).
_NO_NOTICES = frozenset({"up", "mcp", "worker", "inbox", "notify"})


def _show_notices(args: argparse.Namespace) -> None:
    """Notices the terminal channel left for the next command (one ``stat`` when none)."""
    if args.command in _NO_NOTICES or getattr(args, "follow", False):
        return
    from vigil.config import default_home

    path = default_home() / "run" / "notices.jsonl"
    try:
        if not path.exists():
            return
    except OSError:
        return
    from vigil.notify.channels.terminal import show

    try:
        show(default_home(), sys.stderr)
    except OSError:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        parser, args = parse(arguments)
        if getattr(args, "command", None) not in _LIGHT:
            _quiet_library_logs()
        if getattr(args, "kb_handler", None) is None and getattr(args, "func", None) is None:
            parser.print_help(sys.stderr)
            return 2
        from vigil.cli.brief import after_command, before_command

        session = before_command(args.command)
        if getattr(args, "kb_handler", None) is not None:
            code: int = _run_kb(args)
        else:
            code = args.func(args)
        after_command(session)
        _show_notices(args)
        return code
    except ParseError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    except VigilError as exc:
        print(f"vigil: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
