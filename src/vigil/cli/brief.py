"""``vigil brief [--json]``, and the short briefing the first command of a session prints.

Every command marks activity (one small file, no database: :mod:`vigil.memory.session`); only the
first one after an idle gap pays for a briefing, printed on stderr after the command's own output
so that it neither delays the command nor mixes with ``--json`` on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys

TYPE_CHECKING = False  # every command runs ``before_command``: no ``typing`` at run time
if TYPE_CHECKING:
    from vigil.memory.session import Session

#: Commands that never print the short briefing: the daemon, the MCP server (its stdout is the
#: protocol), the briefing itself, and none.
QUIET = frozenset({None, "up", "mcp", "brief", "worker"})


def cmd_brief(args: argparse.Namespace) -> int:
    from vigil.app.memory import briefing, since_last_session
    from vigil.cli.context import open_vigil
    from vigil.memory import briefing as rules

    with open_vigil() as vigil:
        _, since = since_last_session(vigil)
        brief = briefing(vigil, since)
    if args.json:
        print(json.dumps(brief, ensure_ascii=False, indent=2))
    else:
        print("\n".join(rules.lines(brief)))
    return 0


def before_command(command: str | None) -> Session | None:
    """Mark activity; the new session, when this command is the first after an idle gap (and
    one that may print), else ``None``. Cheap: settings and one small file."""
    from datetime import UTC, datetime, timedelta

    from vigil.cli.context import settings
    from vigil.errors import VigilError
    from vigil.memory.session import Sessions

    try:
        config = settings()
    except VigilError:
        return None
    sessions = Sessions(config.run_dir, timedelta(hours=config.idle_gap_h))
    # The command line is the edge where "now" enters (no Clock: it would import ``typing``).
    session, new = sessions.touch(datetime.now(UTC))
    if not new or command in QUIET or session.previous_end is None:
        return None
    return session


def after_command(session: Session | None) -> None:
    """Print the short briefing of what happened between the last session and this one."""
    if session is None:
        return
    from vigil.errors import VigilError

    try:
        from vigil.app import Vigil
        from vigil.app.memory import briefing
        from vigil.cli.context import settings
        from vigil.memory.briefing import short

        with Vigil.open(settings()) as vigil:
            brief = briefing(vigil, session.previous_end, until=session.started)
        print("\n".join(short(brief)), file=sys.stderr)
    except (VigilError, OSError):
        return  # a briefing is a courtesy: never an error of the command that triggered it
