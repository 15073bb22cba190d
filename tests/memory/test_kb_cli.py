"""`vigil kb`: argument parsing and handlers, called the way the CLI will call them."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vigil.cli.kb import add_parser, highlight
from vigil.errors import InputError, NotFoundError, UsageError, ValidationError
from vigil.memory import KnowledgeBase

FP = "a1b2c3d4e5f60718"


def run(kb: KnowledgeBase, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="vigil")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["kb", *argv])
    code: int = args.kb_handler(args, kb)
    return code


def printed_json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_add_stores_an_entry_from_the_command_line(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kb add` stores kind, title, body, tags and fingerprints with cli provenance."""
    code = run(
        kb, "add", "fix", "Pin redis", "--body", "Use 7.2", "--tag", "ci", "--tag", "redis",
        "--fingerprint", FP, "--author", "ana",
    )  # fmt: skip
    assert code == 0
    (entry,) = kb.list()
    assert (entry.kind, entry.title, entry.body, entry.tags) == (
        "fix",
        "Pin redis",
        "Use 7.2",
        ("ci", "redis"),
    )
    assert entry.fingerprints == (FP,)
    assert entry.provenance == {"source": "cli", "author": "ana", "events": []}
    assert capsys.readouterr().out.startswith(f"added {entry.id}  fix")


def test_add_reads_the_body_from_a_file(kb: KnowledgeBase, tmp_path: Path) -> None:
    """`--body-file` takes the body from a UTF-8 file."""
    body = tmp_path / "body.md"
    body.write_text("# Heading\n\nText ✓\n", encoding="utf-8")
    run(kb, "add", "note", "From file", "--body-file", str(body))
    assert kb.list()[0].body == "# Heading\n\nText ✓"


@pytest.mark.parametrize(
    ("content", "message"), [(b"\xff\xfe bad", "not valid UTF-8"), (None, "cannot read")]
)
def test_an_unusable_body_file_is_an_input_error(
    kb: KnowledgeBase, tmp_path: Path, content: bytes | None, message: str
) -> None:
    """A body file that cannot be read or is not UTF-8 is one clear error, and nothing is stored."""
    body = tmp_path / "body.md"
    if content is not None:
        body.write_bytes(content)
    with pytest.raises(InputError, match=message):
        run(kb, "add", "note", "Broken", "--body-file", str(body))
    assert kb.count() == 0


def test_add_with_a_bad_kind_is_a_validation_error(kb: KnowledgeBase) -> None:
    """An unknown kind is refused with the list of kinds."""
    with pytest.raises(ValidationError, match="fix, decision, mistake, pattern, note"):
        run(kb, "add", "recipe", "Soup")


def test_list_json_prints_every_field(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kb list --json` prints a JSON array of entries with all their fields."""
    entry = kb.add("note", "Listed", tags=["x"])
    kb.add("fix", "Other")
    assert run(kb, "list", "--kind", "note", "--json") == 0
    assert printed_json(capsys) == [entry.to_dict()]


def test_list_prints_an_aligned_table(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kb list` prints a header and one aligned line per entry: id, kind, status, conf, title."""
    first = kb.add("decision", "Use WAL", confidence=0.5)
    second = kb.add("fix", "A very long title " * 10)
    run(kb, "list")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "KIND", "STATUS", "CONF", "TITLE"]
    assert {lines[1][:29], lines[2][:29]} == {first.id, second.id}
    assert len({line.index("active") for line in lines[1:]}) == 1
    assert all(len(line) < 140 for line in lines)


def test_search_prints_hits_with_snippets(
    kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kb search` prints each hit with its score and a plain-text snippet when not on a
    terminal (no ``**`` marks); --json prints hit dicts, marks kept."""
    entry = kb.add("fix", "Redis timeout", body="Raise the redis timeout to 5s.")
    run(kb, "search", "redis", "timeout")
    out = capsys.readouterr().out
    assert entry.id in out and "Raise the redis timeout" in out and "**" not in out
    run(kb, "search", "redis", "--json")
    hits = printed_json(capsys)
    assert isinstance(hits, list)
    (hit,) = hits
    assert hit["id"] == entry.id and 0 < hit["score"] < 1 and "**redis**" in hit["snippet"]


def test_highlight_is_bold_on_a_terminal_and_plain_elsewhere() -> None:
    """A snippet's ``**word**`` becomes ANSI bold for a terminal and plain text otherwise."""
    assert highlight("Raise the **redis** **timeout**", bold=True) == (
        "Raise the \x1b[1mredis\x1b[0m \x1b[1mtimeout\x1b[0m"
    )
    assert highlight("Raise the **redis** timeout", bold=False) == "Raise the redis timeout"
    assert highlight("2 ** 3 and a**b", bold=False) == "2 ** 3 and a**b"


def test_search_without_hits_says_so(kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]) -> None:
    """`kb search` with no match prints one line and exits 0."""
    assert run(kb, "search", "nothing") == 0
    assert capsys.readouterr().out == "no entries match 'nothing'\n"


