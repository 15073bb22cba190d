"""The command grammar: what word sequences mean, and the JSGF the recogniser is held to."""

from __future__ import annotations

from typing import Any

import pytest

from vigil.sources.voice import grammar

WAKE = "hey vigil"


@pytest.mark.parametrize(
    ("words", "intent", "slots"),
    [
        ("what broke", "what_broke", {}),
        ("what went wrong", "what_broke", {}),
        ("read my notifications", "read_notifications", {}),
        ("what did i miss", "read_notifications", {}),
        ("run the tests", "run_tests", {}),
        ("quiet for an hour", "quiet", {"duration_s": 3600}),
        ("be quiet for ten minutes", "quiet", {"duration_s": 600}),
        ("be quiet for half an hour", "quiet", {"duration_s": 1800}),
        ("go quiet for two hours", "quiet", {"duration_s": 7200}),
        ("stay quiet for forty five minutes", "quiet", {"duration_s": 2700}),
        ("be quiet", "quiet", {"duration_s": grammar.DEFAULT_QUIET_S}),
        ("quiet for a minute", "quiet", {"duration_s": 60}),
    ],
)
def test_commands_parse_to_intent_and_slots(words: str, intent: str, slots: dict[str, Any]) -> None:
    """Every command form after the wake phrase gives its intent, and quiet its duration."""
    parsed = grammar.parse(f"{WAKE} {words}".split(), WAKE)
    assert parsed.wake and parsed.wake_words == 2
    assert (parsed.intent, parsed.slots) == (intent, slots)


@pytest.mark.parametrize(
    "words",
    [
        "be quiet for",
        "quiet for ten",
        "read",
        "what",
        "quiet for an minutes",
        "quiet for two hour",
    ],
)
def test_partial_or_malformed_commands_have_no_intent(words: str) -> None:
    """A path the recogniser could not finish (or a duration without a unit) is no command."""
    parsed = grammar.parse(f"{WAKE} {words}".split(), WAKE)
    assert parsed.wake and parsed.intent is None and parsed.slots == {}


@pytest.mark.parametrize(
    ("words", "intent"),
    [("run the", "run_tests"), ("read my", "read_notifications"), ("what went", "what_broke")],
)
def test_a_fixed_command_cut_short_counts_when_only_one_intent_starts_so(
    words: str, intent: str
) -> None:
    """Two or more words that begin the phrases of one intent only give that intent."""
    assert grammar.parse(f"{WAKE} {words}".split(), WAKE).intent == intent


@pytest.mark.parametrize("words", ["what", "run", "quiet for", "be quiet for two"])
def test_a_cut_short_command_that_could_be_two_things_or_a_duration_is_none(words: str) -> None:
    """One word ('what' begins both what_broke and read_notifications phrases) or an unfinished
    duration gives no intent."""
    assert grammar.parse(f"{WAKE} {words}".split(), WAKE).intent is None


def test_a_command_without_the_wake_phrase_is_not_addressed_to_vigil() -> None:
    """'run the tests' alone parses as a command but with wake false."""
    parsed = grammar.parse(["run", "the", "tests"], WAKE)
    assert not parsed.wake and parsed.wake_words == 0
    assert parsed.intent == "run_tests"


def test_jsgf_names_the_wake_phrase_and_only_words_of_the_vocabulary() -> None:
    """The grammar holds the wake phrase, and every word in its rules is in vocabulary()."""
    text = grammar.jsgf("Okay, Vigil!")
    assert "<wake> = okay vigil;" in text
    rules = [line.split("=", 1)[1] for line in text.splitlines() if "=" in line]
    words = set(" ".join(rules).replace(";", " ").replace("|", " ").split())
    words = {w.strip("()[]") for w in words if not w.startswith(("<", "[<"))} - {""}
    assert words <= grammar.vocabulary("okay vigil")


@pytest.mark.parametrize("phrase", ["", "hey 2 vigil", "   ", "?!"])
def test_phrase_words_rejects_what_cannot_be_spoken(phrase: str) -> None:
    """A wake phrase must be words; digits, punctuation or nothing at all are refused."""
    with pytest.raises(ValueError):
        grammar.phrase_words(phrase)


def test_phrase_words_drops_punctuation_and_case() -> None:
    """'Hey, Vigil!' is the wake phrase 'hey vigil'."""
    assert grammar.phrase_words("Hey, Vigil!") == ["hey", "vigil"]
