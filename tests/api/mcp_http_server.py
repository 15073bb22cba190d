"""A real HTTP server for the MCP tests: Vigil's mountable MCP app behind a token check, served
by uvicorn on 127.0.0.1 (port 0); prints the port, serves until stdin closes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from vigil.api.mcp import http_app
from vigil.app import Vigil
from vigil.app.mcp import StoreFace
from vigil.config import load_settings

TOKEN = "test-token-0123456789"


async def main() -> None:
    vigil = Vigil.open(load_settings())
    vigil.ensure_schema()
    mcp = http_app(StoreFace(vigil, Path.cwd()), lambda token: token == TOKEN)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        async with mcp.lifespan():
            yield

    app = Starlette(routes=[Mount("/", app=mcp.app)], lifespan=lifespan)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.should_exit = True
    await task
    vigil.close()


if __name__ == "__main__":
    asyncio.run(main())
