"""The miner's generic rules, one by one: token shapes, when two words are two values of one
slot, units, optional bracketed details."""

from __future__ import annotations

from vigil.parsing.logmatch import Shape, Vocabulary, compare_same_length, optional_length
from vigil.parsing.logtokens import VAR, tokenize
from vigil.parsing.templates import TemplateMiner


def tokens(line: str) -> list[str]:
    return list(tokenize(line)[0])


def texts(lines: list[str]) -> list[str]:
    miner = TemplateMiner()
    ids = [miner.add(line).id for line in lines]
    return [f"{i} {miner.get(i).text}" for i in ids]  # type: ignore[union-attr]


# -- token shapes ---------------------------------------------------------------------------


def test_host_and_port_and_code_places_are_one_value() -> None:
    """A dotted name with a number after a colon (host:port, Class.method:line) is a variable;
    a plain key with a number after its colon keeps the key."""
    assert tokens("proxy.example.com:5070 open through proxy") == [VAR, "open", "through", "proxy"]
    assert tokens("called by com.app.Main.run:42 com.app.Loop.go:7") == ["called", "by", VAR]
    assert tokens("onExtend:1514038530000 ok") == [f"onExtend:{VAR}", "ok"]


def test_dot_leaders_separate_a_key_from_its_value() -> None:
    """``key.......0`` keeps its key (two keys padded to their values stay two messages)."""
    assert tokens("interrupt caused by icbi.........0") == [
        "interrupt", "caused", "by", f"icbi.........{VAR}",
    ]  # fmt: skip
    assert tokens("interrupt caused by icbi.........0") != tokens(
        "interrupt caused by dcbf.........0"
    )


def test_a_comparison_glued_to_a_number_is_part_of_the_value() -> None:
    """``<1 sec`` has the shape of ``3 sec``; a bracket ``<`` ... ``>`` is still punctuation."""
    assert tokens("lifetime <1 sec") == tokens("lifetime 3 sec") == ["lifetime", VAR, "sec"]
    assert tokens("limit >=5 ok") == ["limit", VAR, "ok"]
    assert tokens("x <b> y") == ["x", "<", "b", ">", "y"]


# -- two words, one slot ----------------------------------------------------------------------


def test_a_word_is_a_value_once_two_messages_used_it() -> None:
    """``root`` in two messages, then ``admin`` (a word no message holds) where ``root`` was:
    one slot, two values; before ``root`` is seen elsewhere, ``admin`` is another message."""
    early = TemplateMiner()
    a = early.add("Failed password for root from 1.2.3.4 port 22 ssh2")
    b = early.add("Failed password for admin from 5.6.7.8 port 23 ssh2")
    assert a is not b
    miner = TemplateMiner()
    first = miner.add("Failed password for root from 1.2.3.4 port 22 ssh2")
    miner.add("Accepted password for root from 1.2.3.4 port 22 ssh2")
    later = miner.add("Failed password for uucp from 5.6.7.8 port 23 ssh2")
    assert later is first
    assert first.text == "Failed password for <*> from <*> port <*>"


def test_words_of_other_messages_do_not_become_values() -> None:
    """``false`` is a word of another message, so ``down true`` / ``down false`` stay two
    messages even though ``true`` was seen in two."""
    miner = TemplateMiner()
    miner.add("cache warm false")
    miner.add("listener ready true")
    a = miner.add("key event 4 down true canceled")
    b = miner.add("key event 4 down false canceled")
    assert a is not b


def test_keys_never_become_values() -> None:
    """``memory:`` and ``disk:`` name the fields: two messages, even with a new word."""
    miner = TemplateMiner()
    miner.add("Total memory: 64172 MB, used: 512 MB")
    miner.add("memory: low")
    other = miner.add("Total disk: 15 GB, used: 0 GB")
    assert other.text == "Total disk: <*> GB, used: <*> GB"
    assert len(miner) == 3


def test_units_after_a_number_are_part_of_the_value() -> None:
    """``5.2 KB`` and ``93 B`` are one value of one kind: one template, no word spent on it;
    the template keeps the unit while it does not vary."""
    assert texts(
        [
            "Reading variable 9 took 160 ms",
            "Block b_9 stored (estimated size 5.2 KB, free 5.2 KB)",
            "Block b_4 stored (estimated size 93 B, free 317.6 KB)",
        ]
    ) == [
        "T1 Reading variable <*> took <*> ms",
        "T2 Block <*> stored (estimated size <*> <*>, free <*> KB)",
        "T2 Block <*> stored (estimated size <*> <*>, free <*> KB)",
    ]


def test_the_vocabulary_follows_created_and_generalized_templates() -> None:
    """``held`` counts the templates holding a word now, ``ever`` those created with it."""
    vocabulary = Vocabulary()
    vocabulary.created({"user", "root"})
    vocabulary.created({"session", "root"})
    assert vocabulary.value_swap("root", "alice")
    assert not vocabulary.value_swap("root", "session")  # a word of a message
    assert not vocabulary.value_swap("user", "alice")  # one message only
    vocabulary.changed({"user", "root"}, frozenset({"user"}))
    assert vocabulary.held == {"user": 1, "session": 1, "root": 1}
    assert vocabulary.ever["root"] == 2


def test_same_length_comparison_spends_one_swap_at_most() -> None:
    """Two novel values in one line are two differences too many for plain words."""
    vocabulary = Vocabulary()
    vocabulary.created({"alpha", "beta"})
    vocabulary.created({"alpha", "beta", "other"})
    shape = Shape.of(("job", "id", "=", VAR, "owner", "alpha", ",", "group", "beta"))
    one = ("job", "id", "=", VAR, "owner", "gamma", ",", "group", "beta")
    two = ("job", "id", "=", VAR, "owner", "gamma", ",", "group", "delta")
    share, merged = compare_same_length(shape, one, vocabulary)
    assert merged is not None and merged[5] == VAR and share > 0.7
    assert compare_same_length(shape, two, vocabulary) == (-1.0, None)


# -- optional details -------------------------------------------------------------------------


def test_a_bracketed_value_is_a_detail_a_line_may_leave_out() -> None:
    """``1190 bytes (1.16 KB) sent`` and ``90 bytes sent`` are one message, whichever comes
    first and however many of the details a line has."""
    lines = [
        "a.example.com:443 close, 90 bytes sent, 200 bytes received, lifetime 00:02",
        "b.example.org:80 close, 2000 bytes (1.9 KB) sent, 300 bytes received, lifetime <1 sec",
        "c.example.net:80 close, 20 bytes sent, 3000 bytes (2.9 MB) received, lifetime 01:02",
        "d.example.net:80 close, 2000 bytes (1.9 KB) sent, 3000 bytes (2.9 MB) received, "
        "lifetime 01:02:03",
    ]
    for order in (lines, lines[::-1]):
        miner = TemplateMiner()
        assert len({miner.add(line).id for line in order}) == 1
    assert optional_length(tokenize("x (1.9 KB) y")[0], 1) == 4
    assert optional_length(tokenize("x (a) y")[0], 1) == 0


def test_a_bracket_with_words_is_not_optional() -> None:
    """``(estimated size 5 KB)`` carries words: a line without it is another message."""
    miner = TemplateMiner()
    a = miner.add("Block 1 stored as bytes in memory (estimated size 5 KB)")
    b = miner.add("Block 2 stored as bytes in memory")
    assert a is not b
