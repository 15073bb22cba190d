"""The webhook benchmark's baseline: a bare Starlette endpoint that does nothing, served exactly
like the daemon serves its app (same uvicorn settings, same socket setup, the same event loop).

``python -m vigil.bench.bare_http PORT`` serves ``POST /hooks/github`` -> 200 until SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys


def main(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from vigil.app.components import bind

    async def nothing(request: Request) -> Response:
        return Response(b'{"ok":true}', media_type="application/json")

    app = Starlette(routes=[Route("/hooks/github", nothing, methods=["POST"])])

    async def serve() -> None:
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", timeout_notify=5
        )
        server = uvicorn.Server(config)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))
        await server.serve(sockets=[bind("127.0.0.1", port)])

    asyncio.run(serve())


if __name__ == "__main__":
    main(int(sys.argv[1]))
