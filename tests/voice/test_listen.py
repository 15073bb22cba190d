"""Listening end to end: real espeak-ng (and one human) WAVs through Silero VAD and PocketSphinx."""

from __future__ import annotations

from typing import Any

import pytest

from tests.voice.conftest import fixture
from vigil.sources.voice.audio import read_wav
from vigil.sources.voice.grammar import DEFAULT_WAKE_PHRASE
from vigil.sources.voice.listener import Listener


@pytest.mark.parametrize(
    ("name", "intent", "slots"),
    [
        ("cmd_what_broke.wav", "what_broke", {}),
        ("cmd_read_notifications.wav", "read_notifications", {}),
        ("cmd_run_tests.wav", "run_tests", {}),
        ("cmd_quiet_hour.wav", "quiet", {"duration_s": 3600}),
        ("cmd_quiet_ten_minutes.wav", "quiet", {"duration_s": 600}),
        ("cmd_quiet_hour_44k_stereo.wav", "quiet", {"duration_s": 3600}),
    ],
)
def test_spoken_commands_give_their_intent(
    listener: Listener, name: str, intent: str, slots: dict[str, Any]
) -> None:
    """A command after the wake phrase is heard, addressed to Vigil, with its intent and slots."""
    heard = listener.listen(read_wav(fixture(name))).best
    assert heard.wake, heard
    assert (heard.intent, heard.slots) == (intent, slots), heard
    assert heard.heard.startswith(DEFAULT_WAKE_PHRASE)
    assert heard.confidence >= listener.command_threshold
    assert heard.wake_phrase == DEFAULT_WAKE_PHRASE


@pytest.mark.parametrize(
    "name",
    [
        "no_wake_run_tests.wav",
        "chatter_weather.wav",
        "chatter_hey_there.wav",
        "human_go_forward.wav",
    ],
)
def test_speech_not_addressed_to_vigil_gives_no_intent(listener: Listener, name: str) -> None:
    """A command without the wake phrase, everyday talk (a 'hey' to someone else included) and a
    human recording of 'go forward ten meters' are not addressed to Vigil: no wake, no intent."""
    result = listener.listen(read_wav(fixture(name)))
    assert result.speech_s > 0.5, "the VAD found the speech"
    assert not result.best.wake and result.best.intent is None, result.best
    assert result.best.slots == {}
    assert not any(u.wake for u in result.utterances)


def test_the_grammar_alone_would_have_woken_on_chatter(listener: Listener) -> None:
    """Without the confidence gate, the grammar forces some chatter into the wake phrase: the
    gate is what rejects it (this pins that the rejection test above is not vacuous)."""
    forced = Listener(
        listener.wake_phrase, vad=listener.vad, recognizer=listener.recognizer, fit_midpoint=-1e9
    )
    woken = [
        name
        for name in ("chatter_weather.wav", "chatter_hey_there.wav", "human_go_forward.wav")
        if forced.listen(read_wav(fixture(name))).best.heard
    ]
    assert woken, "the grammar found no path at all: the rejection tests prove nothing"


def test_wake_phrase_then_a_pause_then_the_command_is_one_command(listener: Listener) -> None:
    """'<wake>' ... 1.5 s of silence ... 'what broke' is understood as one what_broke command."""
    result = listener.listen(read_wav(fixture("wake_pause_what_broke.wav")))
    assert len(result.utterances) == 2
    assert result.best.wake and result.best.intent == "what_broke"
    assert result.best.end_s - result.best.start_s > 2.0


def test_silence_is_heard_as_nothing(listener: Listener) -> None:
    """A second of silence holds no speech: empty heard, no wake, confidence 0."""
    result = listener.listen(read_wav(fixture("silence.wav")))
    assert result.utterances == () and result.speech_s == 0.0
    assert result.best.to_dict() == {
        "heard": "",
        "wake": False,
        "intent": None,
        "slots": {},
        "confidence": 0.0,
        "wake_phrase": DEFAULT_WAKE_PHRASE,
        "start_s": 0.0,
        "end_s": 0.0,
    }


def test_another_wake_phrase_is_not_woken_by_the_default_one(listener: Listener) -> None:
    """With the wake phrase set to "okay vigil", a command after the default phrase does not
    wake Vigil."""
    other = Listener("okay vigil", vad=listener.vad)
    heard = other.listen(read_wav(fixture("cmd_what_broke.wav"))).best
    assert heard.wake_phrase == "okay vigil"
    assert not heard.wake and heard.intent is None
