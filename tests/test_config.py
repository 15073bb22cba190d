"""Settings: precedence, frozenness, and warnings for what config.toml holds that nothing reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import daemon, vigil
from vigil.config import (
    ANY_KEYS,
    SECTIONS,
    Settings,
    config_warnings,
    known_keys,
    load_settings,
)


def _load(home: Path, text: str) -> Settings:
    (home / "config.toml").write_text(text)
    return load_settings()


def test_a_misspelt_key_is_ignored_with_a_warning_naming_the_closest_key(home: Path) -> None:
    """``[run] explian = true`` changes nothing and gives one warning naming ``explain``; the
    correctly spelt key beside it still applies."""
    settings = _load(home, "[run]\nexplian = true\ngit_wait_s = 2\n")
    assert settings.run_explain is False and settings.git_wait_s == 2.0
    (warning,) = settings.warnings
    assert "'explian'" in warning and "[run]" in warning and "did you mean explain?" in warning
    assert str(home / "config.toml") in warning


def test_unknown_sections_and_stray_keys_are_warned(home: Path) -> None:
    """An unknown section names the closest known one; a key outside any section names the
    section it belongs in; one warning per key."""
    settings = _load(home, "port = 9000\n[deamon]\nport = 9001\n[zzzz]\nx = 1\n")
    warnings = list(settings.warnings)
    assert len(warnings) == 3
    assert "'port' outside any section (did you mean [daemon] port?)" in warnings[0]
    assert "unknown section [deamon] (did you mean [daemon]?)" in warnings[1]
    assert "unknown section [zzzz] (known: " in warnings[2]
    assert settings.port == 7878  # none of them applied


def test_every_known_key_loads_without_a_warning(home: Path) -> None:
    """A config that uses every known key (and a provider with keys of its own, which the
    reasoning layer checks) gives no warning."""
    tables: dict[str, list[str]] = {}
    for section, keys in known_keys().items():
        if "." not in section and keys is not ANY_KEYS:
            tables[section] = [k for k in keys if f"{section}.{k}" not in known_keys()]
    values = {
        "explain": "true",
        "local_only": "true",
        "log_level": '"debug"',
        "semantic": '"off"',
        "embedded_steps": '["ask"]',
        "wake_phrase": '"hey computer"',
        "voice": '"en-us"',
        "test_command": '"pytest -q"',
        "predict_min_hit_rate": "0.5",
        "host": '"127.0.0.1"',
        "allow_remote": "false",
    }
    text = "".join(
        f"[{section}]\n" + "".join(f"{key} = {values.get(key, '3')}\n" for key in sorted(keys))
        for section, keys in tables.items()
    )
    text += '[[reasoning.providers]]\nname = "rules"\nkind = "rules"\nanything = 1\n'
    settings = _load(home, text)
    assert settings.warnings == ()
    assert settings.run_explain is True and settings.port == 3


def test_a_feature_registers_its_section_in_one_line(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A section added to ``SECTIONS`` (here ``[[logs.follow]]``, an array of tables nested in a
    known section) is checked item by item and readable raw through ``settings.table``."""
    monkeypatch.setitem(SECTIONS, "logs.follow", frozenset({"path"}))
    settings = _load(home, '[[logs.follow]]\npath = "/var/log/a"\n[[logs.follow]]\npaht = "b"\n')
    assert settings.table("logs.follow") == [{"path": "/var/log/a"}, {"paht": "b"}]
    (warning,) = settings.warnings
    assert "unknown key 'paht' in [logs.follow] (did you mean path?)" in warning
    assert config_warnings({"logs": {"follow": [{"path": "x"}]}}, "c") == []
    monkeypatch.setitem(SECTIONS, "hooks.github", frozenset({"secret_env"}))
    assert config_warnings({"hooks": {"github": {"secret_env": "X"}}}, "c") == []
    (typo,) = config_warnings({"hooks": {"gihub": {}}}, "c")
    assert "unknown key 'gihub' in [hooks] (did you mean github?)" in typo


def test_settings_are_frozen_and_replace_gives_a_changed_copy(home: Path) -> None:
    """Settings cannot be changed in place; ``replace`` returns an equal-but-for-the-change
    copy, and an unknown field is a TypeError."""
    settings = load_settings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
    moved = settings.replace(port=1234)
    assert moved.port == 1234 and settings.port == 7878
    assert moved.replace(port=7878) == settings
    with pytest.raises(TypeError, match="no field 'prot'"):
        settings.replace(prot=1)


def test_the_cli_prints_each_warning_once_and_still_works(home: Path) -> None:
    """A misspelt key never stops a command: ``vigil events`` prints the warning on stderr,
    one line, and its normal output."""
    (home / "config.toml").write_text(
        '[triage]\nmax_fixess = 3\n[[reasoning.providers]]\nname = "rules"\nkind = "rules"\n'
    )
    done = vigil("events", "--json", home=home)
    assert done.returncode == 0
    assert json.loads(done.stdout) == []
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("vigil: warning: ")
    assert "'max_fixess' in [triage] (did you mean max_fixes?)" in lines[0]


@pytest.mark.slow
def test_the_daemon_logs_the_warning(home: Path) -> None:
    """``vigil up`` with a misspelt key starts, and its log names the key."""
    (home / "config.toml").write_text(
        '[daemon]\nstorage_probe = 5\n[[reasoning.providers]]\nname = "rules"\nkind = "rules"\n'
    )
    with daemon(home):
        pass
    log = (home / "logs" / "vigil.log").read_text()
    entries = [json.loads(line) for line in log.splitlines()]
    warned = [e for e in entries if "storage_probe" in json.dumps(e)]
    assert warned and warned[0]["level"] == "warning"
    assert "did you mean storage_probe_s?" in warned[0]["detail"]
