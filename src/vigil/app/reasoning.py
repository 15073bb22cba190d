"""Choosing and wiring the model providers for each step (the composition root's reasoning part).

Two steps may use a model: ``enrich`` (the explanation and next step added after a failure's
diagnosis) and ``ask`` (``vigil ask``). Each step gets its own chain.

With ``[[reasoning.providers]]`` in ``config.toml``, a step's chain is exactly those, in order
(``kind`` = ``openai`` | ``embedded`` | ``rules``; optional ``timeout_s``, ``daily_tokens``,
``daily_cost``, and ``steps = ["ask"]`` to keep a provider out of the other step's chain). A
provider configured there is the user's choice: it is in every step unless its ``steps`` say
otherwise, the embedded model included.

Without, Vigil discovers: any known cloud provider whose key is in the environment (Groq,
Cerebras, OpenAI), then Ollama on 127.0.0.1:11434 if it listens and lists a model, then the
embedded model for the steps where it is on, then rules. Rules always answer, so the chain
always does.

The embedded model (SmolLM2-135M) is on for a step only where ``make bench`` (section
``reasoning``) shows it beats the deterministic path on the same cases; that default is
:data:`DEFAULT_EMBEDDED_STEPS` and the bench reports, per step, both scores and whether the
default is on. It wins nowhere today (it picks the right known fix about as often as chance;
the rules answer ``vigil ask`` in milliseconds and its free answers are mostly ungrounded), so
it is off, and one line turns it on::

    [reasoning]
    embedded_steps = ["enrich", "ask"]

:func:`step_models` says, cheaply and without waiting on any model, which model providers a
step's chain would try (for ``vigil run``: whether there is anything to wait for).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Mapping
from typing import Any

from vigil.config import REASONING_STEPS, Settings, secret
from vigil.errors import ConfigError, ProviderRefused
from vigil.reasoning.chain import FallbackChain, Link, breaker_for
from vigil.reasoning.provider import Chunk, Request, Response
from vigil.reasoning.usage import UsageStore
from vigil.reasoning.workspace import Workspace
from vigil.reliability import BreakerRegistry

# Cloud endpoints used when their key is in the environment and nothing is configured.
KNOWN_CLOUDS = (
    ("groq", "https://api.groq.com/openai/v1", "llama-3.3-70b-versatile", "GROQ_API_KEY"),
    ("cerebras", "https://api.cerebras.ai/v1", "llama-3.3-70b", "CEREBRAS_API_KEY"),
    ("openai", "https://api.openai.com/v1", "gpt-4o-mini", "OPENAI_API_KEY"),
)
OLLAMA_HOST, OLLAMA_PORT = "127.0.0.1", 11434
OLLAMA_CONNECT_S = 0.05
STEPS = REASONING_STEPS
# The steps whose discovered chain includes the embedded model by default: only those where
# `make bench` (section reasoning) measures it beating the deterministic path. None today.
DEFAULT_EMBEDDED_STEPS: tuple[str, ...] = ()
_CHAIN_KEYS = ("kind", "timeout_s", "daily_tokens", "daily_cost", "steps")


class Unavailable:
    """A configured provider that cannot run here (e.g. the embedded model is not installed):
    the chain skips it with the reason."""

    def __init__(self, name: str, reason: str, *, local: bool = True) -> None:
        self.name = name
        self.model = "-"
        self.reason = reason
        self._local = local

    @property
    def local(self) -> bool:
        return self._local

    async def complete(self, request: Request) -> Response:
        raise ProviderRefused(self.reason, provider=self.name)

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        if self.reason:  # always: an async generator that refuses on first use
            raise ProviderRefused(self.reason, provider=self.name)
        yield Chunk()


def _check_step(step: str) -> str:
    if step not in STEPS:
        raise ValueError(f"unknown reasoning step {step!r} (known: {', '.join(STEPS)})")
    return step


def embedded_steps(settings: Settings) -> tuple[str, ...]:
    """The steps whose discovered chain includes the embedded model."""
    if settings.embedded_steps is None:
        return DEFAULT_EMBEDDED_STEPS
    return settings.embedded_steps


def _number(table: Mapping[str, Any], key: str, kind: type) -> Any:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"config.toml: provider {table.get('name')!r}: {key} must be a number")
    return kind(value)


def _table_steps(table: Mapping[str, Any]) -> tuple[str, ...]:
    """The steps a configured provider serves (``steps``; every step when absent)."""
    steps = table.get("steps")
    if steps is None:
        return STEPS
    if not isinstance(steps, list) or not all(s in STEPS for s in steps):
        raise ConfigError(
            f"config.toml: provider {table.get('name')!r}: steps must be a list of steps from "
            f"{', '.join(map(repr, STEPS))}, got {steps!r}"
        )
    return tuple(steps)


def _entries(tables: tuple[Mapping[str, Any], ...]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(name, kind, table) for every configured provider, checked for what every kind needs."""
    entries: list[tuple[str, str, Mapping[str, Any]]] = []
    names: set[str] = set()
    for table in tables:
        name = table.get("name")
        kind = table.get("kind", "openai")
        if not isinstance(name, str) or not name:
            raise ConfigError("config.toml: every [[reasoning.providers]] needs a name")
        if name in names:
            raise ConfigError(f"config.toml: provider {name!r} is configured twice")
        if kind not in ("openai", "embedded", "rules"):
            raise ConfigError(
                f"config.toml: provider {name!r}: kind must be openai, embedded or rules"
            )
        _table_steps(table)
        names.add(name)
        entries.append((name, kind, table))
    return entries


