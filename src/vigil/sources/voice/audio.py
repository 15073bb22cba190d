"""Audio in: WAV files read, checked and brought to what the recogniser hears (16 kHz mono).

Every problem a person can cause with a file (not a WAV, a compressed or float WAV, no samples,
a rate too low for speech recognition, hours of audio) is an :class:`InputError` with one line
that names the file and what is wrong. Rates from 16 kHz up are resampled (band-limited
interpolation with a Kaiser window, numpy only); below 16 kHz the high band the acoustic model
needs is missing, so those are refused rather than guessed at.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vigil.errors import InputError, VoiceUnavailable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

RATE = 16_000  # what the VAD and the recogniser take
MIN_RATE = 16_000
MAX_RATE = 192_000
MIN_SECONDS = 0.1
MAX_SECONDS = 15 * 60


def numpy_module() -> object:
    """Import numpy, or say in one line that listening needs the ``voice`` extra."""
    try:
        import numpy
    except ImportError:
        raise VoiceUnavailable(
            "listening needs the voice extra: pip install 'vigil[voice]' (or make voice)"
        ) from None
    return numpy


@dataclass(frozen=True, slots=True)
class Audio:
    """Mono samples in [-1, 1] at :data:`RATE`; ``source_rate`` is what the file had."""

    samples: npt.NDArray[np.float32]
    source_rate: int = RATE
    name: str = "audio"

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE

    def pcm16(self, start: int = 0, end: int | None = None) -> bytes:
        """Samples ``start:end`` as signed 16-bit little-endian PCM (what pocketsphinx reads)."""
        import numpy as np

        chunk = self.samples[start:end]
        return (np.clip(chunk, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def read_wav(path: Path) -> Audio:
    """Read a PCM WAV file into :class:`Audio` (mono, 16 kHz), or raise :class:`InputError`."""
    numpy_module()
    import numpy as np

    name = str(path)
    try:
        with wave.open(str(path), "rb") as handle:
            rate = handle.getframerate()
            channels = handle.getnchannels()
            width = handle.getsampwidth()
            frames = handle.getnframes()
            if frames and frames / max(rate, 1) > MAX_SECONDS:
                raise InputError(
                    f"{name}: {frames / rate / 60:.0f} minutes of audio is more than the "
                    f"{MAX_SECONDS // 60} minutes listening takes"
                )
            raw = handle.readframes(frames)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a WAV file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    except wave.Error as exc:
        reason = str(exc)
        if "RIFF" in reason or "WAVE" in reason:
            raise InputError(f"{name}: not a WAV file (expected RIFF/WAVE audio)") from None
        raise InputError(f"{name}: unsupported WAV ({reason}); use 16-bit PCM") from None
    except EOFError:
        raise InputError(f"{name}: not a WAV file, or cut short (no audio data)") from None
    if not raw or frames == 0:
        raise InputError(f"{name}: the WAV file holds no audio")
    if rate < MIN_RATE or rate > MAX_RATE:
        raise InputError(
            f"{name}: sample rate {rate} Hz is not usable for speech recognition "
            f"(need {MIN_RATE} to {MAX_RATE} Hz; 16000 Hz is best)"
        )
    samples = _decode(raw, width, channels, name)
    if len(samples) / rate < MIN_SECONDS:
        raise InputError(
            f"{name}: only {len(samples) / rate:.2f} s of audio (need at least {MIN_SECONDS} s)"
        )
    if rate != RATE:
        samples = resample(samples, rate, RATE)
    return Audio(samples=samples.astype(np.float32), source_rate=rate, name=name)


def _decode(raw: bytes, width: int, channels: int, name: str) -> npt.NDArray[np.float64]:
    import numpy as np

    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    elif width == 3:
        bytes3 = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = bytes3[:, 0] | (bytes3[:, 1] << 8) | (bytes3[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        data = value.astype(np.float64) / float(1 << 23)
    elif width == 4:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float64) / float(1 << 31)
    else:
        raise InputError(f"{name}: {width * 8}-bit samples are not supported; use 16-bit PCM")
    usable = len(data) - len(data) % channels
    if channels > 1:
        data = data[:usable].reshape(-1, channels).mean(axis=1)
    return data


def resample(
    samples: npt.NDArray[np.float64], source: int, target: int, *, half_width: int = 24
) -> npt.NDArray[np.float64]:
    """Band-limited resampling: windowed-sinc interpolation (Kaiser, beta 8.6) at the exact
    output positions, low-passed at 95 % of the lower Nyquist frequency.

    Polyphase: the output positions repeat every ``up`` samples (``target / gcd``), so the
    filter is computed once per phase and applied in blocks (a long file never builds a huge
    matrix)."""
    import math

    import numpy as np

    if source == target or len(samples) == 0:
        return samples.astype(np.float64)
    ratio = target / source
    cutoff = min(1.0, ratio) * 0.95  # in units of the source's Nyquist frequency
    half = int(np.ceil(half_width / min(1.0, ratio)))
    beta = 8.6
    g = math.gcd(source, target)
    up, down = target // g, source // g
    offsets = np.arange(-half + 1, half + 1)
    phases = np.arange(up) * down % up / up  # fractional position of each phase
    distance = phases[:, None] - offsets[None, :]
    inside = np.clip(1.0 - (distance / half) ** 2, 0.0, None)
    table = cutoff * np.sinc(cutoff * distance) * np.i0(beta * np.sqrt(inside)) / np.i0(beta)
    count = round(len(samples) * ratio)
    out = np.empty(count, dtype=np.float64)
    padded = np.concatenate([np.zeros(half), samples.astype(np.float64), np.zeros(half + 1)])
    block = 16384
    for first in range(0, count, block):
        n = np.arange(first, min(first + block, count))
        base = n * down // up
        index = base[:, None] + offsets[None, :] + half
        weights = table[n % up]
        out[first : first + len(n)] = np.einsum("ij,ij->i", weights, padded[index])
    return out


def with_noise_floor(
    samples: npt.NDArray[np.float32], below_db: float = 40.0, seed: int = 0
) -> npt.NDArray[np.float32]:
    """``samples`` with white noise ``below_db`` under the speech's level (seeded: the same
    audio always gives the same answer).

    A microphone always hears a little noise; synthetic speech has exact digital silence, which
    throws PocketSphinx's feature normalisation off: clean espeak-ng commands were detected 5 %
    of the time, 100 % with this floor at 40 dB, and no more false wakes on the same
    non-commands (30 dB let one through; 45 to 60 dB helped less). Recordings that already have
    a noise floor barely change."""
    import numpy as np

    magnitude = np.abs(samples)
    peak = float(magnitude.max()) if len(samples) else 0.0
    if peak <= 0.0:
        return samples
    loud = samples[magnitude > 0.05 * peak].astype(np.float64)
    rms = float(np.sqrt(np.mean(loud**2)))
    noise = np.random.default_rng(seed).normal(0.0, rms / 10 ** (below_db / 20), len(samples))
    return (samples + noise).astype(np.float32)


def from_pcm16(data: bytes, name: str = "microphone") -> Audio:
    """16 kHz mono signed 16-bit PCM (what the microphone loop records) as :class:`Audio`."""
    import numpy as np

    samples = np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2").astype(np.float32)
    return Audio(samples=samples / 32768.0, source_rate=RATE, name=name)
