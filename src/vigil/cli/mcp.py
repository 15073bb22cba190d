"""``vigil mcp``: serve Vigil's memory over MCP on stdin/stdout (for Claude Code, Cursor...).

Nothing but the protocol goes to stdout; errors go to stderr (and the log), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path


def cmd_mcp(args: argparse.Namespace) -> int:
    from vigil.api.mcp import serve_stdio
    from vigil.app.mcp import StoreFace
    from vigil.cli.context import open_vigil
    from vigil.errors import UsageError

    project = Path(args.project).expanduser() if args.project else Path(os.getcwd())
    if not project.is_dir():
        raise UsageError(f"vigil mcp: --project {project} is not a directory")
    with open_vigil() as vigil:
        vigil.ensure_schema()
        try:
            asyncio.run(serve_stdio(StoreFace(vigil, project.resolve())))
        except KeyboardInterrupt:
            return 130
    return 0
