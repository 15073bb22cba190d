"""Entries as Markdown files, so a team can keep its knowledge base in git.

One file per entry, ``<kind>/<slug>-<shortid>.md``::

    ---
    id: "kb_01JD6Z3Q0M9K8X2W4V5T7R6S3A"
    kind: "fix"
    title: "Pin redis to 7.2 in CI"
    tags: ["ci", "redis"]
    ...
    ---

    The body, in Markdown.

    <!-- vigil:diff -->
    ```diff
    --- a/shop/cart.py
    +++ b/shop/cart.py
    @@ -3,3 +3,3 @@
    -    return subtotal * (1 + d)
    +    return subtotal * (1 - d)
    ```

The change a fix made (``Entry.diff``), when it has one, follows the body as a fenced ``diff``
block after a ``<!-- vigil:diff -->`` line (invisible when the file is rendered), so it reads
as a diff on GitHub and comes back as the entry's diff on import.

Each front-matter line is ``key: <JSON value>``; JSON is valid YAML, so other tools read it. Hand
edits are forgiven where the meaning is plain: ``title: Fix the flaky test`` (no quotes),
``tags: [ci, redis]`` or ``tags: ci, redis``, ``confidence: .8``. Anything else that is not JSON
is an error naming the file and line. Reading never stores anything: it returns validated drafts,
or raises one :class:`~vigil.errors.ValidationError` that names the first bad file and line.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.clock import isoformat, parse_iso
from vigil.errors import InputError, NotFoundError, ValidationError, VigilError
from vigil.memory.entry import (
    Entry,
    check_body,
    check_confidence,
    check_diff,
    check_fingerprints,
    check_id,
    check_kind,
    check_provenance,
    check_seen,
    check_status,
    check_tags,
    check_title,
)

FIELDS = (
    "id",
    "kind",
    "title",
    "tags",
    "fingerprints",
    "status",
    "confidence",
    "seen",
    "provenance",
    "created",
    "updated",
)
_TEXT_KEYS = frozenset({"id", "kind", "title", "status", "created", "updated"})
_LIST_KEYS = frozenset({"tags", "fingerprints"})
_ID_LINE = re.compile(r'^id:\s*"?(kb_[0-9A-Za-z]{26})"?\s*$')
DIFF_MARK = "<!-- vigil:diff -->"
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*diff\s*$")


@dataclass(frozen=True)
class Draft:
    """A validated entry read from a file; ``fields`` are the remaining :class:`Entry` fields."""

    path: Path
    id: str | None
    created: str | None
    updated: str | None
    fields: dict[str, Any]


# --- writing ------------------------------------------------------------------------------------


def render(entry: Entry) -> str:
    """The file text for ``entry``."""
    data = entry.to_dict()
    lines = ["---"]
    lines += [
        f"{key}: {json.dumps(data[key], ensure_ascii=False, sort_keys=True)}" for key in FIELDS
    ]
    lines.append("---")
    text = "\n".join(lines) + "\n"
    if entry.body:
        text += f"\n{entry.body}\n"
    if entry.diff:
        longest = max((len(run) for run in re.findall(r"`{3,}", entry.diff)), default=2)
        fence = "`" * max(3, longest + 1)
        text += f"\n{DIFF_MARK}\n{fence}diff\n{entry.diff}\n{fence}\n"
    return text


def relative_path(entry: Entry) -> Path:
    """``<kind>/<slug>-<shortid>.md``: readable, stable while the title is, unique by id."""
    ascii_title = unicodedata.normalize("NFKD", entry.title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].rstrip("-")
    return Path(entry.kind) / f"{slug or 'entry'}-{entry.id[-8:].lower()}.md"


def write_entries(entries: Sequence[Entry], directory: Path) -> list[Path]:
    """Write one file per entry under ``directory``; an entry's older file (other title or kind)
    is removed so the directory never holds one id twice. Other files are left alone."""
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory}: not a directory", path=str(directory))
    stale = _files_by_id(directory)
    written: list[Path] = []
    try:
        for entry in entries:
            target = directory / relative_path(entry)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.tmp")
            partial.write_text(render(entry), encoding="utf-8")
            partial.replace(target)
            for old in stale.get(entry.id, []):
                if old.resolve() != target.resolve():
                    old.unlink(missing_ok=True)
            written.append(target)
    except OSError as exc:
        where = exc.filename or directory
        raise InputError(f"cannot write {where}: {exc.strerror}", path=str(where)) from exc
    return written


def _files_by_id(directory: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in _markdown_files(directory) if directory.is_dir() else []:
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                head = [handle.readline() for _ in range(len(FIELDS) + 2)]
        except OSError:
            continue
        for line in head[1:]:
            match = _ID_LINE.match(line.strip())
            if match:
                found.setdefault(match.group(1).upper().replace("KB_", "kb_", 1), []).append(path)
                break
    return found


def _markdown_files(directory: Path) -> list[Path]:
    return sorted(
        path
        for path in directory.rglob("*.md")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(directory).parts)
    )


# --- reading ------------------------------------------------------------------------------------


def read_entries(paths: Sequence[Path]) -> list[Draft]:
    """Drafts from files and directories (``*.md`` inside, recursively), all validated first."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += _markdown_files(path)
        elif path.is_file():
            files.append(path)
        else:
            raise NotFoundError(f"{path}: no such file or directory", path=str(path))
    drafts: list[Draft] = []
    problems: list[str] = []
    owners: dict[str, Path] = {}
    done: set[Path] = set()
    for path in files:
        if path.resolve() in done:
            continue
        done.add(path.resolve())
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(f"{path}: cannot read: {exc.strerror}")
            continue
        try:
            draft = parse(path, data)
        except ValidationError as exc:
            problems.append(str(exc))
            continue
        if draft.id is not None and draft.id in owners:
            problems.append(f"{path}: id {draft.id} is also the id of {owners[draft.id]}")
            continue
        if draft.id is not None:
            owners[draft.id] = path
        drafts.append(draft)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ValidationError(f"{problems[0]}{more}; nothing was imported", problems=problems)
    return drafts


