"""The voice benchmark's corpus: spoken commands and speech that is not a command.

Synthetic speech comes from espeak-ng through :func:`vigil.notify.speech.synthesize` (the path
the product speaks with), in several voices and two speeds, and is mixed with white noise at two
levels (seeded: the same corpus every run). Human speech comes from Debian's
``pocketsphinx-testdata`` package (read speech from LibriVox, card names, digits, "go forward ten
meters"), none of it addressed to Vigil: it measures false wakes on real voices. The package is
installed by ``make bench`` when missing; without it the section says so and measures the rest.
"""

from __future__ import annotations

import wave
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.notify.speech import synthesize

VOICES = ("en-us", "en-us+f3", "en-gb", "en-us+m3", "en-029")
QUICK_VOICES = ("en-us", "en-gb")
SPEEDS = (175, 140)  # espeak-ng's default words per minute, and slower
NOISE_SNR_DB = (None, 20.0, 10.0)  # clean, then white noise at two levels
HUMAN_DATA = Path("/usr/share/pocketsphinx/test/data")

# (text after the wake phrase, the intent and slots it must give)
COMMANDS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("what broke", "what_broke", {}),
    ("read my notifications", "read_notifications", {}),
    ("run the tests", "run_tests", {}),
    ("be quiet for an hour", "quiet", {"duration_s": 3600}),
    ("quiet for ten minutes", "quiet", {"duration_s": 600}),
    ("quiet for two hours", "quiet", {"duration_s": 7200}),
)

# Speech that is not addressed to Vigil: everyday and developer talk, near misses included
# (command words without the wake phrase, "hey" to someone else).
NON_COMMANDS: tuple[str, ...] = (
    "the weather today is quite nice and I think we should go for a walk",
    "can you pass me the salt please",
    "I will be back in ten minutes",
    "hey there, what is new with you",
    "what broke the build yesterday was a missing import",
    "did you run the tests before you pushed",
    "please be quiet, the baby is sleeping",
    "let us meet for an hour after lunch",
    "the deploy went out at noon and nobody noticed",
    "hey Mike, read me the notes from the meeting",
    "I think the cache is stale again",
    "we should rename that function before the release",
    "my coffee went cold while I was reviewing the pull request",
    "the train was late for the third time this week",
    "could you read my notes and tell me what you think",
    "this village has a quiet little church by the river",
    "the vigilant guard walked the wall all night",
    "a visual diff would make this much easier to review",
    "have you seen my keys anywhere",
    "the tests passed on my machine but failed in the pipeline",
    "let me know when the server is back up",
    "I need a minute to think about it",
    "turn left at the second light and park behind the store",
    "everyone was quiet for a moment after the news",
)


@dataclass(frozen=True, slots=True)
class Clip:
    """One utterance of the corpus: its WAV, what was said, and what it must give."""

    path: Path
    text: str
    voice: str
    speed: int
    snr_db: float | None
    intent: str | None = None  # None: not addressed to Vigil
    slots: dict[str, Any] | None = None
    human: bool = False


def _espeak(text: str, wav: Path, voice: str, speed: int) -> Path:
    if speed == SPEEDS[0]:
        return synthesize(text, wav, voice=voice)
    # The product's synthesize has no speed; the bench asks espeak-ng directly for slower speech.
    import shutil
    import subprocess

    binary = shutil.which("espeak-ng") or "espeak-ng"
    subprocess.run(
        [binary, "-v", voice, "-s", str(speed), "-w", str(wav)],
        input=text,
        text=True,
        check=True,
        capture_output=True,
    )
    return wav


