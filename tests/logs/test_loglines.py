"""Records from raw log lines: formats, levels, times, continuation lines, bad bytes."""

from __future__ import annotations

from datetime import UTC, datetime

from vigil.parsing.loglines import RecordJoiner, clean, decode, parse_record


def test_json_lines_are_read_for_message_level_and_time() -> None:
    """A JSON line's message, level and time come from its fields."""
    record = parse_record(
        '{"time": "2026-01-02T03:04:05Z", "level": "warn", "msg": "disk 91% full", "host": "a"}'
    )
    assert record.message == "disk 91% full"
    assert record.level == "warning"
    assert record.time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert record.fields["host"] == "a"


def test_journald_entries_use_message_priority_and_realtime() -> None:
    """journald's MESSAGE, numeric PRIORITY and microsecond timestamp are understood."""
    record = parse_record(
        '{"MESSAGE": "Out of memory: Killed process 42", "PRIORITY": "3",'
        ' "__REALTIME_TIMESTAMP": "1767225600000000"}'
    )
    assert record.level == "error"
    assert record.time == datetime(2026, 1, 1, tzinfo=UTC)


def test_plain_levels_and_hints() -> None:
    """A level word in the head wins; without one, error and warning words decide."""
    assert parse_record("2026-01-02 03:04:05,123 INFO [main] started").level == "info"
    assert parse_record("E/ActivityManager: crash in pid 12").level == "error"
    assert parse_record("connection refused by peer").level == "error"
    assert parse_record("all good").level is None


def test_java_and_python_tracebacks_join_their_record() -> None:
    """Stack frames, 'Caused by' and a Python traceback's exception line join the record."""
    joiner = RecordJoiner()
    lines = [
        "2026-01-02 03:04:05 ERROR request failed",
        "java.lang.IllegalStateException: boom",
        "\tat com.x.Y.run(Y.java:10)",
        "Caused by: java.io.IOException: gone",
        "\t... 3 more",
        "2026-01-02 03:04:06 INFO next",
        "Traceback (most recent call last):",
        '  File "a.py", line 1, in <module>',
        "ValueError: bad",
        "after",
    ]
    records = [r for line in lines for r in joiner.feed(line)] + joiner.flush()
    assert [r.lines for r in records] == [5, 4, 1]
    assert records[0].headline == "request failed"  # the header is not mined
    bare = RecordJoiner()
    alone = [r for line in lines[6:9] for r in bare.feed(line)] + bare.flush()
    assert [r.headline for r in alone] == ["ValueError: bad"]


def test_bad_bytes_and_control_characters_are_cleaned() -> None:
    """Invalid UTF-8 becomes U+FFFD; NULs and escapes go; tabs stay."""
    text = clean(decode(b"caf\xe9 \x00ok\x1b[31m\tred\r\n"))
    assert text == "caf\ufffd ok[31m\tred"


def test_syslog_head_is_left_out_of_the_headline() -> None:
    """The syslog time, host and program are not part of what is mined; the program is kept as
    the record's component, the time as its time."""
    record = parse_record("Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for root")
    assert record.headline == "Failed password for root"
    assert record.component == "sshd[24200]"
    assert parse_record("Dec 10 06:55:46 x y", year=2026).time == datetime(
        2026, 12, 10, 6, 55, 46, tzinfo=UTC
    )
