"""Secret redaction: nothing Vigil stores (events, knowledge, log lines) holds a credential.

A :class:`Redactor` replaces each secret with a marker that says what was removed and never
the secret: ``[REDACTED:github-token]``, ``password=[REDACTED:password]``,
``[REDACTED:env:GROQ_API_KEY]``. It knows two kinds of secret:

* **Literal values**: the secrets in the process environment (which variables count is
  :func:`vigil.config.secret_variables`'s policy), matched exactly wherever they occur, longest
  first and before anything else, so their marker names the variable.
* **Shapes**: private key blocks (one cut off by the output tail is removed to the end of the
  text), ``Authorization:`` headers and ``Bearer`` tokens, passwords in URLs
  (``https://user:pass@host``), OpenAI, Anthropic, GitHub, AWS and Slack credentials, JWTs, and
  generic assignments: ``DB_PASSWORD=...``, ``token: ...``, ``"api_key": "..."``,
  ``--password ...``.

:meth:`Redactor.redact_obj` walks dicts, lists and tuples. Keys are kept as they are; a string
stored under a secret-sounding key (``password``, ``api_key``, ``clientSecret``) is replaced whole,
the structural twin of the ``key=value`` shape.

Cost. Redaction runs on every event append, KB write and log line, so ordinary text must be
cheap. Python's ``re`` tries an alternation of many patterns at every position, which costs
milliseconds per 64 KB; so every shape starts at a short *trigger* (``-----begin``, ``bearer``,
``://``, ``ghp_``, ``password``...) that ``str.find`` (or a regex with a distinctive literal
start) locates in the lower-cased text, and the shape's own regex runs only there. A text under
2 KB first asks one combined trigger regex whether any trigger occurs at all. A hit inside a
secret already found is skipped, so adversarial input (a ``BEGIN`` with no ``END``, thousands of
``sk-``) stays linear.

False positives against leaks. A miss stores a credential for good; a false positive hides a
little text. So when in doubt we redact, except where a rule would hit ordinary build output:

* ambiguous words (``token``, ``api key``, ``credentials``, ``Bearer``) need a value that looks
  generated: 8+ characters with a digit, or 20+ characters; ``Unexpected token: identifier`` and
  ``Bearer tokens are...`` stay. ``password``, ``secret`` and ``private key`` take any value;
* placeholders stay: numbers, ``true``/``false``/``null``/``none``..., ``$VAR``,
  ``${{ secrets.X }}``, ``<token>``, ``***``, an earlier ``[REDACTED:...]``;
* a key must *end* in its keyword: ``max_tokens``, ``token_type``, ``password_file`` and
  ``tokenizer`` are not secrets;
* vendor prefixes need their full shape, and ``sk-`` a word start and a digit, so
  ``task-runner-...`` is not an OpenAI key; git SHAs, fingerprints, UUIDs and paths match no
  shape.

Known gaps: a secret transformed before it is written (base64 outside an ``Authorization``
header, URL-encoding, split across two strings) is only caught if its shape still shows.

Redaction is idempotent: redacting redacted text changes nothing.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MARK = "[REDACTED:"
_SMALL = 2048  # below this, one regex search beats many ``str.find`` calls

# --- judging values -----------------------------------------------------------------------------

_PLACEHOLDERS = frozenset(
    {"true", "false", "yes", "no", "on", "off", "none"}
    | {"null", "nil", "undefined", "unset", "empty", "required", "optional"}
    | {"redacted", "hidden", "masked", "omitted"}
)
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
# Values starting like this are references or masks, never credentials, or what is left of an
# earlier redaction (checked in the regexes, so a long one is rejected before it is scanned).
_NOT_A_VALUE = r"(?![$%{<*]|[:=]*\[REDACTED:)"


def _placeholder(value: str) -> bool:
    """Whether an assigned value is obviously not a credential (see the module docstring)."""
    return (
        value.lower() in _PLACEHOLDERS
        or value[0] in "$%{<*"
        or MARK in value  # what is left around an earlier redaction
        or len(set(value)) == 1
        or _NUMBER.fullmatch(value) is not None
    )


def _plausible(value: str) -> bool:
    """A value under a keyword that always names a secret (``password``, ``secret``)."""
    return len(value) >= 3 and not _placeholder(value)


def _generated(value: str) -> bool:
    """A value that looks machine-made: 8+ characters with a digit, or 20+ characters."""
    core = value.rstrip("=")
    long_enough = len(core) >= 20 or (len(core) >= 8 and any(c.isdigit() for c in core))
    return long_enough and not _placeholder(value)


_KEYWORD_KINDS = (
    ("pass", "password"),
    ("secretaccesskey", "aws-secret-key"),
    ("secret", "secret"),
    ("token", "token"),
    ("credential", "credential"),
    ("private", "private-key"),
    ("access", "access-key"),
)
_DEFINITE = frozenset({"password", "secret", "aws-secret-key", "private-key"})


def _judge(keyword: str, value: str) -> str | None:
    """The kind of secret ``value`` is under ``keyword``, or ``None`` if it is not one."""
    word = re.sub(r"[_.\-]", "", keyword.lower())
    kind = next((k for prefix, k in _KEYWORD_KINDS if word.startswith(prefix)), "api-key")
    check = _plausible if kind in _DEFINITE else _generated
    return kind if check(value) else None


# --- shapes -------------------------------------------------------------------------------------


def _secret(match: re.Match[str]) -> str:
    """The part of a match that is the secret (after the ``keep`` group, if any)."""
    return match.string[_secret_start(match) : match.end()]


def _secret_start(match: re.Match[str]) -> int:
    return match.end("keep") if "keep" in match.re.groupindex else match.start()


def _always(kind: str) -> Callable[[re.Match[str]], str | None]:
    return lambda match: kind


def _if_generated(kind: str) -> Callable[[re.Match[str]], str | None]:
    return lambda match: kind if _generated(_secret(match)) else None


def _authorization(match: re.Match[str]) -> str | None:
    scheme = (match.group("scheme") or "").lower()
    if not scheme:
        return "authorization" if _generated(_secret(match)) else None
    if len(_secret(match)) < 4:
        return None
    return {"bearer": "bearer-token", "basic": "basic-auth"}.get(scheme, "authorization")


def _assignment(match: re.Match[str]) -> str | None:
    return _judge(match.group("kw"), _secret(match))


@dataclass(frozen=True)
class _Shape:
    """One kind of secret: where it starts, its shape, and how to name it.

    ``pattern`` is applied with ``match`` where a trigger occurs; its group ``keep`` (if any)
    stays in the text and the rest of the match is the secret. ``name`` gives the marker's kind,
    or ``None`` when the value is not a secret after all. With ``back``, the match starts before
    the trigger (``api_key`` found at ``key``): only when the character before the trigger is in
    ``before`` (cheap) and ``back`` finds the start in the 12 characters before it.
    """

    # Lower-case words where a match starts: each found with ``str.find`` (the fastest scan
    # CPython has), or, for a tuple of words sharing a distinctive start, with one regex.
    triggers: tuple[str | tuple[str, ...], ...]
    pattern: re.Pattern[str]
    name: Callable[[re.Match[str]], str | None]
    back: re.Pattern[str] | None = None
    before: str = ""


_TOKEN = r"[A-Za-z0-9\-._~+/]+=*"  # RFC 6750 token68
_KEY_PREFIXES = "api|access|private|signing|encryption|master|auth|client"
# A key that ends in one of these names a secret; ``_`` stands for any of ``_.-`` or nothing.
_KEYWORD = (
    r"(?P<kw>(?i:pass(?:word|wd|phrase)|secret(?:[_.\-]?access)?(?:[_.\-]?key)?|token"
    rf"|credentials?|(?:{_KEY_PREFIXES})[_.\-]?key))(?![A-Za-z0-9_\-])"
)
# After an opening quote (group ``q``, kept): up to the same quote; bare: up to a delimiter.
_VALUE = _NOT_A_VALUE + r"""(?(q)(?:(?!(?P=q))[^\\\n]|\\.)+(?=(?P=q))|[^\s"'`,;&)}\]>]+)"""
_KEYWORDS = ("passw", "passphrase", "secret", "token", "credential")
# Last letters of the key prefixes and the separators: what may precede ``key`` in ``api_key``.
_BEFORE_KEY = "_.-iestgnrh"


@dataclass(frozen=True)
class _Tables:
    """The compiled shapes, grouped by trigger; built on first use (see :func:`_tables`)."""

    #: Each distinct trigger with the shapes that start there, in order: the first that
    #: matches names the secret.
    finders: tuple[tuple[str | re.Pattern[str], tuple[_Shape, ...]], ...]
    any_trigger: re.Pattern[str]  # is there any trigger at all (for small texts)
    secret_key: re.Pattern[str]  # a dict key that names a secret


@functools.cache
def _tables() -> _Tables:
    """Compile the shapes once per process, when something is first redacted.

    Built lazily so that commands which only read never pay for compiling them.
    """
    assignment = re.compile(
        # The separator is atomic: a value never starts inside it (``password:=x``).
        rf"(?P<keep>{_KEYWORD}(?>[\"'`]?[ \t]*(?:=>|:=|[:=])[ \t]*)(?P<q>[\"'`])?){_VALUE}"
    )
    flag = re.compile(rf"(?P<keep>(?<=--){_KEYWORD}(?>[ \t]+)(?P<q>[\"'])?){_VALUE}")
    shapes = (
        _Shape(
            ("-----begin",),
            re.compile(
                r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
                r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)"
            ),
            _always("private-key"),
        ),
        _Shape(
            ("authorization",),
            re.compile(
                r"(?P<keep>(?i:authorization)[\"']?[ \t]*[:=][ \t]*[\"']?"
                r"(?:(?P<scheme>(?i:bearer|basic|token|digest|negotiate|bot|apikey))[ \t]+)?)"
                + _TOKEN
            ),
            _authorization,
        ),
        _Shape(
            ("bearer",),
            re.compile(rf"(?P<keep>(?i:bearer)[ \t]+){_TOKEN}"),
            _if_generated("bearer-token"),
        ),
        _Shape(
            ("://",),
            re.compile(r"""(?P<keep>://[^\s:/?#@"'<>\[\]]*:)(?!\[REDACTED:)[^\s/?#@"'<>]+(?=@)"""),
            _always("url-password"),
        ),
        _Shape(
            ("sk-",),
            re.compile(r"(?<![A-Za-z0-9])sk-ant-[A-Za-z0-9_\-]{20,}"),
            _always("anthropic-key"),
        ),
        _Shape(
            ("sk-",),
            re.compile(
                r"(?<![A-Za-z0-9])sk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_\-]{0,64}?[0-9])"
                r"[A-Za-z0-9_\-]{20,}"
            ),
            _always("openai-key"),
        ),
        _Shape(
            (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),),
            re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"),
            _always("github-token"),
        ),
        _Shape(
            (("akia", "asia", "abia", "acca"),),
            re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
            _always("aws-access-key-id"),
        ),
        _Shape(
            (("xox", "xapp-"),),
            re.compile(
                r"xox[abeoprs](?:\.xox[a-z])?-[A-Za-z0-9\-]{10,}|xapp-\d-[A-Za-z0-9\-]{10,}"
            ),
            _always("slack-token"),
        ),
        _Shape(
            ("hooks.slack.com/",),
            re.compile(r"(?P<keep>hooks\.slack\.com/(?:services|workflows|triggers)/)[\w/\-]+"),
            _always("slack-webhook"),
        ),
        _Shape(
            ("eyj",),
            re.compile(r"eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"),
            _always("jwt"),
        ),
        _Shape(_KEYWORDS, assignment, _assignment),
        _Shape(_KEYWORDS, flag, _assignment),
        _Shape(
            ("key",),
            assignment,
            _assignment,
            back=re.compile(rf"(?i:{_KEY_PREFIXES})[_.\-]?\Z"),
            before=_BEFORE_KEY,
        ),
        _Shape(
            ("key",),
            flag,
            _assignment,
            back=re.compile(rf"(?<=--)(?i:{_KEY_PREFIXES})-?\Z"),
            before=_BEFORE_KEY,
        ),
    )
    triggers = dict.fromkeys(t for s in shapes for t in s.triggers)
    finders = tuple(
        (
            t if isinstance(t, str) else re.compile(_trie(t)),
            tuple(s for s in shapes if t in s.triggers),
        )
        for t in triggers
    )
    words = [w for t in triggers for w in ((t,) if isinstance(t, str) else t)]
    return _Tables(finders, re.compile(_trie(words)), re.compile(rf"{_KEYWORD}\Z"))