def add_noise(path: Path, out: Path, snr_db: float, seed: int) -> Path:
    """``path`` with white noise ``snr_db`` under the speech's RMS, written to ``out``."""
    import numpy as np

    with wave.open(str(path), "rb") as handle:
        rate, width = handle.getframerate(), handle.getsampwidth()
        data = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    signal = data.astype(np.float64)
    loud = signal[np.abs(signal) > 0.05 * (np.abs(signal).max() or 1.0)]
    rms = float(np.sqrt(np.mean(loud**2))) if len(loud) else 1000.0
    noise = np.random.default_rng(seed).normal(0.0, rms / (10 ** (snr_db / 20)), len(signal))
    mixed = np.clip(signal + noise, -32768, 32767).astype("<i2")
    with wave.open(str(out), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(width)
        handle.setframerate(rate)
        handle.writeframes(mixed.tobytes())
    return out


def _variants(
    base: Path, text: str, voice: str, speed: int, seed: int, **meaning: Any
) -> Iterator[Clip]:
    for snr in NOISE_SNR_DB:
        path = (
            base if snr is None else add_noise(base, base.with_suffix(f".n{snr:g}.wav"), snr, seed)
        )
        yield Clip(path, text, voice, speed, snr, **meaning)


def commands(root: Path, wake_phrase: str, *, quick: bool) -> list[Clip]:
    """Every command of :data:`COMMANDS` after ``wake_phrase``, in every voice, speed, noise."""
    voices = QUICK_VOICES if quick else VOICES
    speeds = SPEEDS[:1] if quick else SPEEDS
    chosen = COMMANDS[::2] if quick else COMMANDS
    clips: list[Clip] = []
    slug = wake_phrase.replace(" ", "_")
    for c, (command, intent, slots) in enumerate(chosen):
        text = f"{wake_phrase}, {command}"
        for voice in voices:
            for speed in speeds:
                wav = root / f"cmd-{slug}-{c}-{voice.replace('+', '_')}-{speed}.wav"
                _espeak(text, wav, voice, speed)
                seed = zlib.crc32(f"{slug}/{c}/{voice}/{speed}".encode()) & 0xFFFF
                clips.extend(_variants(wav, text, voice, speed, seed, intent=intent, slots=slots))
    return clips


def non_commands(root: Path, *, quick: bool) -> list[Clip]:
    """Speech not addressed to Vigil: synthetic (clean, and with the louder noise) and the human
    recordings."""
    voices = QUICK_VOICES if quick else VOICES[:3]
    texts = NON_COMMANDS[::3] if quick else NON_COMMANDS
    clips: list[Clip] = []
    for t, text in enumerate(texts):
        for voice in voices:
            speed = SPEEDS[t % len(SPEEDS)]
            wav = root / f"neg-{t}-{voice.replace('+', '_')}.wav"
            _espeak(text, wav, voice, speed)
            clips.append(Clip(wav, text, voice, speed, None))
            noisy = add_noise(wav, wav.with_suffix(".n10.wav"), NOISE_SNR_DB[-1] or 10.0, t)
            clips.append(Clip(noisy, text, voice, speed, NOISE_SNR_DB[-1]))
    clips.extend(human_recordings(root))
    return clips


def human_recordings(root: Path) -> list[Clip]:
    """The human recordings in Debian's pocketsphinx test data (raw files converted to WAV)."""
    if not HUMAN_DATA.is_dir():
        return []
    clips: list[Clip] = []
    for wav in sorted(HUMAN_DATA.glob("**/*.wav")):
        clips.append(Clip(wav, wav.stem, "human", 0, None, human=True))
    for raw in sorted(HUMAN_DATA.glob("**/*.raw")):
        out = root / f"human-{raw.stem}.wav"
        with wave.open(str(out), "wb") as handle:  # 16 kHz mono 16-bit, as the package says
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(16_000)
            handle.writeframes(raw.read_bytes())
        clips.append(Clip(out, raw.stem, "human", 0, None, human=True))
    return clips


def seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as handle:
        return handle.getnframes() / handle.getframerate()


def human_transcribed(root: Path) -> list[tuple[Path, str]]:
    """The human recordings whose words the package states (cards, LibriVox, "go forward"),
    with their transcripts."""
    found: list[tuple[Path, str]] = []
    for folder, listing in (("cards", "cards.transcription"), ("librivox", "transcription")):
        path = HUMAN_DATA / folder / listing
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            text, _, ident = line.rpartition("(")
            words = text.replace("<s>", " ").replace("</s>", " ").split()
            wav = HUMAN_DATA / folder / f"{ident.strip(') ')}.wav"
            if words and wav.is_file():
                found.append((wav, " ".join(words)))
    raw = HUMAN_DATA / "goforward.raw"
    if raw.is_file():
        out = root / "human-goforward.wav"
        if not out.is_file():
            with wave.open(str(out), "wb") as handle:
                handle.setnchannels(1)
                handle.setsampwidth(2)
                handle.setframerate(16_000)
                handle.writeframes(raw.read_bytes())
        found.append((out, "go forward ten meters"))
    return found
