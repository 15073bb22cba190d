"""A real OpenAI-compatible HTTP server on 127.0.0.1 for provider tests, with injectable faults.

The standard library's ``ThreadingHTTPServer`` in a background thread, speaking HTTP/1.1 with
keep-alive and chunked server-sent events, like the real servers. Each chat request takes the
next scripted step (:meth:`OpenAIServer.script`), or :attr:`OpenAIServer.default` when none is
left, so faults switch between requests:

* :class:`Reply`: text, JSON or tool calls (``arguments`` a mapping, or any raw string,
  invalid JSON included), usage; ``delay_ms`` of latency; ``cut_after`` drops the connection
  mid-way (after that many stream events, or half-way through a plain body); ``stall_after``
  stops a stream after that many events until the server stops.
* :class:`Hang`: never answers while the server runs (stopping the server releases it).
* :class:`Status`: an error answer: 500/502/503, 429 with ``Retry-After``, 401, 400...
* :class:`Raw`: any body with any status, e.g. malformed JSON.

Server-wide switches model what a server supports: ``reject_formats`` (the ``response_format``
types it answers 400 to) and ``reject_stream_options``. ``ollama_models`` serves ``/api/tags``.
Every request is recorded (method, path, headers, body) before any fault applies.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from vigil.reasoning.provider import Message, Request
from vigil.reasoning.providers.openai import OpenAICompatibleProvider


@dataclass(frozen=True)
class ToolCallReply:
    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str = ""

    def wire_arguments(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class Reply:
    text: str = ""
    tool_calls: Sequence[ToolCallReply] = ()
    prompt_tokens: int = 11
    completion_tokens: int = 7
    finish_reason: str | None = None  # "tool_calls" when there are some, else "stop"
    delay_ms: int = 0
    cut_after: int | None = None  # stream: events sent before the drop; plain: half the body
    stall_after: int | None = None  # stream: events sent before it stops until the server does
    framing: Literal["chunked", "close"] = "chunked"  # how a stream is framed
    send_done: bool = True  # end a stream with ``data: [DONE]``

    @property
    def finish(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")


@dataclass(frozen=True)
class Hang:
    pass


@dataclass(frozen=True)
class Status:
    code: int
    message: str = "server error"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_ms: int = 0


@dataclass(frozen=True)
class Raw:
    body: bytes
    status: int = 200
    content_type: str = "application/json"


Step = Reply | Hang | Status | Raw


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: Mapping[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class OpenAIServer(ThreadingHTTPServer):
    """Serves ``/v1/chat/completions`` and ``/api/tags`` on 127.0.0.1 until :meth:`stop`."""

    daemon_threads = True
    block_on_close = False  # stop() joins the handler threads itself, with a timeout

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.default: Step = Reply(text="ok")
        self.reject_formats: set[str] = set()
        self.reject_stream_options = False
        self.ollama_models: list[str] | None = None
        self.requests: list[Recorded] = []
        self.errors: list[str] = []  # tracebacks of handler bugs (not of clients hanging up)
        self.release = threading.Event()  # set on stop: hangs and delays end
        self._steps: deque[Step] = deque()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    @property
    def chat_bodies(self) -> list[Any]:
        """The JSON bodies of the chat requests received, in order."""
        with self._lock:
            return [r.json() for r in self.requests if r.path.endswith("/chat/completions")]

    def script(self, *steps: Step) -> None:
        """Queue steps: each chat request takes the next one."""
        with self._lock:
            self._steps.extend(steps)

    def next_step(self) -> Step:
        with self._lock:
            return self._steps.popleft() if self._steps else self.default

    def record(self, recorded: Recorded) -> None:
        with self._lock:
            self.requests.append(recorded)

    def start(self) -> OpenAIServer:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="openai-test-server"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hangs, drop every connection, and join every thread (or fail saying so)."""
        self.release.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
        with self._lock:
            connections, handlers = list(self._connections), list(self._handlers)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()
        for handler in handlers:
            handler.join(5)
        stuck = [t.name for t in handlers if t.is_alive()]
        if stuck or (self._thread is not None and self._thread.is_alive()):
            raise RuntimeError(f"the test server did not stop: {stuck}")

    # -- bookkeeping for the handlers ----------------------------------------------------------

    def track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)
            self._handlers.add(threading.current_thread())

    def untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up is expected; anything else is a bug in this server."""
        trace = traceback.format_exc()
        if not any(e in trace for e in ("BrokenPipeError", "ConnectionResetError", "TimeoutError")):
            self.errors.append(trace)


class _Handler(BaseHTTPRequestHandler):
    server: OpenAIServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # no read blocks forever, whatever a test does

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- routes -----------------------------------------------------------------------------------

    def _record(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.record(Recorded(self.command, self.path, headers, body))
        return body

    def do_GET(self) -> None:
        self._record()
        models = self.server.ollama_models
        if self.path == "/api/tags" and models is not None:
            self._send_json(200, {"models": [{"name": m, "model": m} for m in models]})
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = self._record()
        if self.path != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        try:
            payload = json.loads(body)
        except ValueError:
            self._send_json(400, {"error": {"message": "the body is not JSON"}})
            return
        rejection = self._rejection(payload)
        if rejection:
            self._send_json(400, {"error": {"message": rejection, "type": "invalid_request"}})
            return
        try:
            self._answer(self.server.next_step(), payload)
        except OSError:
            self.close_connection = True  # the client hung up

    def _rejection(self, payload: Mapping[str, Any]) -> str | None:
        kind = (payload.get("response_format") or {}).get("type")
        if kind in self.server.reject_formats:
            return f"response_format type '{kind}' is not supported by this server"
        if self.server.reject_stream_options and "stream_options" in payload:
            return "Unrecognized request argument supplied: stream_options"
        return None

    def _answer(self, step: Step, payload: Mapping[str, Any]) -> None:
        if isinstance(step, Hang):
            self.server.release.wait()
            self.close_connection = True
            return
        delay = getattr(step, "delay_ms", 0)
        if delay and self.server.release.wait(delay / 1000):
            self.close_connection = True
            return
        if isinstance(step, Status):
            error = {"message": step.message, "type": "error", "code": step.code}
            self._send_json(step.code, {"error": error}, step.headers)
        elif isinstance(step, Raw):
            self._send(step.status, step.body, step.content_type)
        elif payload.get("stream"):
            self._stream(step, payload)
        else:
            self._plain(step, payload)

    # -- answers ----------------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        cut: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if cut:
            self.wfile.write(body[: len(body) // 2])
            self._drop()
        else:
            self.wfile.write(body)

    def _send_json(self, status: int, data: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), "application/json", headers)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _plain(self, reply: Reply, payload: Mapping[str, Any]) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id or f"call_{i}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.wire_arguments()},
                }
                for i, call in enumerate(reply.tool_calls)
            ]
        data = {
            **_envelope(payload, "chat.completion"),
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish}],
            "usage": _usage(reply),
        }
        body = json.dumps(data).encode()
        self._send(200, body, "application/json", cut=reply.cut_after is not None)

    def _stream(self, reply: Reply, payload: Mapping[str, Any]) -> None:
        chunked = reply.framing == "chunked"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        events = _stream_events(reply, payload)
        for count, event in enumerate(events):
            if reply.cut_after is not None and count >= reply.cut_after:
                self._drop()
                return
            if reply.stall_after is not None and count >= reply.stall_after:
                self.server.release.wait()
                self._drop()
                return
            data = f"data: {event}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
            time.sleep(0.001)  # separate writes, as a model produces them
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._drop()


def _envelope(payload: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return {"id": "chatcmpl-test", "object": kind, "created": 0, "model": payload.get("model")}


def _usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def _stream_events(reply: Reply, payload: Mapping[str, Any]) -> list[str]:
    """The ``data:`` payloads of a streamed reply, in order."""

    def chunk(delta: Mapping[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": dict(delta), "finish_reason": finish}
        return json.dumps({**_envelope(payload, "chat.completion.chunk"), "choices": [choice]})

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in re.findall(r"\s*\S+", reply.text)]
    for index, call in enumerate(reply.tool_calls):
        head = {"index": index, "id": call.id or f"call_{index}", "type": "function"}
        function = {"name": call.name, "arguments": ""}
        events.append(chunk({"tool_calls": [{**head, "function": function}]}))
        arguments = call.wire_arguments()
        half = len(arguments) // 2
        for piece in (arguments[:half], arguments[half:]):
            if piece:
                events.append(
                    chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                )
    events.append(chunk({}, reply.finish))
    if (payload.get("stream_options") or {}).get("include_usage"):
        usage_only = {**_envelope(payload, "chat.completion.chunk"), "choices": []}
        events.append(json.dumps({**usage_only, "usage": _usage(reply)}))
    if reply.send_done:
        events.append("[DONE]")
    return events


# -- the provider under test, pointed at a server ------------------------------------------------

KEY = "sk-test-4f9c2b7e1d0a8c6b5e3f2a1d9c8b7a6e"
KEY_ENV = "VIGIL_TEST_OPENAI_KEY"


def provider_for(server: OpenAIServer, **overrides: Any) -> OpenAICompatibleProvider:
    """An adapter for ``server``, with a key; ``overrides`` replace constructor arguments."""
    arguments: dict[str, Any] = {
        "name": "testserver",
        "base_url": server.base_url,
        "model": "test-model",
        "api_key": KEY,
        "api_key_env": KEY_ENV,
        "timeout_s": 5.0,
    }
    arguments.update(overrides)
    return OpenAICompatibleProvider(**arguments)


def ask(text: str, **fields: Any) -> Request:
    """A request with one user message."""
    return Request(messages=(Message("user", text),), **fields)
