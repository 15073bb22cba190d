"""Online log template mining: every line gets its template as it arrives.

How a line finds its template, cheapest first:

1. **Caches.** Lines that differ only in their digits tokenize alike (every masking rule looks at
   shapes, :mod:`vigil.parsing.logtokens`), so a line whose digits-as-zero form, or whose
   digit-runs-as-one-zero form, was seen before goes straight to the same template. Most lines of a
   real log stop here, in C (``str.translate`` and a dict).
2. **Signature.** The masked tokens; a signature seen before keeps its template.
3. **Comparison** with the templates of the same length, position by position, then with those a
   few tokens longer or shorter, by alignment (:mod:`vigil.parsing.logmatch`); the best one that
   passes takes the line and generalizes where they differ. The miner keeps the vocabulary of
   its templates (which words are some message's text, which words two messages have used),
   which decides whether two different words can be two values of one slot.
4. Otherwise a new template.

A template's id never changes once given (``T1``, ``T2``... per miner): a line's answer is final,
whatever later lines do to the template's text. Nothing in here is tuned per log format.

A miner can start from stored templates (:class:`TemplateRecord`), so a daemon restart continues
the same numbering, counts and first/last seen (and the vocabulary, from the templates' words).
Bounded: lines are mined on their first ``MAX_LINE_CHARS`` characters, caches are dropped when
they grow past ``CACHE_LIMIT``, and past ``max_templates`` new lines go to one catch-all template.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from vigil.parsing.logmatch import (
    MAX_DETAIL_GAP,
    MAX_LENGTH_GAP,
    SAME_LENGTH_SHARE,
    Shape,
    Vocabulary,
    compare_aligned,
    compare_same_length,
    count_details,
    is_identifier,
)
from vigil.parsing.logtokens import (
    VAR,
    digit_key,
    digit_keys,
    digit_run_key,
    render,
    tokenize,
)

MAX_LINE_CHARS = 4096
MAX_TOKENS = 256
CACHE_LIMIT = 200_000
DEFAULT_MAX_TEMPLATES = 10_000
CATCH_ALL = VAR
_K = TypeVar("_K")


@dataclass(slots=True)
class Template:
    """One template: a stable id, its text, and how often and when it was seen."""

    id: str
    text: str
    count: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    shape: Shape = field(default_factory=lambda: Shape.of(()), repr=False)

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.shape.tokens

    def to_dict(self) -> dict[str, object]:
        return {
            "template_id": self.id,
            "template": self.text,
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    """A template as stored: enough to rebuild the miner after a restart."""

    id: str
    text: str
    tokens: tuple[str, ...]
    count: int
    first_seen: str | None
    last_seen: str | None


class TemplateMiner:
    """Assign templates to lines, online; see the module docstring."""

    def __init__(
        self,
        records: Iterable[TemplateRecord] = (),
        *,
        max_templates: int = DEFAULT_MAX_TEMPLATES,
    ) -> None:
        self.max_templates = max_templates
        self._templates: list[Template] = []
        # (length, first token) -> templates; first token "*" when it is a variable or an
        # identifier (those may take any first token), see _candidates.
        self._by_head: dict[tuple[int, str], list[Template]] = {}
        self._by_length: dict[int, list[Template]] = {}
        self._by_digits: dict[str, Template] = {}
        self._by_runs: dict[str, Template] = {}
        self._by_signature: dict[tuple[str, ...], Template] = {}
        self._vocabulary = Vocabulary()
        self._detailed = 0  # templates with a detail a line may leave out
        self._next = 1
        self._catch_all: Template | None = None
        self.changed: set[str] = set()  # ids created or generalized since the last take_changed
        for record in records:
            self._restore(record)

    # -- reading ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._templates)

    def __iter__(self) -> Iterator[Template]:
        return iter(self._templates)

    def get(self, template_id: str) -> Template | None:
        for template in self._templates:
            if template.id == template_id:
                return template
        return None

    def records(self) -> list[TemplateRecord]:
        return [_record(t) for t in self._templates]

    def take_changed(self) -> list[TemplateRecord]:
        """The templates created, generalized or counted since the last call."""
        ids, self.changed = self.changed, set()
        return [_record(t) for t in self._templates if t.id in ids]

    # -- mining -------------------------------------------------------------------------------

    def add(self, line: str, when: str | None = None) -> Template:
        """The template of ``line`` (created or generalized as needed), counted once."""
        key = digit_key(line)
        template = self._by_digits.get(key)
        if template is None:
            template = self._slow(line, key)
        self._count(template, when)
        return template

    def add_many(self, lines: Sequence[str], when: str | None = None) -> list[Template]:
        """``add`` for each line in order (the same answers; the cache lookups run in C)."""
        keys = digit_keys(lines)
        found: list[Template | None] = list(map(self._by_digits.get, keys))
        if None in found:
            for index, template in enumerate(found):
                if template is None:
                    key = keys[index]
                    found[index] = self._by_digits.get(key) or self._slow(lines[index], key)
        out: list[Template] = found  # type: ignore[assignment]  # no None left
        for template in out:
            template.count += 1
        for template in {t.id: t for t in out}.values():
            if template.first_seen is None:
                template.first_seen = when
            template.last_seen = when or template.last_seen
            self.changed.add(template.id)
        return out

    def _count(self, template: Template, when: str | None) -> None:
        template.count += 1
        if template.first_seen is None:
            template.first_seen = when
        if when is not None:
            template.last_seen = when
        self.changed.add(template.id)

    def _slow(self, line: str, digits: str) -> Template:
        runs = digit_run_key(line)
        template = self._by_runs.get(runs)
        if template is None:
            tokens, spaced = tokenize(line[:MAX_LINE_CHARS])
            if len(tokens) > MAX_TOKENS:
                tokens, spaced = (*tokens[: MAX_TOKENS - 1], VAR), spaced[:MAX_TOKENS]
            template = self._by_signature.get(tokens)
            if template is None:
                template = self._place(tokens, spaced)
                self._remember(self._by_signature, tokens, template)
            self._remember(self._by_runs, runs, template)
        self._remember(self._by_digits, digits, template)
        return template

    def _place(self, tokens: tuple[str, ...], spaced: tuple[bool, ...]) -> Template:
        best: Template | None = None
        best_share = -1.0
        merged: list[str] | None = None
        merged_spaced: Sequence[bool] = spaced
        head = _head(tokens)
        for candidate in self._candidates(len(tokens), head):
            share, generalized = compare_same_length(candidate.shape, tokens, self._vocabulary)
            if share > best_share:
                best, best_share, merged = candidate, share, generalized
        if best is None or best_share < SAME_LENGTH_SHARE:
            best, best_share = None, -1.0
            details = count_details(tokens)
            line_tokens = frozenset(tokens)
            detailed = details or self._detailed  # may a side leave a detail out?
            for gap in range(
                0 if detailed else 1, (MAX_DETAIL_GAP if detailed else MAX_LENGTH_GAP) + 1
            ):
                # past MAX_LENGTH_GAP, or at one length (details left out in other places):
                # only when a detail may be left out
                plain = 0 < gap <= MAX_LENGTH_GAP
                for length in (len(tokens) - gap, len(tokens) + gap) if gap else (len(tokens),):
                    if length not in self._by_length:
                        continue
                    for candidate in self._candidates(length, head):
                        if not (plain or details or candidate.shape.details):
                            continue
                        share, generalized, gen_spaced = compare_aligned(
                            candidate.shape, tokens, spaced, line_tokens
                        )
                        if (
                            generalized is not None
                            and gen_spaced is not None
                            and share > best_share
                        ):
                            best, best_share = candidate, share
                            merged, merged_spaced = generalized, gen_spaced
        if best is not None and merged is not None:
            if tuple(merged) != best.shape.tokens:
                self._reshape(best, merged, render(merged, merged_spaced))
            return best
        return self._create(tokens, render(tokens, spaced))

    def _create(self, tokens: tuple[str, ...], text: str) -> Template:
        if len(self._templates) >= self.max_templates:
            return self._overflow()
        template = Template(id=f"T{self._next}", text=text, shape=Shape.of(tokens))
        self._next += 1
        self._add_template(template)
        self.changed.add(template.id)
        return template

    def _overflow(self) -> Template:
        if self._catch_all is None:
            self._catch_all = Template(id="T0", text=CATCH_ALL, shape=Shape.of((CATCH_ALL,)))
            self._templates.append(self._catch_all)
        return self._catch_all

    def _reshape(self, template: Template, tokens: Sequence[str], text: str) -> None:
        old = len(template.shape.tokens)
        old_head = _head(template.shape.tokens)
        before = template.shape.wordset
        self._detailed -= bool(template.shape.details)
        template.shape = Shape.of(tokens)
        self._detailed += bool(template.shape.details)
        self._vocabulary.changed(before, template.shape.wordset)
        template.text = text
        if len(tokens) != old:
            self._by_length[old].remove(template)
            self._by_length.setdefault(len(tokens), []).append(template)
        if len(tokens) != old or old_head != _head(template.shape.tokens):
            self._by_head[(old, old_head)].remove(template)
            self._by_head.setdefault(_key(template.shape.tokens), []).append(template)
        self.changed.add(template.id)

    def _add_template(self, template: Template) -> None:
        self._vocabulary.created(template.shape.wordset)
        self._detailed += bool(template.shape.details)
        self._templates.append(template)
        self._by_length.setdefault(len(template.shape.tokens), []).append(template)
        self._by_head.setdefault(_key(template.shape.tokens), []).append(template)

    def _candidates(self, length: int, head: str) -> list[Template]:
        """Templates of ``length`` that a line with first token ``head`` (see ``_head``) could
        belong to: a plain first word must be the template's own first token (the comparisons
        never let a first word go), unless that is a variable or an identifier."""
        if head == "*":
            return self._by_length.get(length, [])
        return self._by_head.get((length, head), []) + self._by_head.get((length, "*"), [])

    def _restore(self, record: TemplateRecord) -> None:
        template = Template(
            id=record.id,
            text=record.text,
            count=record.count,
            first_seen=record.first_seen,
            last_seen=record.last_seen,
            shape=Shape.of(record.tokens),
        )
        if record.id == "T0":
            self._catch_all = template
            self._templates.append(template)
        else:
            self._add_template(template)
        number = record.id[1:]
        if number.isdigit():
            self._next = max(self._next, int(number) + 1)

    @staticmethod
    def _remember(cache: dict[_K, Template], key: _K, template: Template) -> None:
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        cache[key] = template


def _head(tokens: Sequence[str]) -> str:
    first = tokens[0] if tokens else VAR
    return "*" if first == VAR or is_identifier(first) else first


def _key(tokens: Sequence[str]) -> tuple[int, str]:
    return len(tokens), _head(tokens)


def _record(template: Template) -> TemplateRecord:
    return TemplateRecord(
        id=template.id,
        text=template.text,
        tokens=template.shape.tokens,
        count=template.count,
        first_seen=template.first_seen,
        last_seen=template.last_seen,
    )
