"""The provider interface: thin, provider-neutral, and all that the rest of Vigil sees of a model.

A :class:`Request` carries messages, optional tool definitions (JSON schema), an optional JSON
schema the answer must satisfy, a token limit and a deadline (monotonic seconds). A provider
answers with a :class:`Response` (text or tool calls, usage, cost) or raises one of the
:class:`~vigil.errors.ProviderError` family; vendor exceptions never escape an adapter. Streaming
yields :class:`Chunk` s of text and ends with the full :class:`Response`.

Implementations (``vigil.reasoning.providers.*``): ``openai`` (any OpenAI-compatible endpoint),
``embedded`` (llama.cpp running SmolLM2 from a package) and ``rules`` (deterministic, always
answers). Test fakes live in ``vigil.testing``.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A model's request to run a tool. ``arguments`` is parsed JSON; ``raw`` what it sent."""

    id: str
    name: str
    arguments: Mapping[str, Any]
    raw: str = ""
    error: str | None = None  # set when the call was malformed (bad JSON, unknown tool...)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": dict(self.arguments)}


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None  # on role "tool": which call this answers
    name: str | None = None  # on role "tool": the tool's name


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as a model sees it: a name, what it does, and its parameters' JSON schema."""

    name: str
    description: str
    parameters: Mapping[str, Any]

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Request:
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    schema: Mapping[str, Any] | None = None  # the answer must be JSON matching this schema
    schema_name: str = "answer"
    max_tokens: int = 512
    temperature: float = 0.0
    deadline: float | None = None  # monotonic seconds (time.monotonic()) by which to answer

    def remaining(self, now: float) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - now)


@dataclass(frozen=True, slots=True)
class Response:
    text: str
    provider: str
    model: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0  # money, in the provider's configured currency (usually USD)
    finish_reason: str = "stop"
    elapsed_ms: float = 0.0

    def json(self) -> Any:
        """The text parsed as JSON (for schema-constrained requests)."""
        return json.loads(self.text)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of streamed text; the last chunk carries the whole ``response``."""

    text: str = ""
    response: Response | None = None


@runtime_checkable
class Provider(Protocol):
    """What every model provider offers."""

    name: str
    model: str

    @property
    def local(self) -> bool:
        """True when the model runs on this machine (loopback endpoint or in-process)."""
        ...

    async def complete(self, request: Request) -> Response:
        """Answer ``request`` before its deadline or raise a ``ProviderError``."""
        ...

    def stream(self, request: Request) -> AsyncIterator[Chunk]:
        """Stream the answer's text; the last chunk holds the full response."""
        ...


# -- tools from typed Python functions ------------------------------------------------------------

_JSON_TYPES: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
}


def _schema_of(annotation: Any) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation in _JSON_TYPES:
        return dict(_JSON_TYPES[annotation])
    if origin is Literal:
        return {"type": "string", "enum": [str(a) for a in args]}
    if origin in (list, tuple, Sequence) or annotation in (list, tuple):
        item = _schema_of(args[0]) if args else {}
        return {"type": "array", "items": item}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _schema_of(options[0])
        return {"anyOf": [_schema_of(a) for a in options]}
    return {"type": "string"}


def tool_spec(fn: Callable[..., Any], *, name: str | None = None) -> ToolSpec:
    """A :class:`ToolSpec` from a typed function: its docstring's first paragraph describes it,
    ``Args:`` lines (``name: text``) describe parameters, annotations give their types, and
    parameters without defaults are required."""
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn)
    doc = inspect.getdoc(fn) or ""
    summary = doc.split("\n\n")[0].replace("\n", " ").strip()
    described: dict[str, str] = {}
    if "Args:" in doc:
        for line in doc.split("Args:", 1)[1].splitlines():
            key, sep, text = line.strip().partition(":")
            if sep and key.isidentifier():
                described[key] = text.strip()
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.name == "self":
            continue
        schema = _schema_of(hints.get(param.name, str))
        if param.name in described:
            schema["description"] = described[param.name]
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
        elif param.default is not None:
            schema["default"] = param.default
        properties[param.name] = schema
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    parameters["additionalProperties"] = False
    return ToolSpec(name=name or fn.__name__, description=summary, parameters=parameters)
