"""`vigil say` and `vigil listen` as a person runs them: real processes, real files."""

from __future__ import annotations

import json
import wave
from datetime import timedelta
from pathlib import Path

import pytest

from tests.cli.helpers import events, vigil
from tests.voice.conftest import fixture
from vigil.clock import parse_iso
from vigil.sources.voice.grammar import DEFAULT_WAKE_PHRASE
from vigil.sources.voice.microphone import capture_devices

CONTRACT_KEYS = {"heard", "wake", "intent", "slots", "confidence", "wake_phrase"}


def test_say_writes_the_wav_and_says_whether_it_played(home: Path, tmp_path: Path) -> None:
    """`vigil say TEXT --wav FILE` writes a real WAV and one line naming it."""
    out = tmp_path / "hello.wav"
    done = vigil("say", "the", "build", "is", "green", "--wav", str(out), home=home)
    assert done.returncode == 0, done.stderr
    with wave.open(str(out), "rb") as handle:
        assert handle.getnframes() / handle.getframerate() > 0.8
    assert str(out) in done.stdout and done.stdout.count("\n") == 1


def test_what_say_writes_is_what_listen_understands(home: Path, tmp_path: Path) -> None:
    """The two halves agree: a command spoken by `vigil say` is understood by `vigil listen`."""
    out = tmp_path / "cmd.wav"
    said = vigil(
        "say",
        f"{DEFAULT_WAKE_PHRASE}, run the tests",
        "--wav",
        str(out),
        "--no-play",
        home=home,
    )
    assert said.returncode == 0, said.stderr
    done = vigil("listen", "--wav", str(out), "--json", home=home)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["wake"] is True and body["intent"] == "run_tests"


def test_listen_json_is_the_contract_and_stores_nothing(home: Path) -> None:
    """`vigil listen --wav FILE --json` prints {heard, wake, intent, slots, confidence,
    wake_phrase} and, without --act, stores no event."""
    done = vigil("listen", "--wav", str(fixture("cmd_quiet_hour.wav")), "--json", home=home)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert set(body) >= CONTRACT_KEYS
    assert body["wake"] is True and body["intent"] == "quiet"
    assert body["slots"] == {"duration_s": 3600}
    assert 0.0 <= body["confidence"] <= 1.0 and body["wake_phrase"] == DEFAULT_WAKE_PHRASE
    assert events(home) == []


def test_listen_without_the_wake_phrase_has_wake_false_and_intent_null(home: Path) -> None:
    """A command said without the wake phrase: wake false, intent null, in JSON and in words."""
    path = str(fixture("no_wake_run_tests.wav"))
    body = json.loads(vigil("listen", "--wav", path, "--json", home=home).stdout)
    assert body["wake"] is False and body["intent"] is None and body["slots"] == {}
    line = vigil("listen", "--wav", path, home=home).stdout
    assert "not addressed to Vigil" in line


def test_configured_wake_phrase_is_the_one_in_force(home: Path) -> None:
    """[voice] wake_phrase replaces the default: it is reported, and the default no longer
    wakes Vigil."""
    config = home / "config.toml"
    config.write_text(config.read_text() + '\n[voice]\nwake_phrase = "okay vigil"\n')
    done = vigil("listen", "--wav", str(fixture("cmd_what_broke.wav")), "--json", home=home)
    body = json.loads(done.stdout)
    assert body["wake_phrase"] == "okay vigil"
    assert body["wake"] is False and body["intent"] is None


def test_a_wake_phrase_the_recogniser_cannot_know_is_one_clear_error(home: Path) -> None:
    """A made-up word in [voice] wake_phrase is refused in one line, naming the word."""
    config = home / "config.toml"
    config.write_text(config.read_text() + '\n[voice]\nwake_phrase = "hey zyxvigil"\n')
    done = vigil("listen", "--wav", str(fixture("cmd_what_broke.wav")), home=home)
    assert done.returncode != 0
    assert "zyxvigil" in done.stderr and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_listen_act_quiet_publishes_focus_for_an_hour(home: Path) -> None:
    """`vigil listen --act` on 'be quiet for an hour' stores the command and
    attention.focus.changed whose until is an hour after the command."""
    done = vigil(
        "listen", "--wav", str(fixture("cmd_quiet_hour.wav")), "--json", "--act", home=home
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["outcome"]["answer"] == "Quiet for an hour."
    stored = {e["type"]: e for e in events(home)}
    focus = stored["attention.focus.changed"]
    assert focus["causation_id"] == stored["voice.command.heard"]["id"]
    until = parse_iso(focus["data"]["until"])
    assert until - parse_iso(stored["voice.command.heard"]["time"]) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not_a_wav.wav", "not a WAV file"),
        ("header_only.wav", "holds no audio"),
        ("rate_8k.wav", "8000 Hz"),
        ("missing.wav", "no such file"),
    ],
)
def test_bad_audio_is_one_line_and_a_non_zero_exit(home: Path, name: str, message: str) -> None:
    """Audio that is not a WAV, is empty, has the wrong rate or is missing: one line on stderr,
    a non-zero exit, no traceback, nothing stored."""
    path = fixture(name) if name != "missing.wav" else home / "missing.wav"
    done = vigil("listen", "--wav", str(path), "--json", "--act", home=home)
    assert done.returncode != 0 and done.stdout == ""
    assert message in done.stderr and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert events(home) == []


def test_say_with_nothing_to_say_is_one_line(home: Path) -> None:
    """`vigil say ""` is refused in one line with a non-zero exit."""
    done = vigil("say", "", home=home)
    assert done.returncode != 0 and "nothing to say" in done.stderr
    assert done.stderr.count("\n") == 1


@pytest.mark.skipif(bool(capture_devices()), reason="this machine has a microphone")
def test_listen_without_a_microphone_is_one_line(home: Path) -> None:
    """`vigil listen` with no capture device says so in one line (and that --wav works)."""
    done = vigil("listen", home=home)
    assert done.returncode != 0
    assert "no microphone" in done.stderr and "--wav" in done.stderr
    assert done.stderr.count("\n") == 1