def parse(path: Path, data: bytes) -> Draft:
    """One file's entry, or ``ValidationError("<path>:<line>: <problem>")``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(path, data[: exc.start].count(b"\n") + 1, "not valid UTF-8 text") from None
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[0].strip() != "---":
        raise _bad(path, 1, "expected front matter starting with a '---' line")
    close = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if close is None:
        raise _bad(path, 1, "front matter is not closed by a '---' line")
    raw: dict[str, tuple[Any, int]] = {}
    for index in range(1, close):
        line, number = lines[index], index + 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep:
            raise _bad(path, number, f"expected 'key: value', got {line.strip()[:40]!r}")
        if key not in FIELDS:
            raise _bad(path, number, f"unknown key {key!r} (known: {', '.join(FIELDS)})")
        if key in raw:
            raise _bad(path, number, f"{key!r} appears twice")
        raw[key] = (_value(path, number, key, value.strip()), number)
    for required in ("kind", "title"):
        if required not in raw:
            raise _bad(path, 1, f"front matter has no {required!r}")
    body, diff = _split_diff(path, lines, close + 1)
    return _draft(path, raw, body, diff)


def _split_diff(path: Path, lines: list[str], start: int) -> tuple[str, str]:
    """The body and the diff block after the last ``DIFF_MARK`` line (``""`` without one)."""
    mark = next(
        (i for i in range(len(lines) - 1, start - 1, -1) if lines[i].strip() == DIFF_MARK), None
    )
    if mark is None:
        return "\n".join(lines[start:]), ""
    opening = next((i for i in range(mark + 1, len(lines)) if lines[i].strip()), None)
    fence = _FENCE.match(lines[opening].strip()) if opening is not None else None
    if opening is None or fence is None:
        raise _bad(path, mark + 1, f"{DIFF_MARK} must be followed by a ```diff block")
    closing = next(
        (i for i in range(opening + 1, len(lines)) if lines[i].strip() == fence.group(1)), None
    )
    if closing is None:
        raise _bad(path, opening + 1, "the diff block is not closed")
    if any(line.strip() for line in lines[closing + 1 :]):
        raise _bad(path, closing + 2, "nothing may follow the diff block")
    return "\n".join(lines[start:mark]), "\n".join(lines[opening + 1 : closing])


def _draft(path: Path, raw: dict[str, tuple[Any, int]], body: str, diff: str = "") -> Draft:
    checks = {
        "kind": check_kind,
        "title": check_title,
        "tags": check_tags,
        "fingerprints": check_fingerprints,
        "status": check_status,
        "confidence": check_confidence,
        "seen": check_seen,
        "provenance": _provenance,
    }
    defaults: dict[str, Any] = {
        "tags": [],
        "fingerprints": [],
        "status": "active",
        "confidence": 1.0,
        "seen": 0,
        "provenance": None,
    }
    fields: dict[str, Any] = {"body": check_body(body)}
    try:
        fields["diff"] = check_diff(diff)
    except VigilError as exc:
        raise _bad(path, len(raw) + 3, str(exc)) from None
    try:
        for key, check in checks.items():
            value, number = raw.get(key, (defaults.get(key), 1))
            fields[key] = check(value)
        number = 1
        optional: dict[str, str | None] = {}
        for key in ("id", "created", "updated"):
            value, number = raw.get(key, (None, 1))
            if value is None:
                optional[key] = None
            elif key == "id":
                optional[key] = check_id(value)
            else:
                optional[key] = isoformat(parse_iso(str(value)))
    except VigilError as exc:
        raise _bad(path, number, str(exc)) from None
    return Draft(path, optional["id"], optional["created"], optional["updated"], fields)


def _provenance(value: object) -> dict[str, Any]:
    return check_provenance(value, default_source="import")


def _value(path: Path, number: int, key: str, raw: str) -> Any:
    """A front-matter value: JSON, or the plain forms people write by hand."""
    if not raw:
        raise _bad(path, number, f"{key} has no value")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        error = exc.msg
    else:
        if key in _TEXT_KEYS and value is not None and not isinstance(value, str | list | dict):
            return raw  # ``title: 404`` means the text "404"
        return value
    if key in _TEXT_KEYS and raw and raw[0] != '"':
        if len(raw) >= 2 and raw[0] == raw[-1] == "'":
            return raw[1:-1].replace("''", "'")
        return raw
    if key in _LIST_KEYS and raw and raw[0] not in '"{':
        inner = raw[1:-1] if raw[0] == "[" and raw[-1] == "]" else raw
        return [item.strip().strip("'\"") for item in inner.split(",") if item.strip()]
    if key == "confidence":
        try:
            return float(raw)
        except ValueError:
            pass
    raise _bad(path, number, f"{key}: value {raw[:40]!r} is not valid JSON ({error})")


def _bad(path: Path, line: int, problem: str) -> ValidationError:
    return ValidationError(f"{path}:{line}: {problem}", path=str(path), line=line)
