"""Reading audio: every bad file is one clear error; good files arrive as 16 kHz mono."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from tests.voice.conftest import fixture
from vigil.errors import InputError
from vigil.sources.voice.audio import RATE, read_wav, resample, with_noise_floor


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not_a_wav.wav", "not a WAV file"),
        ("header_only.wav", "holds no audio"),
        ("rate_8k.wav", "sample rate 8000 Hz is not usable"),
    ],
)
def test_bad_audio_is_one_clear_error(name: str, message: str) -> None:
    """A text file, a WAV without samples and a WAV at 8 kHz are refused with a line naming it."""
    with pytest.raises(InputError) as caught:
        read_wav(fixture(name))
    text = str(caught.value)
    assert message in text and name in text and "\n" not in text


def test_missing_file_and_empty_file_are_input_errors(tmp_path: Path) -> None:
    """A path that does not exist, and a zero-byte file, are input errors, not crashes."""
    with pytest.raises(InputError, match="no such file"):
        read_wav(tmp_path / "nope.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="not a WAV file"):
        read_wav(empty)


def test_too_short_audio_is_refused(tmp_path: Path) -> None:
    """Twenty milliseconds of audio is too short to hold a word."""
    path = tmp_path / "blip.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(np.zeros(320, dtype="<i2").tobytes())
    with pytest.raises(InputError, match=r"only 0\.02 s of audio"):
        read_wav(path)


def test_espeak_output_is_resampled_to_16k_mono() -> None:
    """espeak-ng's 22050 Hz WAV and a 44.1 kHz stereo copy both arrive as 16 kHz mono, the same
    length."""
    mono = read_wav(fixture("cmd_quiet_hour.wav"))
    stereo = read_wav(fixture("cmd_quiet_hour_44k_stereo.wav"))
    assert mono.source_rate == 22050 and stereo.source_rate == 44100
    assert abs(mono.seconds - stereo.seconds) < 0.01
    assert mono.samples.dtype == np.float32 and float(np.abs(mono.samples).max()) <= 1.0


def test_resampling_keeps_the_band_and_removes_what_cannot_be_kept() -> None:
    """A 440 Hz tone survives 22050 -> 16000 Hz exactly; a 9 kHz tone (above 8 kHz) is removed
    instead of folding back as an alias."""
    t = np.arange(22050 * 2) / 22050
    tone = np.sin(2 * np.pi * 440 * t)
    out = resample(tone + 0.5 * np.sin(2 * np.pi * 9000 * t), 22050, RATE)
    expected = np.sin(2 * np.pi * 440 * np.arange(len(out)) / RATE)
    assert len(out) == 2 * RATE
    assert np.abs(out[200:-200] - expected[200:-200]).max() < 1e-3


def test_noise_floor_is_deterministic_and_quiet() -> None:
    """The floor under synthetic speech is the same every time and 40 dB below the speech."""
    speech = read_wav(fixture("cmd_what_broke.wav")).samples
    first, second = with_noise_floor(speech), with_noise_floor(speech)
    assert np.array_equal(first, second)
    added = (first - speech).astype(np.float64)
    loud = speech[np.abs(speech) > 0.05 * np.abs(speech).max()].astype(np.float64)
    ratio_db = 20 * np.log10(np.sqrt(np.mean(loud**2)) / np.sqrt(np.mean(added**2)))
    assert 39.0 < ratio_db < 41.0
    silence = np.zeros(1000, dtype=np.float32)
    assert np.array_equal(with_noise_floor(silence), silence)
