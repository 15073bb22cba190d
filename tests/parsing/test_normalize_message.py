"""normalize_message and the fingerprint helpers: what is erased and what must survive."""

from __future__ import annotations

import pytest

from vigil.parsing import Failure, failure_fingerprint, normalize_message, run_fingerprint


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("src/app/models.py:12:5: bad thing", "src/app/models.py:40:1: bad thing"),
        ("error at /home/ann/work/shop/src/cart.py:7", "error at src/cart.py:19"),
        (
            "open '/tmp/pytest-of-ann/pytest-12/test_x0/a.json'",
            "open '/tmp/pytest-of-bob/pytest-3/test_x1/a.json'",
        ),
        ("read /var/folders/x1/abc123/T/tmpk2j3/data.csv", "read /tmp/tmpq9w8e7r6/data.csv"),
        ("<Foo object at 0x7f2c32a41d10>", "<Foo object at 0x55d0c0ffee00>"),
        ("finished at 2024-03-01T10:22:33Z", "finished at 2025-12-31T23:59:59.123+02:00"),
        ("done at 10:22:33", "done at 09:01:02.5"),
        (
            "request 123e4567-e89b-12d3-a456-426614174000 failed",
            "request 9f0c1d2e-3b4a-5c6d-7e8f-90a1b2c3d4e5 failed",
        ),
        ("image sha 9a8e6ed99591dbcc not found", "image sha 0b1c2d3e4f5a6b7c not found"),
        ("worker pid 4242 died", "worker pid 77 died"),
        ("cannot bind 127.0.0.1:54321", "cannot bind 127.0.0.1:8080"),
        ("listening on port 3000 failed", "listening on port 3001 failed"),
        ("timed out in 0.12s", "timed out in 35.7s"),
        ("slow: 250 ms", "slow: 3 ms"),
        ("allocated 12.5 MB", "allocated 3 GiB"),
        ("JSON: line 1 column 2 (char 1)", "JSON: line 4 column 9 (char 30)"),
        ("C:\\Users\\ann\\proj\\src\\x.py:3 failed", "src/x.py:9 failed"),
        ("see \x1b[31mred\x1b[0m text", "see red text"),
        ("two   spaces\tand tab", "two spaces and tab"),
        ("log 2026-11-22T00_47_18_844Z-debug-0.log", "log 2024-01-02T03_04_05_678Z-debug-0.log"),
    ],
)
def test_run_specific_details_normalize_away(first: str, second: str) -> None:
    """Line numbers, paths, temp dirs, addresses, times, ids, pids, ports and sizes vanish."""
    assert normalize_message(first) == normalize_message(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("NameError: name 'foo' is not defined", "NameError: name 'bar' is not defined"),
        ("assert 1 == 2", "KeyError: 'total'"),
        ("assert 1 == 2", "assert 1 == 3"),
        ("`os` imported but unused", "`json` imported but unused"),
        ("undefined reference to `checksum'", "undefined reference to `crc32'"),
        ("No module named 'yaml'", "No module named 'toml'"),
        ("open src/a.py", "open src/b.py"),
        ("expected 3 arguments", "expected 4 arguments"),
    ],
)
def test_words_and_quoted_identifiers_survive(first: str, second: str) -> None:
    """What tells two causes apart (identifiers, literal words, values) is kept."""
    assert normalize_message(first) != normalize_message(second)


def test_urls_are_left_alone() -> None:
    """A URL is not mistaken for a file path."""
    url = "see https://example.com/docs/page.html"
    assert normalize_message(url) == url


def test_failure_fingerprint_ignores_line_and_column() -> None:
    """Two failures that differ only in line and column share a fingerprint."""
    a = Failure(tool="mypy", message="bad", file="src/a.py", line=3, column=1, error_type="x")
    b = Failure(tool="mypy", message="bad", file="src/a.py", line=90, column=7, error_type="x")
    assert failure_fingerprint(a) == failure_fingerprint(b)
    assert len(failure_fingerprint(a)) == 16
    assert int(failure_fingerprint(a), 16) >= 0


@pytest.mark.parametrize(
    "change",
    [
        {"tool": "ruff"},
        {"error_type": "y"},
        {"test": "tests/test_a.py::test_other"},
        {"file": "src/b.py"},
        {"message": "worse"},
    ],
)
def test_failure_fingerprint_covers_every_identity_field(change: dict[str, str]) -> None:
    """Tool, error type, test id, file and message each change the fingerprint."""
    base = {
        "tool": "mypy",
        "error_type": "x",
        "test": "tests/test_a.py::test_one",
        "file": "src/a.py",
        "message": "bad",
    }
    assert failure_fingerprint(Failure(**base)) != failure_fingerprint(Failure(**base | change))


def test_absolute_and_relative_file_paths_fingerprint_alike() -> None:
    """A file printed absolute in one run and relative in another is the same file."""
    absolute = Failure(tool="python", message="boom", file="/tmp/tmp.x1y2/shop/src/shop/cart.py")
    relative = Failure(tool="python", message="boom", file="src/shop/cart.py")
    assert failure_fingerprint(absolute) == failure_fingerprint(relative)


def test_run_fingerprint_is_order_free_and_ignores_repeats() -> None:
    """The run fingerprint depends on the set of fingerprints only, and is "" for none."""
    assert run_fingerprint(["b", "a", "a"]) == run_fingerprint(["a", "b"])
    assert run_fingerprint(["a"]) != run_fingerprint(["a", "b"])
    assert run_fingerprint([]) == ""
    assert run_fingerprint(["", ""]) == ""


def test_to_dict_has_exactly_the_documented_keys() -> None:
    """``Failure.to_dict`` carries the eight documented keys and their values."""
    failure = Failure(tool="go", message="m", file="a.go", line=1, column=2, test="TestA")
    assert failure.to_dict() == {
        "tool": "go",
        "file": "a.go",
        "line": 1,
        "column": 2,
        "test": "TestA",
        "error_type": None,
        "message": "m",
        "fingerprint": "",
    }