def test_search_without_words_is_a_validation_error(kb: KnowledgeBase) -> None:
    """`kb search '***'` is refused with one clear error."""
    with pytest.raises(ValidationError, match="no words"):
        run(kb, "search", "***")


def test_show_prints_the_entry(kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]) -> None:
    """`kb show` prints fields and body; --json prints the entry dict; a prefix is enough."""
    entry = kb.add("fix", "Shown", body="The body.", tags=["a", "b"], fingerprints=[FP])
    run(kb, "show", entry.id[:12])
    out = capsys.readouterr().out
    assert "a, b" in out and FP in out and out.rstrip().endswith("The body.")
    run(kb, "show", entry.id, "--json")
    assert printed_json(capsys) == entry.to_dict()


def test_show_of_an_unknown_id_is_not_found(kb: KnowledgeBase) -> None:
    """`kb show` of an id that does not exist raises NotFoundError."""
    with pytest.raises(NotFoundError):
        run(kb, "show", "kb_0000")


def test_edit_changes_fields_and_requires_a_change(kb: KnowledgeBase) -> None:
    """`kb edit` changes the given fields; with none given it is a usage error."""
    entry = kb.add("note", "Before", tags=["old"])
    run(kb, "edit", entry.id, "--title", "After", "--kind", "decision", "--tag", "new")
    edited = kb.get(entry.id)
    assert (edited.title, edited.kind, edited.tags) == ("After", "decision", ("new",))
    with pytest.raises(UsageError, match="nothing to change"):
        run(kb, "edit", entry.id)


def test_rm_removes_the_entry(kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]) -> None:
    """`kb rm` deletes the entry and says which."""
    entry = kb.add("note", "Doomed")
    run(kb, "rm", entry.id)
    assert kb.count() == 0 and capsys.readouterr().out == f"removed {entry.id}  Doomed\n"


def test_confirm_and_reject(kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]) -> None:
    """`kb confirm` activates a learned fix; `kb reject` hides it, both recording who."""
    learned = kb.record_candidate_fix(FP, "Learned", "", {"files": ["a.py"]})
    run(kb, "confirm", learned.id, "--by", "ana", "--json")
    assert printed_json(capsys)["status"] == "active"  # type: ignore[index]
    run(kb, "reject", learned.id, "--by", "bo", "--reason", "wrong")
    assert capsys.readouterr().out.startswith(f"rejected {learned.id}")
    assert kb.get(learned.id).provenance["rejection_reason"] == "wrong"


def test_export_and_import_round_trip(
    kb: KnowledgeBase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kb export DIR` then `kb import DIR` updates the same entries rather than duplicating."""
    one = kb.add("fix", "One")
    two = kb.add("note", "Two")
    run(kb, "export", str(tmp_path / "kb"))
    assert capsys.readouterr().out == f"exported 2 entries to {tmp_path / 'kb'}\n"
    path = next((tmp_path / "kb" / "fix").glob("*.md"))
    path.write_text(path.read_text(encoding="utf-8").replace('"One"', '"Uno"'), encoding="utf-8")
    run(kb, "import", str(tmp_path / "kb"), "--json")
    assert printed_json(capsys) == {"created": [], "updated": [one.id], "unchanged": [two.id]}
    assert kb.count() == 2 and kb.get(one.id).title == "Uno"
    run(kb, "import", str(tmp_path / "kb"))
    assert capsys.readouterr().out == "imported 2 entries (0 new, 0 updated, 2 unchanged)\n"


def test_counts_of_one_are_singular(
    kb: KnowledgeBase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One entry is "1 entry" in export and import output, not "1 entries"."""
    kb.add("fix", "One")
    run(kb, "export", str(tmp_path / "kb"))
    assert capsys.readouterr().out == f"exported 1 entry to {tmp_path / 'kb'}\n"
    run(kb, "import", str(tmp_path / "kb"))
    assert capsys.readouterr().out == "imported 1 entry (0 new, 0 updated, 1 unchanged)\n"


@pytest.mark.parametrize("argv", [["list", "--limit", "0"], ["search", "x", "--limit", "-1"]])
def test_a_limit_below_one_is_a_usage_error(kb: KnowledgeBase, argv: list[str]) -> None:
    """--limit must be at least 1."""
    with pytest.raises(UsageError, match="--limit"):
        run(kb, *argv)


def test_search_on_a_real_terminal_prints_bold(tmp_path: Path) -> None:
    """`vigil kb search` writing to a terminal (a real pty) shows matches in bold, no ``**``."""
    env = {**os.environ, "VIGIL_HOME": str(tmp_path / "home")}
    add = [sys.executable, "-m", "vigil", "kb", "add", "fix", "Redis timeout"]
    subprocess.run([*add, "--body", "Raise the redis timeout."], env=env, check=True, timeout=60)
    controller, terminal = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "vigil", "kb", "search", "redis"],
            env=env,
            stdout=terminal,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
        os.close(terminal)
        terminal = -1
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the pty's other end is closed: all of it was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    out = b"".join(chunks).decode()
    assert done.returncode == 0, done.stderr
    assert "\x1b[1mredis\x1b[0m" in out and "**" not in out
