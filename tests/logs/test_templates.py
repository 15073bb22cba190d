"""Template mining: masking by shape, online answers, restarts, and accuracy on real logs."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.bench.loghub import SHARED_SYSTEMS, find_loghub, grouping_accuracy, load, systems
from vigil.parsing.logtokens import VAR, digit_key, tokenize
from vigil.parsing.templates import TemplateMiner

LOGHUB = find_loghub()
needs_loghub = pytest.mark.skipif(LOGHUB is None, reason="shared/data/loghub is not here")


def tokens(line: str) -> list[str]:
    return list(tokenize(line)[0])


def test_numbers_ids_paths_and_times_are_variables() -> None:
    """Digits, hex, paths, URLs and dates become variables; words and punctuation stay."""
    assert tokens("Received block blk_-123 of size 67108864 from /10.0.0.1") == [
        "Received", "block", VAR, "of", "size", VAR, "from", VAR,
    ]  # fmt: skip
    assert tokens("GET https://x.org/a?b=c HTTP/1.1") == ["GET", VAR, f"HTTP/{VAR}"]
    assert tokens("mask=ffffffff ok") == ["mask", "=", VAR, "ok"]
    assert tokens("connection at Sun Jul  3 10:05:25 2005") == ["connection", "at", VAR]
    assert tokens("onExtend:1514038530000 14 0 4") == [f"onExtend:{VAR}", VAR]


def test_empty_brackets_are_an_empty_value() -> None:
    """``()`` and ``(host)`` give the same shape, so they can share a template."""
    assert tokens("connection from 1.2.3.4 () at 1") == tokens(
        "connection from 1.2.3.4 (dsl-42.example.net) at 1"
    )


def test_lists_of_any_length_are_one_variable() -> None:
    """A list of values, however long, is one variable."""
    assert tokens("delete blk_1 blk_2 blk_3") == tokens("delete blk_9")
    assert tokens("IRQs 3, 4, 5, 6") == ["IRQs", VAR]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab1 0=.:/-[]()x9Z", max_size=40), st.randoms(use_true_random=False))
def test_tokens_depend_on_the_shape_of_digits_not_their_values(
    text: str, rnd: random.Random
) -> None:
    """Changing which digits a line holds never changes its tokens (the caches rely on it)."""
    other = "".join(rnd.choice("0123456789") if ch.isdigit() else ch for ch in text)
    assert tokenize(text) == tokenize(other)
    assert digit_key(text) == digit_key(other)


def test_usernames_merge_but_first_words_and_phrases_do_not() -> None:
    """A value in a slot generalizes the template (once the value has been seen in another
    message); a different verb or a fixed phrase does not."""
    miner = TemplateMiner()
    a = miner.add("Failed password for root from 1.2.3.4 port 22 ssh2")
    c = miner.add("Accepted password for root from 1.2.3.4 port 22 ssh2")
    b = miner.add("Failed password for admin from 5.6.7.8 port 23 ssh2")
    d = miner.add("Block x_2 stored as bytes in memory (estimated size 5 KB, free 5 KB)")
    e = miner.add("Block x_3 stored as values in memory (estimated size 5 KB, free 5 KB)")
    assert a is b and a is not c and d is not e
    assert a.text == "Failed password for <*> from <*> port <*>"


def test_variable_length_values_align() -> None:
    """A host name with and without a resolved name is one template."""
    miner = TemplateMiner()
    a = miner.add("reverse mapping checking getaddrinfo for 1-2-3-4.example.com [1.2.3.4] failed")
    b = miner.add("reverse mapping checking getaddrinfo for ns.example.com [5.6.7.8] failed")
    assert a is b


def test_answers_are_online_and_ids_never_change() -> None:
    """A line's template id depends only on the lines before it."""
    lines = [f"job {i} finished in {i * 3} ms" for i in range(5)] + [
        "user alice logged in",
        "user bob logged in",
        "disk sda1 full",
    ] * 3
    whole = [t.id for t in TemplateMiner().add_many(lines)]
    for cut in range(1, len(lines)):
        assert [t.id for t in TemplateMiner().add_many(lines[:cut])] == whole[:cut]
    one_by_one = TemplateMiner()
    assert [one_by_one.add(line).id for line in lines] == whole


