"""OpenAICompatibleProvider's configuration, loopback detection, and the Ollama probe."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from tests.reasoning.openai_server import KEY, OpenAIServer
from vigil.errors import ConfigError
from vigil.reasoning.providers.openai import (
    OpenAICompatibleProvider,
    Prices,
    is_loopback,
    probe_ollama,
)

GROQ = {
    "name": "groq",
    "kind": "openai",
    "base_url": "https://api.groq.com/openai/v1/",
    "model": "llama-3.3-70b-versatile",
    "api_key_env": "GROQ_API_KEY",
    "timeout_s": 8,
    "headers": {"X-Team": "ops"},
    "prices": {"input": 0.59, "output": 0.79},
}


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:11434/v1", True),
        ("http://127.8.9.10/v1", True),
        ("http://localhost:8080/v1", True),
        ("http://LOCALHOST/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://[::ffff:127.0.0.1]:8000/v1", True),
        ("https://api.groq.com/openai/v1", False),
        ("http://10.0.0.5:8000/v1", False),
        ("http://0.0.0.0:8000/v1", False),
        ("http://localhost.example.com/v1", False),
        ("http://[::2]/v1", False),
    ],
)
def test_local_means_a_loopback_host(url: str, local: bool) -> None:
    """``local`` is true exactly for localhost, 127.0.0.0/8 and ::1 endpoints."""
    assert is_loopback(url) is local
    assert OpenAICompatibleProvider(name="p", base_url=url, model="m").local is local


def test_a_full_table_configures_the_provider_with_its_key_from_the_environment() -> None:
    """from_config reads every key, and the API key from the mapping it is handed."""
    provider = OpenAICompatibleProvider.from_config(GROQ, {"GROQ_API_KEY": KEY})
    assert (provider.name, provider.model) == ("groq", "llama-3.3-70b-versatile")
    assert provider.base_url == "https://api.groq.com/openai/v1"
    assert provider.timeout_s == 8.0
    assert provider.prices == Prices(input=0.59, output=0.79)
    assert provider.has_credentials
    assert not provider.local
    assert KEY not in repr(provider) and KEY not in str(vars(provider))


def test_a_minimal_table_takes_defaults() -> None:
    """Only name, base_url and model are required; a keyless endpoint has credentials enough."""
    table = {"name": "ollama", "base_url": "http://127.0.0.1:11434/v1", "model": "qwen2.5:7b"}
    provider = OpenAICompatibleProvider.from_config(table, {})
    assert provider.timeout_s == 10.0
    assert provider.prices == Prices()
    assert provider.has_credentials
    assert provider.local


def test_an_unset_key_variable_leaves_the_provider_without_credentials() -> None:
    """A named key variable that is missing or empty gives a provider that says so."""
    assert not OpenAICompatibleProvider.from_config(GROQ, {}).has_credentials
    assert not OpenAICompatibleProvider.from_config(GROQ, {"GROQ_API_KEY": ""}).has_credentials


def test_keys_the_chain_owns_can_be_let_through() -> None:
    """Keys named in extra_keys are accepted (the chain reads them), others still refused."""
    table = {**GROQ, "daily_tokens": 100_000}
    provider = OpenAICompatibleProvider.from_config(table, {}, extra_keys={"daily_tokens"})
    assert provider.name == "groq"
    with pytest.raises(ConfigError, match="daily_tokens"):
        OpenAICompatibleProvider.from_config(table, {})


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in GROQ.items() if k != key}


@pytest.mark.parametrize(
    ("table", "words"),
    [
        (without("base_url"), "missing required key 'base_url'"),
        (without("model"), "missing required key 'model'"),
        (without("name"), "missing required key 'name'"),
        ({**GROQ, "modle": "x"}, "unknown key 'modle'"),
        ({**GROQ, "api_key": "sk-abc"}, "api_key_env"),
        ({**GROQ, "headers": {"Authorization": "Bearer sk-abc"}}, "api_key_env"),
        ({**GROQ, "base_url": "ftp://example.com/v1"}, "http:// or https://"),
        ({**GROQ, "base_url": "https://user:pw@example.com/v1"}, "credentials"),
        ({**GROQ, "base_url": "http://127.0.0.1:11434/v1/chat/completions"}, "API root"),
        ({**GROQ, "base_url": "http://127.0.0.1:99999/v1"}, "not a valid URL"),
        ({**GROQ, "model": ""}, "model must be a non-empty string"),
        ({**GROQ, "timeout_s": 0}, "timeout_s must be above 0"),
        ({**GROQ, "timeout_s": "10"}, "timeout_s must be a number"),
        ({**GROQ, "timeout_s": True}, "timeout_s must be a number"),
        ({**GROQ, "api_key_env": "GROQ KEY"}, "api_key_env"),
        ({**GROQ, "kind": "embedded"}, "kind must be 'openai'"),
        ({**GROQ, "prices": {"input": -1}}, "prices.input must be at least 0"),
        ({**GROQ, "prices": {"in": 1}}, "unknown key 'in' in prices"),
        ({**GROQ, "headers": ["X-Team"]}, "headers must be a table"),
    ],
)
def test_invalid_tables_are_one_line_config_errors(table: dict[str, Any], words: str) -> None:
    """Each mistake in a provider table raises ConfigError with one line naming what is wrong."""
    with pytest.raises(ConfigError) as caught:
        OpenAICompatibleProvider.from_config(table, {"GROQ_API_KEY": KEY})
    message = str(caught.value)
    assert words in message
    assert "\n" not in caught.value.message
    assert "sk-abc" not in message and KEY not in message


async def test_the_ollama_probe_lists_the_models_it_finds(openai_server: OpenAIServer) -> None:
    """probe_ollama returns the model names ``/api/tags`` lists."""
    openai_server.ollama_models = ["qwen2.5:7b", "llama3.2:3b"]
    assert await probe_ollama(openai_server.root) == ["qwen2.5:7b", "llama3.2:3b"]
    assert openai_server.requests[0].path == "/api/tags"


async def test_the_ollama_probe_is_none_where_ollama_is_not(openai_server: OpenAIServer) -> None:
    """A server without ``/api/tags`` and a closed port both give None."""
    assert await probe_ollama(openai_server.root) is None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert await probe_ollama(f"http://127.0.0.1:{port}") is None


async def test_the_ollama_probe_gives_up_on_a_silent_port_within_its_timeout() -> None:
    """A port that accepts connections but never answers gives None once the timeout passes."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        started = time.monotonic()
        found = await probe_ollama(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.2)
    assert found is None
    assert time.monotonic() - started < 0.2 + 1.0
