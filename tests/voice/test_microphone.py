"""The microphone loop's logic, fed a real recording as a live PCM stream."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from tests.voice.conftest import fixture
from vigil.errors import VoiceUnavailable
from vigil.sources.voice.audio import read_wav
from vigil.sources.voice.listener import Listener
from vigil.sources.voice.microphone import capture_command, listen_stream


def _stream(*names: str, gap_s: float = 1.0) -> io.BytesIO:
    """The fixtures as one 16 kHz PCM stream, with silence between them and at the end."""
    gap = np.zeros(int(gap_s * 16000), dtype=np.float32)
    parts = [gap]
    for name in names:
        parts += [read_wav(fixture(name)).samples, gap]
    audio = np.concatenate(parts)
    return io.BytesIO((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


def test_live_stream_yields_each_command_and_skips_chatter(listener: Listener) -> None:
    """Chatter, a command, more chatter, another command: the loop yields the two commands in
    order, with their times in the stream."""
    stream = _stream(
        "chatter_weather.wav", "cmd_run_tests.wav", "no_wake_run_tests.wav", "cmd_quiet_hour.wav"
    )
    heard = list(listen_stream(listener, stream))
    assert [(h.intent, h.slots) for h in heard] == [
        ("run_tests", {}),
        ("quiet", {"duration_s": 3600}),
    ]
    assert 0 < heard[0].start_s < heard[1].start_s


def test_live_stream_joins_a_wake_phrase_and_the_command_after_a_pause(
    listener: Listener,
) -> None:
    """'<wake>' ... pause ... 'what broke' on the microphone is one what_broke command."""
    heard = list(listen_stream(listener, _stream("wake_pause_what_broke.wav")))
    assert [h.intent for h in heard] == ["what_broke"]


def test_no_capture_device_is_voice_unavailable(tmp_path: Path) -> None:
    """Without capture nodes under /dev/snd, recording is refused with a clear reason."""
    snd = tmp_path / "snd"
    snd.mkdir()
    (snd / "pcmC0D0p").touch()  # playback only
    with pytest.raises(VoiceUnavailable, match="no microphone"):
        capture_command(snd)
