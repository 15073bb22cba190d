"""The OpenAI chat-completions wire format: request bodies out, answers and SSE streams in.

Pure functions and one accumulator, no I/O: :mod:`vigil.reasoning.providers.openai` sends and
receives, this module encodes and decodes. A malformed answer raises :class:`WireError` (the
adapter turns it into :class:`~vigil.errors.ProviderResponseError`); a malformed *tool call*
never raises: it becomes a :class:`~vigil.reasoning.provider.ToolCall` with ``error`` set and
``raw`` kept, so that the agent loop can answer the model with the error.

Schema modes, most to least capable (the adapter steps down when a server rejects one):
``json_schema`` (``response_format`` carries the schema), ``json_object`` (JSON mode, the schema
in the system prompt) and ``prompt`` (no ``response_format`` at all, the schema in the prompt).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from vigil.reasoning.provider import Message, Request, ToolCall, Usage

SchemaMode = Literal["json_schema", "json_object", "prompt"]
SCHEMA_MODES: tuple[SchemaMode, ...] = ("json_schema", "json_object", "prompt")

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?```$", re.DOTALL)


class WireError(Exception):
    """The server's answer does not have the shape of a chat completion."""


class ServerError(WireError):
    """The server reported an error of its own inside a 200 answer or a stream."""


# -- requests --------------------------------------------------------------------------------------


def schema_instruction(schema: Mapping[str, Any]) -> str:
    return (
        "Answer with one JSON object and nothing else. It must match this JSON schema:\n"
        + json.dumps(schema, separators=(",", ":"), sort_keys=True)
    )


def encode_message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "content": message.content,
        }
    encoded: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        encoded["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                # A malformed call goes back as "{}": servers that render chat templates parse it.
                "function": {
                    "name": call.name,
                    "arguments": "{}" if call.error else json.dumps(dict(call.arguments)),
                },
            }
            for call in message.tool_calls
        ]
    return encoded


def _with_instruction(messages: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    for message in messages:
        if message["role"] == "system":
            message["content"] = f"{message['content']}\n\n{text}".strip()
            return messages
    return [{"role": "system", "content": text}, *messages]


def build_body(
    request: Request,
    model: str,
    *,
    schema_mode: SchemaMode = "json_schema",
    stream: bool = False,
    stream_usage: bool = True,
) -> dict[str, Any]:
    """The JSON body of ``POST /chat/completions`` for ``request``."""
    messages = [encode_message(m) for m in request.messages]
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
    }
    if request.tools:
        body["tools"] = [tool.to_openai() for tool in request.tools]
    if request.schema is not None:
        if schema_mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": _NAME_UNSAFE.sub("_", request.schema_name)[:64] or "answer",
                    "schema": dict(request.schema),
                    "strict": False,
                },
            }
        else:
            body["messages"] = _with_instruction(messages, schema_instruction(request.schema))
            if schema_mode == "json_object":
                body["response_format"] = {"type": "json_object"}
    if stream:
        body["stream"] = True
        if stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body


# -- answers ---------------------------------------------------------------------------------------


def tool_call(index: int, call_id: Any, name: Any, arguments: Any) -> ToolCall:
    """A :class:`ToolCall` from the wire; malformed arguments set ``error``, never raise."""
    ident = call_id if isinstance(call_id, str) and call_id else f"call_{index}"
    tool = name if isinstance(name, str) else ""
    if isinstance(arguments, Mapping):  # a few servers send the object itself
        return ToolCall(id=ident, name=tool, arguments=dict(arguments), raw=json.dumps(arguments))
    raw = arguments if isinstance(arguments, str) else ""
    error: str | None = None
    parsed: Any = {}
    if not tool:
        error = "the tool call has no function name"
    elif raw.strip():
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            error = f"arguments are not valid JSON ({exc.msg} at character {exc.pos})"
            parsed = {}
        if error is None and not isinstance(parsed, dict):
            error = f"arguments must be a JSON object, got {type(parsed).__name__}"
            parsed = {}
    elif arguments is not None and not isinstance(arguments, str):
        error = f"arguments must be a JSON string, got {type(arguments).__name__}"
    return ToolCall(id=ident, name=tool, arguments=parsed, raw=raw, error=error)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def usage_of(data: Any) -> Usage | None:
    if not isinstance(data, Mapping):
        return None
    return Usage(_int(data.get("prompt_tokens")), _int(data.get("completion_tokens")))


