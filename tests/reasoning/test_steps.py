"""Which providers each step's chain holds: the embedded model only where it is enabled, a
configured provider wherever its ``steps`` allow, and ``step_models`` agreeing with the chain."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reasoning.openai_server import OpenAIServer
from vigil.app import Vigil, reasoning
from vigil.app.reasoning import DEFAULT_EMBEDDED_STEPS, Unavailable, step_models
from vigil.config import load_settings
from vigil.errors import ConfigError
from vigil.reasoning.providers.embedded_package import installed
from vigil.testing import FakeClock

INSTALLED = installed()


@pytest.fixture(autouse=True)
def _no_ollama(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point discovery at a loopback port nothing listens on, whatever runs on this machine."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    monkeypatch.setattr(reasoning, "OLLAMA_PORT", free)


def _vigil(home: Path, config: str) -> Iterator[Vigil]:
    (home / "config.toml").write_text(config)
    built = Vigil(load_settings(), clock=FakeClock())
    try:
        yield built
    finally:
        built.close()


async def _chain_models(vigil: Vigil, step: str) -> list[tuple[str, str]]:
    """(name, kind) of every provider in ``step``'s chain that is not rules and can run."""
    chain = await vigil.build_chain(vigil.workspace(Path.cwd()), step=step)
    try:
        return [
            (link.name, link.kind)
            for link in chain.links
            if link.kind != "rules" and not isinstance(link.provider, Unavailable)
        ]
    finally:
        await reasoning.close_chain(chain)


async def test_the_embedded_model_is_off_by_default_in_every_step(home: Path) -> None:
    """With nothing configured, no step's chain holds the embedded model (the bench shows it
    beats the rules nowhere), and step_models says so."""
    assert DEFAULT_EMBEDDED_STEPS == ()
    for vigil in _vigil(home, "[reasoning]\nlocal_only = true\n"):
        for step in ("ask", "enrich"):
            assert await _chain_models(vigil, step) == []
            assert step_models(vigil.settings, step) == ()


async def test_one_line_turns_the_embedded_model_on_for_a_step(home: Path) -> None:
    """``embedded_steps = ["enrich"]`` puts the embedded model (when installed) in the enrich
    chain only; step_models names exactly the models each chain would try."""
    for vigil in _vigil(home, '[reasoning]\nembedded_steps = ["enrich"]\n'):
        expected = [("embedded", "embedded")] if INSTALLED else []
        assert await _chain_models(vigil, "enrich") == expected
        assert await _chain_models(vigil, "ask") == []
        assert step_models(vigil.settings, "enrich") == tuple(n for n, _ in expected)
        assert step_models(vigil.settings, "ask") == ()


async def test_configured_providers_serve_the_steps_they_name(
    home: Path, openai_server: OpenAIServer
) -> None:
    """A configured provider is in every step unless its ``steps`` say otherwise; an embedded
    model the user configured stays on without ``embedded_steps``."""
    config = (
        f'[[reasoning.providers]]\nname = "near"\nbase_url = "{openai_server.base_url}"\n'
        'model = "m"\nsteps = ["ask"]\n\n'
        '[[reasoning.providers]]\nname = "mine"\nkind = "embedded"\n\n'
        '[[reasoning.providers]]\nname = "rules"\nkind = "rules"\n'
    )
    for vigil in _vigil(home, config):
        mine = [("mine", "embedded")] if INSTALLED else []
        assert await _chain_models(vigil, "ask") == [("near", "openai"), *mine]
        assert await _chain_models(vigil, "enrich") == mine
        assert step_models(vigil.settings, "ask") == ("near", *(n for n, _ in mine))
        assert step_models(vigil.settings, "enrich") == tuple(n for n, _ in mine)


def test_step_models_leaves_out_what_the_chain_would_refuse(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remote provider under local_only and one whose key variable is unset are not models
    the step would try; one with its key set is."""
    config = (
        '[reasoning]\nlocal_only = true\n\n[[reasoning.providers]]\nname = "far"\n'
        'base_url = "https://api.example.com/v1"\nmodel = "m"\n\n'
        '[[reasoning.providers]]\nname = "keyed"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'model = "m"\napi_key_env = "VIGIL_TEST_STEP_KEY"\n'
    )
    (home / "config.toml").write_text(config)
    monkeypatch.delenv("VIGIL_TEST_STEP_KEY", raising=False)
    assert step_models(load_settings(), "ask") == ()
    monkeypatch.setenv("VIGIL_TEST_STEP_KEY", "sk-test-0123456789")
    assert step_models(load_settings(), "ask") == ("keyed",)


async def test_a_listening_ollama_is_discovered_for_every_step(
    home: Path, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something that accepts connections on Ollama's port and lists a model joins both
    chains, and step_models sees it with one loopback connect."""
    openai_server.ollama_models = ["qwen2.5:0.5b"]
    monkeypatch.setattr(reasoning, "OLLAMA_PORT", openai_server.port)
    for vigil in _vigil(home, "[reasoning]\nlocal_only = true\n"):
        for step in ("ask", "enrich"):
            assert await _chain_models(vigil, step) == [("ollama", "openai")]
            assert step_models(vigil.settings, step) == ("ollama",)


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ('[reasoning]\nembedded_steps = ["triage"]\n', "embedded_steps must be a list"),
        ('[reasoning]\nembedded_steps = "ask"\n', "embedded_steps must be a list"),
        (
            '[[reasoning.providers]]\nname = "r"\nkind = "rules"\nsteps = ["asking"]\n',
            "steps must be a list",
        ),
    ],
)
def test_a_bad_step_list_is_one_clear_error(home: Path, config: str, error: str) -> None:
    """A step name Vigil does not know is a configuration error naming the key."""
    (home / "config.toml").write_text(config)
    with pytest.raises(ConfigError, match=error):
        step_models(load_settings(), "ask")


def test_step_models_imports_no_http_client_and_no_model() -> None:
    """Deciding which models a step would try imports neither httpx nor llama_cpp."""
    code = (
        "import json, sys\n"
        "from vigil.app.reasoning import step_models\n"
        "from vigil.config import load_settings\n"
        "names = [step_models(load_settings(), s) for s in ('ask', 'enrich')]\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('httpx', 'llama_cpp'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
