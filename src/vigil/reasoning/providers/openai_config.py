"""One ``[[reasoning.providers]]`` table of kind ``openai``, validated.

Every problem is a :class:`~vigil.errors.ConfigError` with a one-line message that names the
provider and the key. API keys never live in the config: a table names the environment variable
that holds its key (``api_key_env``), and a key or an ``Authorization`` header written into the
file is refused rather than used.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from vigil.errors import ConfigError
from vigil.reasoning.provider import Usage

DEFAULT_TIMEOUT_S = 10.0
KEYS = ("name", "kind", "base_url", "model", "api_key_env", "timeout_s", "headers", "prices")
_SECRET_KEYS = {"api_key", "key", "token", "secret", "password", "authorization"}
_SECRET_HEADERS = {"authorization", "proxy-authorization", "api-key", "x-api-key"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Prices:
    """What a provider charges, in USD per million tokens."""

    input: float = 0.0
    output: float = 0.0

    def cost(self, usage: Usage) -> float:
        return (usage.prompt_tokens * self.input + usage.completion_tokens * self.output) / 1e6


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    name: str
    base_url: str
    model: str
    api_key_env: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    headers: Mapping[str, str] = field(default_factory=dict)
    prices: Prices = field(default_factory=Prices)


def is_loopback(url: str) -> bool:
    """True when ``url``'s host is ``localhost``, in 127.0.0.0/8, or ``::1``."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _number(label: str, key: str, value: Any, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{label}: {key} must be a number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ConfigError(f"{label}: {key} must be {'above' if positive else 'at least'} 0")
    return float(value)


def _text(label: str, table: Mapping[str, Any], key: str) -> str:
    value = table.get(key)
    if value is None:
        raise ConfigError(f"{label}: missing required key {key!r}")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{label}: {key} must be a non-empty string")
    return value.strip()


def check_base_url(label: str, url: str) -> str:
    """``url`` without its trailing slash, or a ConfigError saying what is wrong with it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"{label}: base_url is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{label}: base_url must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{label}: base_url must not hold credentials; use api_key_env")
    if parts.query or parts.fragment:
        raise ConfigError(f"{label}: base_url must not have a query or fragment")
    url = url.rstrip("/")
    if url.endswith("/chat/completions"):
        raise ConfigError(f"{label}: base_url is the API root (such as .../v1), not the endpoint")
    return url


def _headers(label: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{label}: headers must be a table of strings")
    headers: dict[str, str] = {}
    for key, text in value.items():
        if not isinstance(key, str) or not isinstance(text, str):
            raise ConfigError(f"{label}: headers must be a table of strings")
        if key.lower() in _SECRET_HEADERS:
            raise ConfigError(
                f"{label}: header {key!r} would put a credential in config.toml; "
                "name the variable that holds the key with api_key_env"
            )
        headers[key] = text
    return headers


def _prices(label: str, value: Any) -> Prices:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{label}: prices must be a table like {{ input = 0.5, output = 1.5 }}")
    unknown = sorted(set(value) - {"input", "output"})
    if unknown:
        raise ConfigError(f"{label}: unknown key {unknown[0]!r} in prices (known: input, output)")
    return Prices(
        input=_number(label, "prices.input", value.get("input", 0.0), positive=False),
        output=_number(label, "prices.output", value.get("output", 0.0), positive=False),
    )


def parse(table: Mapping[str, Any], extra_keys: Collection[str] = ()) -> EndpointConfig:
    """Validate one provider table; keys in ``extra_keys`` belong to another layer and pass."""
    if not isinstance(table, Mapping):
        raise ConfigError("each [[reasoning.providers]] entry must be a table")
    name = table.get("name")
    label = f"provider {name!r}" if isinstance(name, str) and name else "a provider with no name"
    for key in table:
        if key in KEYS or key in extra_keys:
            continue
        if str(key).lower() in _SECRET_KEYS:
            raise ConfigError(
                f"{label}: {key!r} would put a credential in config.toml; put the key in an "
                "environment variable and name it with api_key_env"
            )
        raise ConfigError(f"{label}: unknown key {key!r} (known: {', '.join(KEYS)})")
    name = _text(label, table, "name")
    kind = table.get("kind", "openai")
    if kind != "openai":
        raise ConfigError(f"{label}: kind must be 'openai' for this provider, got {kind!r}")
    env = table.get("api_key_env")
    if env is not None and (not isinstance(env, str) or not _ENV_NAME.fullmatch(env)):
        raise ConfigError(f"{label}: api_key_env must be an environment variable's name")
    timeout = table.get("timeout_s", DEFAULT_TIMEOUT_S)
    return EndpointConfig(
        name=name,
        base_url=check_base_url(label, _text(label, table, "base_url")),
        model=_text(label, table, "model"),
        api_key_env=env,
        timeout_s=_number(label, "timeout_s", timeout, positive=True),
        headers=_headers(label, table.get("headers", {})),
        prices=_prices(label, table.get("prices", {})),
    )