@dataclass(frozen=True, slots=True)
class Answer:
    """A decoded chat completion, before the adapter adds provider, cost and timing."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    finish_reason: str
    model: str


def _first_choice(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise WireError(f"expected a JSON object, got {type(data).__name__}")
    if "error" in data and "choices" not in data:
        raise ServerError(f"the server answered with an error: {error_text(data)}")
    choices = data.get("choices")
    if not isinstance(choices, Sequence) or isinstance(choices, str) or not choices:
        raise WireError("the answer has no 'choices'")
    choice = choices[0]
    if not isinstance(choice, Mapping):
        raise WireError("'choices[0]' is not an object")
    return choice


def parse_completion(data: Any, model: str) -> Answer:
    """Decode a non-streamed answer; :class:`WireError` when it is not a chat completion."""
    choice = _first_choice(data)
    message = choice.get("message")
    if not isinstance(message, Mapping):
        raise WireError("'choices[0].message' is missing")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise WireError("'choices[0].message.content' is not a string")
    raw_calls = message.get("tool_calls") or []
    if not isinstance(raw_calls, Sequence) or isinstance(raw_calls, str):
        raise WireError("'choices[0].message.tool_calls' is not a list")
    calls = []
    for index, raw in enumerate(raw_calls):
        function = raw.get("function") if isinstance(raw, Mapping) else None
        function = function if isinstance(function, Mapping) else {}
        call_id = raw.get("id") if isinstance(raw, Mapping) else None
        calls.append(tool_call(index, call_id, function.get("name"), function.get("arguments")))
    finish = choice.get("finish_reason")
    return Answer(
        text=content or "",
        tool_calls=tuple(calls),
        usage=usage_of(data.get("usage")) or Usage(),
        finish_reason=finish if isinstance(finish, str) and finish else "stop",
        model=_model(data, model),
    )


def _model(data: Mapping[str, Any], default: str) -> str:
    value = data.get("model")
    return value if isinstance(value, str) and value else default


def error_text(data: Any) -> str:
    """The human part of an error body (``{"error": {"message": ...}}`` and its variants)."""
    if isinstance(data, Mapping):
        error = data.get("error", data)
        if isinstance(error, Mapping):
            for key in ("message", "detail", "msg"):
                if isinstance(error.get(key), str):
                    return str(error[key])
        if isinstance(error, str):
            return error
        if isinstance(data.get("detail"), str):
            return str(data["detail"])
    return ""


def json_text(text: str) -> str | None:
    """``text`` as one JSON document (a surrounding code fence removed), or None if it is not."""
    candidate = text.strip()
    fenced = _FENCE.match(candidate)
    if fenced:
        candidate = fenced.group(1).strip()
    try:
        json.loads(candidate)
    except ValueError:
        return None
    return candidate


# -- streams ---------------------------------------------------------------------------------------


class SseDecoder:
    """Server-sent events from lines: ``feed`` returns an event's data when a blank line ends it."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        line = line.rstrip("\r\n")
        if not line:
            return self.flush()
        if line.startswith(":"):
            return None  # a comment (keep-alive)
        key, _, value = line.partition(":")
        if key == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None

    def flush(self) -> str | None:
        if not self._data:
            return None
        data, self._data = "\n".join(self._data), []
        return data


@dataclass(slots=True)
class _Fragment:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(slots=True)
class StreamState:
    """Accumulates a streamed answer: text, tool-call deltas by index, finish reason, usage."""

    model: str
    text: list[str] = field(default_factory=list)
    calls: dict[int, _Fragment] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage | None = None
    done: bool = False  # saw ``[DONE]``

    @property
    def complete(self) -> bool:
        """The server said the answer is whole (``[DONE]`` or a finish reason)."""
        return self.done or self.finish_reason is not None

    def feed(self, data: str) -> str:
        """Take one event's data; returns the new text it carries (maybe empty)."""
        if data.strip() == "[DONE]":
            self.done = True
            return ""
        try:
            event = json.loads(data)
        except ValueError as exc:
            raise WireError(f"a stream event is not JSON: {data[:80]!r}") from exc
        if not isinstance(event, Mapping):
            raise WireError("a stream event is not a JSON object")
        if "error" in event and "choices" not in event:
            raise ServerError(f"the server reported an error mid-stream: {error_text(event)}")
        self.model = _model(event, self.model)
        extra = event.get("x_groq")
        usage = usage_of(event.get("usage")) or usage_of(
            extra.get("usage") if isinstance(extra, Mapping) else None
        )
        if usage is not None:
            self.usage = usage
        choices = event.get("choices") or []
        if not isinstance(choices, Sequence) or isinstance(choices, str):
            raise WireError("a stream event's 'choices' is not a list")
        if not choices:
            return ""  # the usage-only chunk
        choice = choices[0]
        if not isinstance(choice, Mapping):
            raise WireError("a stream event's 'choices[0]' is not an object")
        finish = choice.get("finish_reason")
        if isinstance(finish, str) and finish:
            self.finish_reason = finish
        delta = choice.get("delta")
        if not isinstance(delta, Mapping):
            return ""
        for position, raw in enumerate(delta.get("tool_calls") or []):
            if isinstance(raw, Mapping):
                self._add_call(position, raw)
        content = delta.get("content")
        if isinstance(content, str) and content:
            self.text.append(content)
            return content
        return ""

    def _add_call(self, position: int, raw: Mapping[str, Any]) -> None:
        index = raw.get("index")
        key = index if isinstance(index, int) else position
        fragment = self.calls.setdefault(key, _Fragment())
        if isinstance(raw.get("id"), str) and not fragment.id:
            fragment.id = raw["id"]
        function = raw.get("function")
        if not isinstance(function, Mapping):
            return
        if isinstance(function.get("name"), str) and not fragment.name:
            fragment.name = function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            fragment.arguments += arguments
        elif isinstance(arguments, Mapping):
            fragment.arguments += json.dumps(arguments)

    def answer(self) -> Answer:
        calls = tuple(
            tool_call(position, f.id, f.name, f.arguments)
            for position, (_, f) in enumerate(sorted(self.calls.items()))
        )
        return Answer(
            text="".join(self.text),
            tool_calls=calls,
            usage=self.usage or Usage(),
            finish_reason=self.finish_reason or "stop",
            model=self.model,
        )
