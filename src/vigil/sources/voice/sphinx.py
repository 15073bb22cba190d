"""Speech recognition with PocketSphinx and its bundled en-us model, under a JSGF grammar
(adapter: pocketsphinx is imported here and nowhere else).

:meth:`GrammarRecognizer.decode` answers the words of the best path through the grammar with,
for each word, how well the audio fits it: the word's acoustic score per frame in nats.
PocketSphinx scores every frame relative to the best-scoring senone of that frame, so 0 is a
perfect fit and speech the grammar does not contain scores clearly lower; the listener turns this
into the confidence that gates wake and intent. When the beam search cannot reach the grammar's
end (speech the grammar does not contain, typically), the partial path is returned: the grammar's
parser then finds no complete command in it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from vigil.errors import ConfigError, VoiceUnavailable

FRAMES_PER_SECOND = 100
_ALTERNATE = re.compile(r"\(\d+\)$")
_FLOOR = -50.0  # nats per frame for a word whose score underflowed


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word: its text, frames ``[start, end]`` and fit (nats per frame, <= 0)."""

    text: str
    start: int
    end: int
    fit: float

    @property
    def frames(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class Decoded:
    """The best path through the grammar for one utterance."""

    words: tuple[Word, ...]
    frames: int

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


class GrammarRecognizer:
    """PocketSphinx constrained by one JSGF grammar; one utterance at a time, not thread-safe."""

    def __init__(self, grammar: str, vocabulary: set[str]) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise VoiceUnavailable(
                "listening needs pocketsphinx: pip install 'vigil[voice]' (or make voice)"
            ) from None
        self._decoder: Any = Decoder(lm=None, loglevel="FATAL")
        missing = sorted(w for w in vocabulary if self._decoder.lookup_word(w) is None)
        if missing:
            raise ConfigError(
                "[voice] wake_phrase: the recogniser does not know the word(s) "
                f"{', '.join(repr(w) for w in missing)}; choose words from its English dictionary"
            )
        try:
            self._decoder.add_jsgf_string("vigil", grammar)
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(f"the voice grammar is invalid: {exc}") from None
        self._decoder.activate_search("vigil")

    def decode(self, pcm16: bytes) -> Decoded:
        """Decode 16 kHz mono 16-bit PCM as one utterance."""
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(pcm16, full_utt=True)
        decoder.end_utt()
        frames = int(decoder.n_frames())
        hyp = decoder.hyp()
        if hyp is None:
            return Decoded(words=(), frames=frames)
        words: list[Word] = []
        for seg in decoder.seg() or []:
            text = _ALTERNATE.sub("", str(seg.word))
            if not text or text.startswith(("<", "[", "(")):
                continue
            start, end = int(seg.start_frame), int(seg.end_frame)
            span = max(1, end - start + 1)
            score = float(seg.ascore)
            fit = math.log(score) / span if score > 0.0 else _FLOOR
            words.append(Word(text=text, start=start, end=end, fit=max(fit, _FLOOR)))
        return Decoded(words=tuple(words), frames=frames)