def _trie(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, factored by common prefix (``re`` scans it faster)."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + emit(rest) for char, rest in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a word ends here: what follows is optional
            return body + "?" if len(branches) == 1 and len(body) == 1 else f"(?:{body})?"
        return body

    return emit(root)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _lower(text: str) -> str:
    """``text`` lower-cased with every character where it was (triggers are ASCII)."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


def _hits(trigger: str | re.Pattern[str], low: str) -> Iterator[int]:
    """Every position where ``trigger`` occurs in ``low``, overlapping ones included."""
    if isinstance(trigger, str):
        at = low.find(trigger)
        while at != -1:
            yield at
            at = low.find(trigger, at + 1)
    else:
        hit = trigger.search(low)
        while hit is not None:
            yield hit.start()
            hit = trigger.search(low, hit.start() + 1)


def _match(shape: _Shape, text: str, low: str, at: int) -> re.Match[str] | None:
    if shape.back is None:
        return shape.pattern.match(text, at)
    if at == 0 or low[at - 1] not in shape.before:
        return None
    start = shape.back.search(low, max(0, at - 12), at)
    return None if start is None else shape.pattern.match(text, start.start())


def _spans(text: str, low: str) -> list[tuple[int, int, str]]:
    """The secrets in ``text`` as sorted, non-overlapping ``(start, end, kind)``."""
    found: list[tuple[int, int, str]] = []
    for trigger, shapes in _tables().finders:
        covered = 0  # hits inside a secret this trigger already found need no second look
        for at in _hits(trigger, low):
            if at < covered:
                continue
            for shape in shapes:
                match = _match(shape, text, low, at)
                if match is None:
                    continue
                start = _secret_start(match)
                if start == match.end():
                    continue
                kind = shape.name(match)
                if kind is not None:
                    found.append((start, match.end(), kind))
                    covered = match.end()
                    break
    if len(found) < 2:
        return found
    found.sort(key=lambda span: (span[0], -span[1]))  # stable: the first shape names it
    merged = [found[0]]
    for start, end, kind in found[1:]:
        last_start, last_end, last_kind = merged[-1]
        if start < last_end:  # overlapping secrets: remove all of both, under the first name
            merged[-1] = (last_start, max(end, last_end), last_kind)
        else:
            merged.append((start, end, kind))
    return merged


class Redactor:
    """Replaces secrets in text and in JSON-like objects with ``[REDACTED:kind]`` markers.

    ``secrets`` are literal values to remove: a mapping of environment variable name to value
    (the marker names the variable) or plain values (the marker says ``env``). They are used as
    given; deciding which values are secrets is :func:`vigil.config.secret_variables`'s job.
    """

    def __init__(self, secrets: Mapping[str, str] | Iterable[str] = ()) -> None:
        if isinstance(secrets, str):  # would mean one secret per character
            raise TypeError("Redactor takes a mapping or a list of secrets, not one string")
        named = (
            {value: name for name, value in secrets.items()}
            if isinstance(secrets, Mapping)
            else dict.fromkeys(secrets, "")
        )
        self._marks = {
            value: f"{MARK}env:{name}]" if name else f"{MARK}env]"
            for value, name in named.items()
            if value
        }
        self._values = tuple(sorted(self._marks, key=len, reverse=True))
        alternatives = "|".join(re.escape(v) for v in self._values)
        self._literals = re.compile(alternatives) if self._values else None
        self._folded = re.compile(alternatives, re.IGNORECASE) if self._values else None
        self._folded_marks = {value.casefold(): mark for value, mark in self._marks.items()}
        # For needs_redaction: the values as they appear in text and inside JSON strings.
        escaped = (json.dumps(v, ensure_ascii=False)[1:-1] for v in self._values)
        self._needles = tuple(dict.fromkeys((*self._values, *escaped)))
        self._needle_re = (
            re.compile("|".join(re.escape(v) for v in self._needles)) if self._needles else None
        )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        """A redactor for the secrets in ``environ`` (default: this process's environment)."""
        from vigil.config import secret_variables

        return cls(secret_variables(environ))

    @property
    def literal_count(self) -> int:
        """How many literal secret values this redactor removes."""
        return len(self._values)

    def needs_redaction(self, text: str) -> bool:
        """Whether :meth:`redact` might change ``text`` or any string inside it.

        ``False`` is a promise, also when ``text`` is a JSON document: no literal secret (as is
        or JSON-escaped) and no shape's trigger occurs in it, so redacting it, or any string or
        key that JSON serialised into it, changes nothing. ``True`` means: look closer. One
        cheap scan, so a writer can skip the walk through an object that holds no secret.
        """
        if not text:
            return False
        small = len(text) < _SMALL
        if self._needle_re is not None and (
            self._needle_re.search(text) is not None
            if small
            else any(needle in text for needle in self._needles)
        ):
            return True
        low = _lower(text)
        tables = _tables()
        if small:
            return tables.any_trigger.search(low) is not None
        return any(next(_hits(trigger, low), None) is not None for trigger, _ in tables.finders)

    def redact(self, text: str, *, ignore_case: bool = False) -> str:
        """``text`` with every secret replaced by a marker (``text`` itself if it has none).

        ``ignore_case`` also finds the literal secrets in another case: for text that was
        case-folded before it got here (knowledge base tags).
        """
        if not text:
            return text
        if ignore_case and self._folded is not None:
            text = self._folded.sub(self._folded_mark, text)
        literals = self._literals
        if literals is not None and (
            literals.search(text) is not None
            if len(text) < _SMALL
            else any(value in text for value in self._values)
        ):
            text = literals.sub(self._literal_mark, text)
        low = _lower(text)
        if len(text) < _SMALL and _tables().any_trigger.search(low) is None:
            return text
        spans = _spans(text, low)
        if not spans:
            return text
        pieces: list[str] = []
        done = 0
        for start, end, kind in spans:
            pieces += (text[done:start], f"{MARK}{kind}]")
            done = end
        pieces.append(text[done:])
        return "".join(pieces)

    def redact_obj(self, obj: Any) -> Any:
        """``obj`` with every string redacted, deep through dicts, lists and tuples.

        Keys are kept; a string under a secret-sounding key (``password``, ``api_key``,
        ``clientSecret``) is replaced whole when it looks like a value. Numbers, booleans and
        ``None`` stay; any other object becomes its redacted ``str()`` (what JSON storage with
        ``default=str`` would have written). A container with nothing to redact comes back as
        itself.
        """
        if isinstance(obj, str):
            return self.redact(obj)
        if obj is None or isinstance(obj, bool | int | float):
            return obj
        if isinstance(obj, Mapping):
            result = {key: self._field(key, value) for key, value in obj.items()}
            unchanged = isinstance(obj, dict) and all(
                result[key] is value for key, value in obj.items()
            )
            return obj if unchanged else result
        if isinstance(obj, list | tuple):
            items = [self.redact_obj(item) for item in obj]
            if all(new is old for new, old in zip(items, obj, strict=True)):
                return obj
            return items if isinstance(obj, list) else tuple(items)
        return self.redact(str(obj))

    def _literal_mark(self, match: re.Match[str]) -> str:
        return self._marks[match.group(0)]

    def _folded_mark(self, match: re.Match[str]) -> str:
        return self._folded_marks.get(match.group(0).casefold(), f"{MARK}env]")

    def _field(self, key: object, value: Any) -> Any:
        if isinstance(value, str) and value and isinstance(key, str):
            named = _tables().secret_key.search(key)
            if named is not None and not value.startswith(MARK):
                kind = _judge(named.group("kw"), value)
                if kind is not None:
                    return f"{MARK}{kind}]"
        return self.redact_obj(value)