def test_a_restored_miner_continues_where_it_stopped() -> None:
    """Templates, counts and numbering survive a round trip through records."""
    first = TemplateMiner()
    for line in ("a 1 b", "a 2 b", "c d e", "c d f"):
        first.add(line, when="t1")
    second = TemplateMiner(first.records())
    assert second.add("a 9 b").id == first.add("a 9 b").id
    assert second.add("brand new line here").id == "T" + str(len(first) + 1)
    assert [t.count for t in second][:1] == [3]


def test_long_and_garbage_lines_are_bounded() -> None:
    """A 10 MB line or binary garbage gets a template quickly and never grows memory."""
    miner = TemplateMiner()
    huge = "x" * 10_000_000
    assert miner.add(huge).id
    garbage = bytes(range(256)).decode("latin-1") * 4
    assert miner.add(garbage).id
    assert len(max((t.text for t in miner), key=len)) < 20_000


@needs_loghub
@pytest.mark.slow
def test_grouping_accuracy_on_the_shared_loghub_samples() -> None:
    """On the eight shared systems: >= 0.95 on average, untuned, online (the issue's goal), and
    no system below what it scored when this was written (minus a little)."""
    assert LOGHUB is not None
    floors = {
        "Apache": 1.0, "BGL": 0.99, "HDFS": 1.0, "Hadoop": 0.98,
        "Linux": 0.82, "OpenSSH": 0.99, "Spark": 0.99, "Zookeeper": 0.99,
    }  # fmt: skip
    scores = {}
    for system in SHARED_SYSTEMS:
        lines, truth = load(LOGHUB, system)
        scores[system] = grouping_accuracy([t.id for t in TemplateMiner().add_many(lines)], truth)
    assert sum(scores.values()) / len(scores) >= 0.95, scores
    for system, floor in floors.items():
        assert scores[system] >= floor, (system, scores)


# What the other eight loghub systems scored when the miner's rules were last changed (minus a
# little): Android, HealthApp, OpenStack and Thunderbird were read while developing; HPC, Mac,
# Proxifier and Windows only ever scored, never read line by line.
HELD_OUT_FLOORS = {
    "Android": 0.95, "HealthApp": 1.0, "OpenStack": 1.0, "Thunderbird": 0.98,
    "HPC": 0.93, "Mac": 0.95, "Proxifier": 1.0, "Windows": 0.99,
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(
    LOGHUB is None or not (set(systems(LOGHUB)) & set(HELD_OUT_FLOORS)),
    reason="set VIGIL_LOGHUB_DIR to a full loghub checkout for the systems outside shared/",
)
def test_grouping_accuracy_on_the_loghub_systems_outside_shared() -> None:
    """The same miner, untouched, on the loghub systems that are not in shared/ (each
    NAME/NAME_2k.log_structured.csv found there): no system below its floor."""
    assert LOGHUB is not None
    scores = {}
    for system in sorted(set(systems(LOGHUB)) & set(HELD_OUT_FLOORS)):
        lines, truth = load(LOGHUB, system)
        scores[system] = grouping_accuracy([t.id for t in TemplateMiner().add_many(lines)], truth)
    for system, score in scores.items():
        assert score >= HELD_OUT_FLOORS[system], (system, scores)


@settings(max_examples=1000, deadline=None)
@given(
    st.text(alphabet="abfxyzJ019 =.:/-_[]()@#,\\", max_size=30),
    st.lists(st.sampled_from(["0", "7", "a1", "ff00", "0x1f", "deadbee5", "9c"]), min_size=8),
)
def test_lines_with_one_coarse_key_tokenize_alike(line: str, swaps: list[str]) -> None:
    """Swapping any number-or-hex run for another (the miner's coarse cache key cannot tell
    them apart) never changes the tokens."""
    import re

    from vigil.parsing.logtokens import digit_run_key

    runs = iter(swaps * 4)
    variant = re.sub(r"[0-9a-fA-F]*[0-9][0-9a-fA-F]*", lambda _: next(runs), line)
    if digit_run_key(variant) == digit_run_key(line):
        assert tokenize(variant)[0] == tokenize(line)[0], (line, variant)
