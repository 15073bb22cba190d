"""Choosing and wiring the model providers (the composition root's reasoning part).

With ``[[reasoning.providers]]`` in ``config.toml``, the chain is exactly those, in order
(``kind`` = ``openai`` | ``embedded`` | ``rules``; optional ``timeout_s``, ``daily_tokens``,
``daily_cost``). Without, Vigil discovers: any known cloud provider whose key is in the
environment (Groq, Cerebras, OpenAI), then Ollama on 127.0.0.1:11434 if it answers, then the
embedded model if it is installed, then rules. Rules always answer, so the chain always does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from vigil.config import Settings, secret
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
OLLAMA = "http://127.0.0.1:11434"
_CHAIN_KEYS = ("kind", "timeout_s", "daily_tokens", "daily_cost")


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
        raise ProviderRefused(f"{self.name}: {self.reason}", provider=self.name)

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        if self.reason:  # always: an async generator that refuses on first use
            raise ProviderRefused(f"{self.name}: {self.reason}", provider=self.name)
        yield Chunk()


def _number(table: Mapping[str, Any], key: str, kind: type) -> Any:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"config.toml: provider {table.get('name')!r}: {key} must be a number")
    return kind(value)


def _embedded(name: str) -> Any:
    from vigil.reasoning.providers.embedded import EmbeddedProvider

    if not EmbeddedProvider.available():
        return Unavailable(name, "the embedded model is not installed (make up installs it)")
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
    tables: tuple[Mapping[str, Any], ...], registry: BreakerRegistry, workspace: Workspace
) -> list[Link]:
    from vigil.reasoning.providers.rules import RulesProvider

    links: list[Link] = []
    names: set[str] = set()
    for table in tables:
        name = table.get("name")
        kind = table.get("kind", "openai")
        if not isinstance(name, str) or not name:
            raise ConfigError("config.toml: every [[reasoning.providers]] needs a name")
        if name in names:
            raise ConfigError(f"config.toml: provider {name!r} is configured twice")
        names.add(name)
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
        elif kind == "rules":
            provider = RulesProvider(workspace, name=name)
        else:
            raise ConfigError(
                f"config.toml: provider {name!r}: kind must be openai, embedded or rules"
            )
        links.append(_link(provider, registry, kind, table))
    return links


async def discovered_links(
    registry: BreakerRegistry, workspace: Workspace, *, local_only: bool
) -> list[Link]:
    from vigil.reasoning.providers.openai import OpenAICompatibleProvider, probe_ollama
    from vigil.reasoning.providers.rules import RulesProvider

    links: list[Link] = []
    if not local_only:
        for name, base_url, model, env_name in KNOWN_CLOUDS:
            key = secret(env_name)
            if key:
                provider: Any = OpenAICompatibleProvider(
                    name=name, base_url=base_url, model=model, api_key=key, api_key_env=env_name
                )
                links.append(_link(provider, registry, "openai", {}))
    models = await probe_ollama(OLLAMA, timeout=0.3)
    if models:
        ollama = OpenAICompatibleProvider(name="ollama", base_url=f"{OLLAMA}/v1", model=models[0])
        links.append(_link(ollama, registry, "openai", {"timeout_s": 30.0}))
    embedded = _embedded("embedded")
    if not isinstance(embedded, Unavailable):
        links.append(_link(embedded, registry, "embedded", {}))
    links.append(_link(RulesProvider(workspace), registry, "rules", {}))
    return links


def _listening(host: str, port: int, timeout: float = 0.05) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def step_models(settings: Settings, step: str) -> tuple[str, ...]:
    """The model providers (anything but rules) the chain for ``step`` would try, decided
    cheaply: no network beyond a loopback connect, no model loaded."""
    if settings.providers:
        return tuple(
            str(t.get("name")) for t in settings.providers if t.get("kind", "openai") != "rules"
        )
    names = [
        name
        for name, _, _, env_name in KNOWN_CLOUDS
        if not settings.local_only and secret(env_name)
    ]
    if _listening("127.0.0.1", 11434):
        names.append("ollama")
    from vigil.reasoning.providers.embedded import EmbeddedProvider

    if EmbeddedProvider.available():
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
    if step == "enrich" and not step_models(settings, step):
        from vigil.reasoning.providers.rules import RulesProvider

        rules = _link(RulesProvider(workspace), registry, "rules", {})
        return FallbackChain([rules], usage=usage, local_only=settings.local_only)
    if settings.providers:
        links = configured_links(settings.providers, registry, workspace)
    else:
        links = await discovered_links(registry, workspace, local_only=settings.local_only)
    return FallbackChain(links, usage=usage, local_only=settings.local_only)


async def close_chain(chain: FallbackChain) -> None:
    for link in chain.links:
        closer = getattr(link.provider, "aclose", None)
        if closer is not None:
            await closer()
