"""Speaking: espeak-ng writes a real WAV; playing needs a player and a device, or says why not."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from vigil.errors import InputError
from vigil.notify.speech import play, sound_devices, synthesize


def _seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as handle:
        assert handle.getnchannels() == 1 and handle.getsampwidth() == 2
        return handle.getnframes() / handle.getframerate()


def test_synthesize_writes_a_wav_of_the_spoken_text(tmp_path: Path) -> None:
    """espeak-ng speaks a sentence into a mono 16-bit WAV about as long as the sentence."""
    wav = synthesize("The tests failed in calc dot py.", tmp_path / "out" / "say.wav")
    assert wav == tmp_path / "out" / "say.wav"
    assert 1.0 < _seconds(wav) < 6.0


def test_longer_text_gives_longer_speech_and_voices_differ(tmp_path: Path) -> None:
    """Twice the words take longer to say; another voice gives other audio."""
    short = synthesize("one two three", tmp_path / "a.wav")
    long = synthesize("one two three four five six seven eight", tmp_path / "b.wav")
    other = synthesize("one two three", tmp_path / "c.wav", voice="en-gb")
    assert _seconds(long) > _seconds(short) * 1.5
    assert other.read_bytes() != short.read_bytes()


def test_text_that_looks_like_an_option_is_spoken(tmp_path: Path) -> None:
    """A text starting with a dash goes to espeak-ng as text (on stdin), never as an option."""
    wav = synthesize("--version is not an option here", tmp_path / "dash.wav")
    assert _seconds(wav) > 1.0


@pytest.mark.parametrize(
    ("text", "voice", "message"),
    [
        ("   ", None, "nothing to say"),
        ("x" * 2001, None, "too long"),
        ("hello", "en-us; rm -rf /", "not an espeak-ng voice"),
    ],
)
def test_bad_requests_are_input_errors(
    tmp_path: Path, text: str, voice: str | None, message: str
) -> None:
    """Empty or huge text and a voice name that is not one are refused, and nothing is written."""
    with pytest.raises(InputError, match=message):
        synthesize(text, tmp_path / "x.wav", voice=voice)
    assert not (tmp_path / "x.wav").exists()


def test_piper_without_the_extra_falls_back_to_espeak(tmp_path: Path) -> None:
    """Asking for Piper where it is not installed still speaks, with espeak-ng."""
    import importlib.util

    if importlib.util.find_spec("piper") is not None:
        pytest.skip("Piper is installed here: the fallback cannot be observed")
    wav = synthesize("hello there", tmp_path / "p.wav", voice="piper")
    assert _seconds(wav) > 0.3


def test_play_without_any_device_says_why(tmp_path: Path) -> None:
    """With no ALSA device and no sound server, nothing is played and the reason is given."""
    wav = synthesize("hello", tmp_path / "h.wav")
    result = play(wav, devices={"alsa": False, "pulse": False})
    assert not result.played and "no sound device" in result.reason


def test_sound_devices_sees_alsa_playback_and_a_sound_server(tmp_path: Path) -> None:
    """A playback node under /dev/snd counts as ALSA; a pulse socket in XDG_RUNTIME_DIR as a
    sound server; a capture-only node does not count for playback."""
    snd = tmp_path / "snd"
    snd.mkdir()
    (snd / "pcmC0D0c").touch()
    runtime = tmp_path / "run"
    assert sound_devices({"XDG_RUNTIME_DIR": str(runtime)}, snd) == {
        "alsa": False,
        "pulse": False,
    }
    (snd / "pcmC0D0p").touch()
    (runtime / "pulse").mkdir(parents=True)
    (runtime / "pulse" / "native").touch()
    assert sound_devices({"XDG_RUNTIME_DIR": str(runtime)}, snd) == {"alsa": True, "pulse": True}