def _embedded(name: str) -> Any:
    from vigil.reasoning.providers.embedded_package import installed

    if not installed():
        return Unavailable(name, "the embedded model is not installed (make local installs it)")
    from vigil.reasoning.providers.embedded import EmbeddedProvider

    return EmbeddedProvider(name)


def _link(provider: Any, registry: BreakerRegistry, kind: str, table: Mapping[str, Any]) -> Link:
    timeout = _number(table, "timeout_s", float)
    default_timeout = 30.0 if kind == "embedded" else 10.0
    return Link(
        provider=provider,
        breaker=breaker_for(registry, provider.name),
        kind=kind,
        timeout_s=timeout if timeout is not None else default_timeout,
        daily_tokens=_number(table, "daily_tokens", int),
        daily_cost=_number(table, "daily_cost", float),
    )


def configured_links(
    tables: tuple[Mapping[str, Any], ...],
    registry: BreakerRegistry,
    workspace: Workspace,
    *,
    step: str | None = None,
) -> list[Link]:
    """The configured providers, in order; with ``step``, only those that serve it."""
    from vigil.reasoning.providers.rules import RulesProvider

    links: list[Link] = []
    for name, kind, table in _entries(tables):
        if step is not None and step not in _table_steps(table):
            continue
        if kind == "openai":
            from vigil.reasoning.providers.openai import OpenAICompatibleProvider

            env_name = table.get("api_key_env")
            environ = {}
            if isinstance(env_name, str) and (value := secret(env_name)):
                environ[env_name] = value
            provider: Any = OpenAICompatibleProvider.from_config(
                table, environ, extra_keys=_CHAIN_KEYS
            )
        elif kind == "embedded":
            provider = _embedded(name)
        else:
            provider = RulesProvider(workspace, name=name)
        links.append(_link(provider, registry, kind, table))
    return links


def ollama_listening(timeout: float = OLLAMA_CONNECT_S) -> bool:
    """Whether something accepts connections on Ollama's port on loopback (one TCP connect)."""
    try:
        with socket.create_connection((OLLAMA_HOST, OLLAMA_PORT), timeout=timeout):
            return True
    except OSError:
        return False


