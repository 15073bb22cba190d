"""The spoken command grammar: wake phrase, four intents, the ``quiet`` duration slot.

Pure Python: the JSGF text the recogniser is constrained by, and the parser that turns the words
it heard back into an intent and slots. The grammar accepts a wake phrase alone, a wake phrase
followed by a command, or a command alone (heard, but not addressed to Vigil: no intent).

A grammar forces every utterance into some path through it, so the grammar never decides
whether something was said: :mod:`vigil.sources.voice.listener` gates on how well the audio fits
the words (the recogniser's acoustic score per frame), measured in ``make bench`` (voice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Chosen by measurement (`make bench`, section voice: detection on five espeak-ng voices at two
# speeds, clean and with noise at two levels; false wakes per hour on speech that is not a
# command, synthetic and the human recordings of Debian's pocketsphinx-testdata). Of "hey
# vigil", "okay vigil", "vigil", "hello vigil" and "hey computer", "hey computer" was detected
# most (0.89 of 180 commands, no false wake in 7.7 minutes of non-commands; "hello vigil" 0.78,
# "okay vigil" 0.74, "hey vigil" 0.62 at the same margin; "vigil" alone woke on other speech at
# every threshold). `[voice] wake_phrase` changes it.
DEFAULT_WAKE_PHRASE = "hey computer"

WHAT_BROKE = "what_broke"
READ_NOTIFICATIONS = "read_notifications"
RUN_TESTS = "run_tests"
QUIET = "quiet"
INTENTS = (WHAT_BROKE, READ_NOTIFICATIONS, RUN_TESTS, QUIET)

# The phrases of each intent, as the recogniser's dictionary spells them (no punctuation).
PHRASES: dict[str, tuple[str, ...]] = {
    WHAT_BROKE: ("what broke", "what is broken", "what failed", "what went wrong"),
    READ_NOTIFICATIONS: (
        "read my notifications",
        "read the notifications",
        "read notifications",
        "what did i miss",
    ),
    RUN_TESTS: ("run the tests", "run my tests", "run tests"),
}
QUIET_LEADS = ("be quiet", "quiet", "go quiet", "stay quiet")
DEFAULT_QUIET_S = 3600  # "be quiet" with no duration

SINGULAR = ("a", "an", "one")  # with minute / hour
NUMBERS: dict[str, int] = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "forty five": 45,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
}
UNITS: dict[str, int] = {"minutes": 60, "hours": 3600}
UNIT: dict[str, int] = {"minute": 60, "hour": 3600}

_WORD = re.compile(r"^[a-z']+$")


@dataclass(frozen=True, slots=True)
class Parse:
    """What a word sequence means: whether it starts with the wake phrase, and the command."""

    wake: bool
    intent: str | None
    slots: dict[str, Any] = field(default_factory=dict)
    wake_words: int = 0  # how many leading words are the wake phrase


def normalize_phrase(text: str) -> str:
    """Lower case, punctuation dropped, single spaces: ``"Hey, Vigil!"`` -> ``"hey vigil"``."""
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


def phrase_words(phrase: str) -> list[str]:
    """The words of a phrase a person can say (letters only), or :class:`ValueError`."""
    if re.search(r"\d", phrase):
        raise ValueError(f"not a speakable phrase: {phrase!r} (spell numbers out)")
    words = normalize_phrase(phrase).split()
    if not words or not all(_WORD.match(w) for w in words):
        raise ValueError(f"not a speakable phrase: {phrase!r}")
    return words


def _alternatives(items: list[str] | tuple[str, ...]) -> str:
    return " | ".join(items)


def jsgf(wake_phrase: str) -> str:
    """The JSGF grammar for ``wake_phrase`` and the four intents."""
    wake = " ".join(phrase_words(wake_phrase))
    numbers = sorted(NUMBERS, key=lambda n: (-len(n), n))
    commands = [
        p for intent in (WHAT_BROKE, READ_NOTIFICATIONS, RUN_TESTS) for p in PHRASES[intent]
    ]
    return (
        "#JSGF V1.0;\n"
        "grammar vigil;\n"
        "public <utterance> = <wake> [<command>] | <command>;\n"
        f"<wake> = {wake};\n"
        "<command> = <fixed> | <quiet>;\n"
        f"<fixed> = {_alternatives(commands)};\n"
        f"<quiet> = ({_alternatives(QUIET_LEADS)}) [for <duration>];\n"
        "<duration> = half an hour | <one> <unit> | <number> <units>;\n"
        f"<one> = {_alternatives(SINGULAR)};\n"
        f"<unit> = {_alternatives(sorted(UNIT))};\n"
        f"<number> = {_alternatives(numbers)};\n"
        f"<units> = {_alternatives(sorted(UNITS))};\n"
    )


def vocabulary(wake_phrase: str) -> set[str]:
    """Every word the grammar can produce (checked against the recogniser's dictionary)."""
    text = " ".join(
        [
            wake_phrase,
            *(p for phrases in PHRASES.values() for p in phrases),
            *QUIET_LEADS,
            "for half an hour",
            *SINGULAR,
            *UNIT,
            *NUMBERS,
            *UNITS,
        ]
    )
    return set(normalize_phrase(text).split())


def parse_duration(words: list[str]) -> int | None:
    """Seconds for ``half an hour``, ``a minute``/``an hour`` or ``<number> minutes|hours``;
    ``None`` when it is not one."""
    text = " ".join(words)
    if text == "half an hour":
        return 1800
    if len(words) == 2 and words[0] in SINGULAR and words[1] in UNIT:
        return UNIT[words[1]]
    if len(words) < 2 or words[-1] not in UNITS:
        return None
    number = NUMBERS.get(" ".join(words[:-1]))
    return None if number is None else number * UNITS[words[-1]]


def parse_command(words: list[str]) -> tuple[str, dict[str, Any]] | None:
    """The intent and slots of a command, or ``None``.

    A fixed command cut short at the end ("run the" for "run the tests": the recogniser's beam
    lost the last word, usually a soft "s" at the utterance's end) counts when at least two
    words were heard and they begin phrases of one intent only; a duration is never guessed."""
    text = " ".join(words)
    for intent, phrases in PHRASES.items():
        if text in phrases:
            return intent, {}
    if len(words) >= 2:
        starts = {i for i, ps in PHRASES.items() for p in ps if p.startswith(text + " ")}
        if len(starts) == 1:
            return starts.pop(), {}
    for lead in sorted(QUIET_LEADS, key=len, reverse=True):
        lead_words = lead.split()
        if words[: len(lead_words)] != lead_words:
            continue
        rest = words[len(lead_words) :]
        if not rest:
            return QUIET, {"duration_s": DEFAULT_QUIET_S}
        if rest[0] == "for":
            seconds = parse_duration(rest[1:])
            if seconds is not None:
                return QUIET, {"duration_s": seconds}
        return None
    return None


def parse(words: list[str], wake_phrase: str) -> Parse:
    """Split ``words`` into the wake phrase (when they start with it) and a command."""
    wake = phrase_words(wake_phrase)
    woken = words[: len(wake)] == wake
    rest = words[len(wake) :] if woken else words
    command = parse_command(rest) if rest else None
    intent, slots = command if command else (None, {})
    return Parse(wake=woken, intent=intent, slots=slots, wake_words=len(wake) if woken else 0)
