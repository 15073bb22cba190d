"""Listening: audio -> utterances (VAD) -> words (grammar) -> wake, intent, slots, confidence.

A command grammar maps every utterance onto *some* path through it, so the grammar's answer is
never trusted alone. Two gates decide, both on how well the audio fits the words the recogniser
chose (its acoustic score per frame, see :mod:`vigil.sources.voice.sphinx`), turned into a
confidence in [0, 1] by a logistic curve whose midpoint and slope were measured (``make bench``,
section voice):

- wake: the utterance starts with the wake phrase AND the wake words fit well enough;
- intent: only after a wake, a complete command whose words fit well enough.

Speech that is not addressed to Vigil therefore gives ``wake`` false and no intent, even when the
grammar forced it into "hey vigil what is ..." (measured as false wakes per hour of non-matching
speech). A wake phrase said alone, then a command in the next utterance within
``FOLLOW_UP_S``, counts as one command (what a person does with a microphone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vigil.sources.voice import grammar
from vigil.sources.voice.audio import RATE, Audio, with_noise_floor
from vigil.sources.voice.silero import Segment, SileroVad, segments
from vigil.sources.voice.sphinx import Decoded, GrammarRecognizer, Word

if TYPE_CHECKING:
    from collections.abc import Sequence

# Fit (nats per frame) -> confidence: 0.5 at FIT_MIDPOINT; measured, see the module docstring
# (the bench sweeps -3 to -6: -4.0 is the loosest with no false wake at it and one step looser).
FIT_MIDPOINT = -4.0
FIT_SCALE = 0.25
WAKE_THRESHOLD = 0.5
COMMAND_THRESHOLD = 0.5
MERGE_GAP_S = 0.7  # speech segments closer than this are one utterance
FOLLOW_UP_S = 4.0  # a command this soon after a lone wake phrase belongs to it


def confidence(words: Sequence[Word], midpoint: float = FIT_MIDPOINT) -> float:
    """How well the audio fits ``words``: a logistic of their frame-weighted fit."""
    frames = sum(w.frames for w in words)
    if not frames:
        return 0.0
    fit = sum(w.fit * w.frames for w in words) / frames
    return 1.0 / (1.0 + math.exp(-(fit - midpoint) / FIT_SCALE))


@dataclass(frozen=True, slots=True)
class Heard:
    """What one utterance (or a wake phrase and its follow-up) meant; ``to_dict`` is the
    contract's ``vigil listen --json`` object (plus ``start_s``, ``end_s``)."""

    heard: str
    wake: bool
    intent: str | None
    slots: dict[str, Any]
    confidence: float
    wake_phrase: str
    start_s: float = 0.0
    end_s: float = 0.0
    wake_confidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "heard": self.heard,
            "wake": self.wake,
            "intent": self.intent,
            "slots": dict(self.slots),
            "confidence": round(self.confidence, 3),
            "wake_phrase": self.wake_phrase,
            "start_s": round(self.start_s, 2),
            "end_s": round(self.end_s, 2),
        }


@dataclass(frozen=True, slots=True)
class Listening:
    """Everything heard in one piece of audio: the answer and each utterance."""

    best: Heard
    utterances: tuple[Heard, ...] = field(default_factory=tuple)
    speech_s: float = 0.0


