"""The microphone: live 16 kHz PCM -> utterances (streaming Silero VAD) -> what was said.

Recording goes through ``arecord`` (alsa-utils) when an ALSA capture device exists; without one,
:func:`capture_command` raises :class:`VoiceUnavailable` with one line saying so (and that
``--wav FILE`` works). :func:`listen_stream` reads PCM from any binary stream (arecord's stdout
in production, a recording in tests) and yields what each utterance meant; time is the position
in the stream (samples), never the wall clock.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from vigil.errors import VoiceUnavailable
from vigil.sources.voice.audio import RATE, Audio, from_pcm16
from vigil.sources.voice.listener import Heard, Listener
from vigil.sources.voice.silero import WINDOW

if TYPE_CHECKING:
    from vigil.sources.voice.silero import VadStream

START = 0.5  # speech probability that opens an utterance
END = 0.35  # ... and under which silence is counted
END_SILENCE_S = 0.5
PRE_ROLL_S = 0.3
MAX_UTTERANCE_S = 15.0


def capture_devices(snd: Path = Path("/dev/snd")) -> list[str]:
    """The ALSA capture devices (``pcmC0D0c``...) on this machine."""
    return sorted(p.name for p in snd.glob("pcmC*D*c")) if snd.is_dir() else []


def capture_command(snd: Path = Path("/dev/snd")) -> list[str]:
    """``arecord`` recording 16 kHz mono 16-bit PCM to stdout, or :class:`VoiceUnavailable`."""
    if not capture_devices(snd):
        raise VoiceUnavailable(
            "no microphone: this machine has no audio capture device; use vigil listen --wav FILE"
        )
    arecord = shutil.which("arecord")
    if arecord is None:
        raise VoiceUnavailable("recording needs arecord: apt-get install alsa-utils")
    return [arecord, "-q", "-t", "raw", "-f", "S16_LE", "-r", str(RATE), "-c", "1"]


def utterances(stream: IO[bytes], vad: VadStream) -> Iterator[tuple[Audio, float]]:
    """Each utterance in a live PCM stream, with the second (stream time) it started at."""
    import numpy as np

    window_bytes = WINDOW * 2
    pre_roll = int(PRE_ROLL_S * RATE / WINDOW)
    quiet_limit = int(END_SILENCE_S * RATE / WINDOW)
    max_windows = int(MAX_UTTERANCE_S * RATE / WINDOW)
    history: list[bytes] = []
    speech: list[bytes] = []
    position = 0  # windows read so far
    started = 0
    quiet = 0
    while True:
        data = stream.read(window_bytes)
        if not data or len(data) < window_bytes:
            break
        position += 1
        window = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        prob = vad(window)
        if not speech:
            history = [*history[-pre_roll:], data] if pre_roll else []
            if prob >= START:
                speech = list(history)
                started = position - len(history)
                quiet = 0
            continue
        speech.append(data)
        quiet = quiet + 1 if prob < END else 0
        if quiet >= quiet_limit or len(speech) >= max_windows:
            yield from_pcm16(b"".join(speech)), started * WINDOW / RATE
            speech, history, quiet = [], [], 0
    if speech:
        yield from_pcm16(b"".join(speech)), started * WINDOW / RATE


def listen_stream(listener: Listener, stream: IO[bytes]) -> Iterator[Heard]:
    """What each utterance addressed to Vigil meant: a command, or a lone wake phrase whose
    follow-up never came. Speech without the wake phrase yields nothing."""
    from vigil.sources.voice.silero import Segment

    vad = listener.vad.stream()
    waiting: Heard | None = None
    for audio, start_s in utterances(stream, vad):
        whole = Segment(0, len(audio.samples))
        heard = listener.recognize(audio, whole)
        heard = _shift(heard, start_s)
        if waiting is not None:
            combined = listener.combine([waiting, heard])
            if combined.intent is not None:
                yield combined
                waiting = None
                continue
            yield waiting  # a wake phrase, then no command: the caller can say so
            waiting = None
        if heard.wake and heard.intent is None:
            waiting = heard  # the command may come in the next utterance
        elif heard.wake:
            yield heard
    if waiting is not None:
        yield waiting


def _shift(heard: Heard, offset: float) -> Heard:
    from dataclasses import replace

    return replace(heard, start_s=heard.start_s + offset, end_s=heard.end_s + offset)
