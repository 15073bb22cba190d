"""Knowledge base entries: the record, its vocabulary, and the rules every stored field obeys.

Validation lives here, once, and is shared by every way in (``KnowledgeBase.add``/``update``, the
Markdown importer, the learner), so a value that reaches SQLite is always well-formed. Each
``check_*`` function returns the normalized value or raises :class:`~vigil.errors.ValidationError`
with one line that names the field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from vigil.errors import ValidationError

Kind = Literal["fix", "decision", "mistake", "pattern", "note"]
Status = Literal["active", "candidate", "rejected"]
KINDS: tuple[str, ...] = ("fix", "decision", "mistake", "pattern", "note")
STATUSES: tuple[str, ...] = ("active", "candidate", "rejected")
SOURCES: tuple[str, ...] = ("cli", "import", "learner", "api")
#: Kinds whose entries can answer "has this failure been seen before, and what fixed it?"
FIX_KINDS: tuple[str, ...] = ("fix", "mistake", "pattern")

ID_PREFIX = "kb_"
_ID = re.compile(r"^kb_[0-9A-HJKMNP-TV-Z]{26}$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
MAX_TITLE = 300
MAX_TAG = 64
MAX_DIFF = 20_000
#: Learned (candidate) fixes never reach the confidence of a fix a person confirmed.
CANDIDATE_CEILING = 0.95
CONFIRMED_FLOOR = 0.9


@dataclass(frozen=True)
class Entry:
    """One piece of long-term memory. ``provenance`` is a JSON object; treat it as read-only."""

    id: str
    kind: str
    title: str
    body: str
    tags: tuple[str, ...]
    fingerprints: tuple[str, ...]
    status: str
    confidence: float
    seen: int
    provenance: dict[str, Any]
    created: str
    updated: str
    diff: str = ""  # a fix's change as unified diff text (see vigil.memory.diff); "" if none

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (lists for tuples)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "tags": list(self.tags),
            "fingerprints": list(self.fingerprints),
            "status": self.status,
            "confidence": self.confidence,
            "seen": self.seen,
            "provenance": self.provenance,
            "created": self.created,
            "updated": self.updated,
            "diff": self.diff,
        }


@dataclass(frozen=True)
class SearchHit:
    """A search result: the entry, its relevance in [0, 1), a highlighted excerpt, and what
    found it: ``"words"`` (full text), ``"meaning"`` (semantic recall) or ``"both"``."""

    entry: Entry
    score: float
    snippet: str
    match: str = "words"

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.entry.to_dict(),
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "match": self.match,
        }


@dataclass(frozen=True)
class KnownFix:
    """An entry offered for a failure: linked by ``fingerprint``, or similar by ``text``.

    ``similarity`` (0..1) says how close the entry is to this failure (1.0 for a fingerprint
    match) and ``because`` why, in a few words (see ``vigil.memory.similarity``).
    """

    entry: Entry
    match: Literal["fingerprint", "text"]
    score: float
    similarity: float = 1.0
    because: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.entry.to_dict(),
            "match": self.match,
            "score": round(self.score, 4),
            "similarity": round(self.similarity, 3),
            "because": self.because,
        }


def raised_confidence(confidence: float, status: str) -> float:
    """Confidence after one more observation: a quarter of the way to certainty.

    Candidates stop at :data:`CANDIDATE_CEILING`: only a person makes a fix certain.
    """
    ceiling = CANDIDATE_CEILING if status == "candidate" else 1.0
    return round(min(ceiling, max(confidence, confidence + (1.0 - confidence) * 0.25)), 6)


# --- field checks -------------------------------------------------------------------------------


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text, not {type(value).__name__}", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{field} is not valid Unicode text", field=field) from None
    return value


def check_id(value: object) -> str:
    text = _text(value, "id").strip()
    normalized = ID_PREFIX + text[3:].upper() if text[:3].lower() == ID_PREFIX else text
    if not _ID.match(normalized):
        raise ValidationError(
            f"id {text!r} is not a knowledge base id (kb_ followed by 26 ULID characters)",
            field="id",
        )
    return normalized


def check_kind(value: object) -> str:
    text = _text(value, "kind").strip().lower()
    if text not in KINDS:
        raise ValidationError(
            f"kind {text!r} is not one of {', '.join(KINDS)}", field="kind", value=text
        )
    return text


def check_status(value: object) -> str:
    text = _text(value, "status").strip().lower()
    if text not in STATUSES:
        raise ValidationError(
            f"status {text!r} is not one of {', '.join(STATUSES)}", field="status"
        )
    return text


def check_title(value: object) -> str:
    text = " ".join(_text(value, "title").split())
    if not text:
        raise ValidationError("title must not be empty", field="title")
    if len(text) > MAX_TITLE:
        raise ValidationError(f"title is longer than {MAX_TITLE} characters", field="title")
    return text


def check_body(value: object) -> str:
    """Markdown text: ``\n`` line endings, no blank lines around it, no trailing space."""
    text = _text(value, "body").replace("\r\n", "\n").replace("\r", "\n").rstrip()
    return re.sub(r"\A(?:[ \t]*\n)+", "", text)


def check_diff(value: object) -> str:
    """Unified diff text: ``\n`` line endings, no blank lines around it, at most ``MAX_DIFF``."""
    text = _text(value, "diff").replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if len(text) > MAX_DIFF:
        raise ValidationError(f"diff is longer than {MAX_DIFF} characters", field="diff")
    return text


def check_tags(value: object) -> tuple[str, ...]:
    items = _sequence(value, "tags")
    tags: list[str] = []
    for item in items:
        tag = _text(item, "tags").strip().lower()
        if not tag:
            raise ValidationError("tags must not be empty", field="tags")
        if len(tag) > MAX_TAG or any(ch.isspace() or ch == "," for ch in tag):
            raise ValidationError(
                f"tag {tag!r} must be one word of at most {MAX_TAG} characters", field="tags"
            )
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def check_fingerprint(value: object) -> str:
    text = _text(value, "fingerprints").strip().lower()
    if not _FINGERPRINT.match(text):
        raise ValidationError(
            f"fingerprint {text!r} is not 16 hexadecimal characters", field="fingerprints"
        )
    return text


def check_fingerprints(value: object) -> tuple[str, ...]:
    result: list[str] = []
    for item in _sequence(value, "fingerprints"):
        fingerprint = check_fingerprint(item)
        if fingerprint not in result:
            result.append(fingerprint)
    return tuple(result)


def check_confidence(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError("confidence must be a number between 0 and 1", field="confidence")
    number = float(value)
    if math.isnan(number) or not 0.0 <= number <= 1.0:
        raise ValidationError(
            f"confidence {value!r} is not between 0 and 1", field="confidence", value=value
        )
    return number


def check_seen(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("seen must be a whole number >= 0", field="seen")
    return value


def check_provenance(value: object, default_source: str = "api") -> dict[str, Any]:
    """Where an entry came from: ``source``, ``author``, ``events`` plus any JSON fields."""
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise ValidationError("provenance must be a JSON object", field="provenance")
    result: dict[str, Any] = {str(k): v for k, v in value.items()}
    source = result.get("source", default_source)
    if source not in SOURCES:
        raise ValidationError(
            f"provenance source {source!r} is not one of {', '.join(SOURCES)}", field="provenance"
        )
    author = result.get("author")
    if author is not None and not isinstance(author, str):
        raise ValidationError("provenance author must be text", field="provenance")
    events = result.get("events", [])
    if not isinstance(events, list | tuple) or not all(isinstance(e, str) for e in events):
        raise ValidationError("provenance events must be a list of event ids", field="provenance")
    result.update(source=source, author=author, events=list(events))
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"provenance is not JSON-serializable: {exc}", field="provenance"
        ) from None
    return result


def change_signature(provenance: Mapping[str, Any]) -> tuple[str, ...]:
    """The files a fix changed, order-free: two fixes with the same signature are the same fix.

    The files relevant to the failure (``relevant``) when the learner told them apart from the
    rest of the change (a README edited on the way is not part of the fix), else all ``files``.
    """
    files = provenance.get("relevant") or provenance.get("files") or []
    if isinstance(files, str):
        files = [files]
    return tuple(sorted({str(f) for f in files})) if isinstance(files, list | tuple) else ()


def _sequence(value: object, field: str) -> Iterable[object]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(f"{field} must be a list", field=field)
    return list(value)