async def discovered_links(
    registry: BreakerRegistry,
    workspace: Workspace,
    *,
    local_only: bool,
    embedded: bool = False,
) -> list[Link]:
    """What is there without configuration (see the module docstring); the embedded model only
    with ``embedded``. The HTTP client is imported only when a cloud key or Ollama is there."""
    from vigil.reasoning.providers.rules import RulesProvider

    links: list[Link] = []
    clouds = [c for c in KNOWN_CLOUDS if secret(c[3])] if not local_only else []
    for name, base_url, model, env_name in clouds:
        from vigil.reasoning.providers.openai import OpenAICompatibleProvider

        provider: Any = OpenAICompatibleProvider(
            name=name,
            base_url=base_url,
            model=model,
            api_key=secret(env_name),
            api_key_env=env_name,
        )
        links.append(_link(provider, registry, "openai", {}))
    if ollama_listening():
        from vigil.reasoning.providers.openai import OpenAICompatibleProvider, probe_ollama

        root = f"http://{OLLAMA_HOST}:{OLLAMA_PORT}"
        models = await probe_ollama(root, timeout=0.3)
        if models:
            ollama = OpenAICompatibleProvider(name="ollama", base_url=f"{root}/v1", model=models[0])
            links.append(_link(ollama, registry, "openai", {"timeout_s": 30.0}))
    if embedded:
        provider = _embedded("embedded")
        if not isinstance(provider, Unavailable):
            links.append(_link(provider, registry, "embedded", {}))
    links.append(_link(RulesProvider(workspace), registry, "rules", {}))
    return links


def _loopback(url: object) -> bool:
    """A cheap loopback test for a configured base_url (the adapter checks it properly)."""
    from urllib.parse import urlsplit

    try:
        host = (urlsplit(str(url)).hostname or "").lower()
    except ValueError:
        return False
    return host in ("localhost", "::1") or host.startswith("127.")


def step_models(settings: Settings, step: str) -> tuple[str, ...]:
    """The names of the model providers (anything but rules) that ``step``'s chain would try.

    Decided synchronously and cheaply: no HTTP client or model is imported, nothing is loaded,
    and the only network use is one loopback TCP connect (~50 ms at most) to see whether Ollama
    listens. Left out: providers the chain would refuse without trying (``local_only`` and not
    on loopback, an OpenAI-compatible one whose key variable is unset, an embedded model that is
    not installed). Not consulted: breakers and budgets (they need the database). Raises
    ``ValueError`` for an unknown step and ``ConfigError`` for a malformed provider table.
    """
    from vigil.reasoning.providers.embedded_package import installed

    _check_step(step)
    names: list[str] = []
    if settings.providers:
        for name, kind, table in _entries(settings.providers):
            if kind == "rules" or step not in _table_steps(table):
                continue
            if kind == "embedded":
                if installed():
                    names.append(name)
                continue
            if settings.local_only and not _loopback(table.get("base_url")):
                continue
            env_name = table.get("api_key_env")
            if isinstance(env_name, str) and not secret(env_name):
                continue
            names.append(name)
        return tuple(names)
    if not settings.local_only:
        names += [name for name, _, _, env_name in KNOWN_CLOUDS if secret(env_name)]
    if ollama_listening():
        names.append("ollama")
    if step in embedded_steps(settings) and installed():
        names.append("embedded")
    return tuple(names)


async def build_chain(
    settings: Settings,
    registry: BreakerRegistry,
    usage: UsageStore,
    workspace: Workspace,
    *,
    step: str = "ask",
) -> FallbackChain:
    """The chain for ``step`` (``"ask"`` or ``"enrich"``), each provider behind its breaker."""
    _check_step(step)
    if settings.providers:
        links = configured_links(settings.providers, registry, workspace, step=step)
    else:
        links = await discovered_links(
            registry,
            workspace,
            local_only=settings.local_only,
            embedded=step in embedded_steps(settings),
        )
    return FallbackChain(links, usage=usage, local_only=settings.local_only)


async def close_chain(chain: FallbackChain) -> None:
    for link in chain.links:
        closer = getattr(link.provider, "aclose", None)
        if closer is not None:
            await closer()