class Listener:
    """Wake phrase + grammar + gates over Silero VAD and PocketSphinx."""

    def __init__(
        self,
        wake_phrase: str = grammar.DEFAULT_WAKE_PHRASE,
        *,
        vad: SileroVad | None = None,
        recognizer: GrammarRecognizer | None = None,
        wake_threshold: float = WAKE_THRESHOLD,
        command_threshold: float = COMMAND_THRESHOLD,
        fit_midpoint: float = FIT_MIDPOINT,
    ) -> None:
        self.wake_phrase = " ".join(grammar.phrase_words(wake_phrase))
        self.vad = vad or SileroVad()
        self.recognizer = recognizer or GrammarRecognizer(
            grammar.jsgf(self.wake_phrase), grammar.vocabulary(self.wake_phrase)
        )
        self.wake_threshold = wake_threshold
        self.command_threshold = command_threshold
        self.fit_midpoint = fit_midpoint

    # -- the steps (separate, so the bench can time each) -------------------------------------

    def utterances(self, audio: Audio) -> list[Segment]:
        """Speech segments of ``audio``, those closer than ``MERGE_GAP_S`` joined."""
        found = segments(self.vad.probabilities(audio.samples), total=len(audio.samples))
        merged: list[Segment] = []
        for seg in found:
            if merged and (seg.start - merged[-1].end) / RATE < MERGE_GAP_S:
                merged[-1] = Segment(merged[-1].start, seg.end)
            else:
                merged.append(seg)
        return merged

    def decode(self, audio: Audio, segment: Segment) -> Decoded:
        """The recogniser's best path for one utterance (over a noise floor, see
        :func:`vigil.sources.voice.audio.with_noise_floor`)."""
        floored = Audio(with_noise_floor(audio.samples[segment.start : segment.end]))
        return self.recognizer.decode(floored.pcm16())

    def recognize(self, audio: Audio, segment: Segment) -> Heard:
        """Decode one utterance and apply the wake and command gates."""
        decoded = self.decode(audio, segment)
        return self.judge(decoded, segment.start / RATE, segment.end / RATE)

    def judge(self, decoded: Decoded, start_s: float, end_s: float) -> Heard:
        words = [w.text for w in decoded.words]
        meaning = grammar.parse(words, self.wake_phrase)
        wake_words = decoded.words[: meaning.wake_words]
        command_words = decoded.words[meaning.wake_words :]
        wake_conf = confidence(wake_words, self.fit_midpoint) if meaning.wake else 0.0
        woken = meaning.wake and wake_conf >= self.wake_threshold
        intent: str | None = None
        slots: dict[str, Any] = {}
        if woken:
            command_conf = confidence(command_words, self.fit_midpoint) if command_words else 0.0
            if meaning.intent is not None and command_conf >= self.command_threshold:
                intent, slots = meaning.intent, dict(meaning.slots)
            conf = min(wake_conf, command_conf) if command_words else wake_conf
        else:
            conf = confidence(decoded.words, self.fit_midpoint)
        return Heard(
            heard=decoded.text,
            wake=woken,
            intent=intent,
            slots=slots,
            confidence=conf,
            wake_phrase=self.wake_phrase,
            start_s=start_s,
            end_s=end_s,
            wake_confidence=wake_conf,
        )

    # -- the whole thing -------------------------------------------------------------------

    def listen(self, audio: Audio) -> Listening:
        """Every utterance in ``audio``; ``best`` is the first command addressed to Vigil, else
        a lone wake phrase, else everything heard (``wake`` false)."""
        spans = self.utterances(audio)
        heard = [self.recognize(audio, span) for span in spans]
        speech = sum(span.end - span.start for span in spans) / RATE
        return Listening(best=self.combine(heard), utterances=tuple(heard), speech_s=speech)

    def combine(self, heard: Sequence[Heard]) -> Heard:
        """The answer for a sequence of utterances (see :meth:`listen`)."""
        for i, item in enumerate(heard):
            if item.wake and item.intent is not None:
                return item
            if item.wake and i + 1 < len(heard):
                follow = self._follow_up(item, heard[i + 1])
                if follow is not None:
                    return follow
        for item in heard:
            if item.wake:
                return item
        if not heard:
            return Heard("", False, None, {}, 0.0, self.wake_phrase)
        text = " ".join(h.heard for h in heard if h.heard)
        return Heard(
            heard=text,
            wake=False,
            intent=None,
            slots={},
            confidence=min(h.confidence for h in heard),
            wake_phrase=self.wake_phrase,
            start_s=heard[0].start_s,
            end_s=heard[-1].end_s,
        )

    def _follow_up(self, wake: Heard, nxt: Heard) -> Heard | None:
        """``wake`` (the wake phrase with no command after it: alone, or with the start of a
        path the recogniser could not finish) and the command right after it, as one command."""
        if not wake.wake or wake.intent is not None or nxt.wake:
            return None
        if nxt.start_s - wake.end_s > FOLLOW_UP_S:
            return None
        command = grammar.parse_command(nxt.heard.split())
        if command is None or nxt.confidence < self.command_threshold:
            return None
        return Heard(
            heard=f"{self.wake_phrase} {nxt.heard}",
            wake=True,
            intent=command[0],
            slots=dict(command[1]),
            confidence=min(wake.confidence, nxt.confidence),
            wake_phrase=self.wake_phrase,
            start_s=wake.start_s,
            end_s=nxt.end_s,
            wake_confidence=wake.wake_confidence,
        )
