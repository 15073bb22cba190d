"""The rules provider: deterministic answers from the triage and the knowledge base; the floor.

It implements :class:`~vigil.reasoning.provider.Provider` (name ``rules``, model ``rules-1``,
local) without any model: it reads the :class:`~vigil.reasoning.workspace.Workspace` it was built
with, and it always answers. It never raises for a question it does not understand, nor for a
store it cannot read: it then says what it can tell and how to ask.

Questions (the last ``user`` message) are classified by keywords (:func:`classify`), first match:

``fix``      "how do I fix...", "fix", "solve"       known fixes of the failure + knowledge search
``changed``  "what changed", "diff", "commits"       suspects since the last green run + git log
``flaky``    "flaky", "intermittent"                 pass/fail history of each command
``failure``  "why did X fail", "what failed"         the latest triage of the matching command
``status``   "status", "what's going on"             the project state
``search``   anything else with words in it          knowledge base search
``help``     nothing recognisable                    the project state and how to ask

The failure a question is about: an event id written in it (``ev_...``), else the open failure
(a command whose latest run failed) whose command line shares the most words with the question,
else the most recent open failure, else the latest failure on record. Answers are short Markdown
that cite event and knowledge ids inline, e.g. ``(ev_01...)``; :meth:`RulesProvider.answer`
returns them with the ids cited (a sync call, for the CLI's fast path: one or two store queries).

Schema requests (``Request.schema`` set: triage enrichment). Expected prompt shape, as
``vigil.handlers.enricher`` builds it: the LAST user message holds the diagnosis as JSON after the
line ``Diagnosis (JSON):`` (also accepted: a fenced ```` ```json ```` block, the whole message as
JSON, or the outermost ``{...}`` in it; a top-level ``{"diagnosis": {...}}`` is unwrapped). The
diagnosis has the keys of ``triage.completed`` data (``summary``, ``failures`` [``tool``,
``file``, ``line``, ``test``, ``error_type``, ``message``], ``known_fixes`` [``id``, ``title``,
``match``, ``confidence``], ``suspects`` [``path``, ``reasons``], ``history`` [``seen``,
``flaky``]), any of which may be missing. For the schema ``{"explanation": str, "next_step":
str}`` the answer is built from it by :func:`vigil.reasoning.wording.enrichment` (the likeliest
cause and the next step that follows from it; cut to the schema's ``maxLength``); for any other
schema it is a minimal valid instance (required keys, types, enums, lengths), its text fields
filled from the same explanation where their names suggest it.

Start-up cost matters (``vigil ask`` by rules: < 300 ms including the process): this module
imports only the provider interface and ``re``/``json``; asyncio is imported when first awaited.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vigil.reasoning.provider import Chunk, Message, Request, Response, Usage
from vigil.reasoning.wording import enrichment
from vigil.reasoning.workspace import ID_PATTERN, Workspace, ids_in, one_line

_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "fix",
        re.compile(
            r"\b(how (do|can|should|would|to) (i |we |you )?(fix|solve|resolve|repair)|fix(es|ed|"
            r"ing)?|solve|solution|resolve|workaround|remed(y|ies))\b"
        ),
    ),
    (
        "changed",
        re.compile(
            r"\b(what('s| has| have|s)? changed|changes?|diffs?|commits?|suspects?|who (broke|"
            r"changed)|recent(ly)? (edit|change)s?|since the last (green|pass))\b"
        ),
    ),
    (
        "flaky",
        re.compile(
            r"\b(flak(y|iness|e)|intermittent(ly)?|sometimes (fail|pass)(s|es|ed)?|random(ly)? "
            r"fail|unstable|non-?deterministic)"
        ),
    ),
    (
        "failure",
        re.compile(
            r"\b(why|fail(s|ed|ing|ure|ures)?|broke|broken|break(s|ing)?|errors?|red|crash(ed|es)?"
            r"|wrong|exception|traceback)\b"
        ),
    ),
    (
        "status",
        re.compile(
            r"\b(status|what('s| is|s) (going on|up|happening|new)|overview|state|health(y)?|"
            r"summar(y|ise|ize)|how are things|how is (it|the project|everything)|anything|"
            r"brief(ing)?|going on)\b"
        ),
    ),
)

# Words that say nothing about which command or entry a question means.
_STOP_WORDS = """a an the and or but of to in on at for from by with about into is are was were be
been being do does did done have has had i we you it its it's this that these those my our your me
us what what's whats why how when where which who whom can could should would will shall may might
must please tell show give any some there here again last latest recent recently vigil now just
run runs ran command commands project happen happened"""
# Words that name the question's class, never a command.
_GENERIC_WORDS = """fail fails failed failing failure failures why broke broken break error errors
fix fixes fixed fixing solve resolve changed change changes flaky status going wrong"""
_STOP = frozenset(_STOP_WORDS.split())
_GENERIC = frozenset(_GENERIC_WORDS.split())
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
_EVENT_REF = re.compile(r"\bev_[0-9A-Za-z]{6,26}\b")
_MARKER = "Diagnosis (JSON):"
_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)

HOW_TO_ASK = (
    "Ask me, for example: *why did `<command>` fail?*, *how do I fix it?*, *what changed?*,"
    " *is `<command>` flaky?*, *status*, or a few words to search the knowledge base."
)


@dataclass(frozen=True, slots=True)
class RulesAnswer:
    """A rules answer: Markdown text, the question's class, and the ids it cites."""

    text: str
    kind: str
    cited_ids: tuple[str, ...]


def classify(question: str) -> str:
    """The class of a question (see the module docstring)."""
    lowered = question.lower()
    for kind, pattern in _CLASSES:
        if pattern.search(lowered):
            return kind
    return "search" if _terms(question) else "help"


def _terms(question: str) -> list[str]:
    words = [w.strip(".-+").lower() for w in _WORD.findall(ID_PATTERN.sub(" ", question))]
    return [w for w in dict.fromkeys(words) if len(w) >= 2 and w not in _STOP]


def _match(term: str, word: str) -> int:
    """2 when a question word names a command word, 1 when one contains the other, else 0."""
    term, word = term.rstrip("s"), word.rstrip("s")
    if term == word:
        return 2
    shorter = min(len(term), len(word))
    return 1 if shorter >= 3 and (term in word or word in term) else 0


def _command_score(question_terms: Sequence[str], command: str) -> int:
    """How well a question's words name ``command`` (0: not at all)."""
    words = [w.lower() for w in re.split(r"[\s/\\:=,]+", command or "") if w]
    words += [p for w in words for p in re.split(r"[.\-_]+", w) if p]
    return sum(
        max((_match(t, w) for w in words), default=0) for t in question_terms if t not in _GENERIC
    )


_SUFFIX = re.compile(r"(ing|ed|es|s)$")


def _search_query(terms: Sequence[str]) -> str:
    """Question words as a knowledge search: each also as a stem prefix (tagging -> tag*)."""
    words = []
    for term in terms:
        stem = _SUFFIX.sub("", term) if len(term) > 4 else term
        if len(stem) > 3 and stem[-1] == stem[-2]:
            stem = stem[:-1]  # tagg -> tag
        words.append(f"{stem}*" if stem.isalnum() and len(stem) >= 3 else term)
    return " ".join(words)


class RulesProvider:
    """Deterministic answers from a :class:`Workspace`; always answers."""

    def __init__(self, workspace: Workspace, *, name: str = "rules", model: str = "rules-1"):
        self.workspace = workspace
        self.name = name
        self.model = model

    @property
    def local(self) -> bool:
        return True

    # -- the Provider protocol -----------------------------------------------------------------

    async def complete(self, request: Request) -> Response:
        import asyncio
        import time

        started = time.perf_counter()
        text = await asyncio.to_thread(self.respond, request)
        return Response(
            text,
            self.name,
            self.model,
            usage=Usage(),
            finish_reason="stop",
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        response = await self.complete(request)
        pieces = re.split(r"(?<=\n)(?=\n)", response.text) if request.schema is None else []
        for piece in pieces or [response.text]:
            if piece:
                yield Chunk(text=piece)
        yield Chunk(response=response)

    def respond(self, request: Request) -> str:
        """The text answer to ``request`` (JSON when it has a schema); never raises."""
        last = _last_user(request.messages)
        if request.schema is not None:
            return json.dumps(self.structured(last, request.schema), ensure_ascii=False)
        return self.answer(last).text

    # -- questions -----------------------------------------------------------------------------

    def answer(self, question: str) -> RulesAnswer:
        """Answer ``question`` from the workspace; never raises."""
        kind = classify(question)
        builders: dict[str, Callable[[str], str | None]] = {
            "fix": self._fix,
            "changed": self._changed,
            "flaky": self._flaky,
            "failure": self._failure,
            "status": self._status,
            "search": self._search,
            "help": self._help,
        }
        try:
            text = builders[kind](question)
            if text is None:  # nothing specific to say: the state, and how to ask
                text = self._help(question)
        except Exception as exc:  # noqa: BLE001 - the floor always answers; the error is shown
            text = self._safe_help(question, exc)
        return RulesAnswer(text, kind, tuple(ids_in([text])))

    def _state(self) -> dict[str, Any]:
        return self.workspace.project_state()

    def _target(
        self,
        question: str,
        state: Mapping[str, Any],
        prefer: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """The diagnosis the question is about, and a note on how it was chosen.

        Unless the question names an event or a command, the most recent open failure for which
        ``prefer`` holds is chosen, else the most recent one.
        """
        ref = _EVENT_REF.search(question)
        if ref:
            return self.workspace.triage_of(ref.group(0)), ""
        failing: list[Mapping[str, Any]] = list(state.get("open_failures") or [])
        terms = _terms(question)
        named = [  # a failing command the question names, beyond the few open_failures list
            c
            for c in state.get("commands") or []
            if c.get("status") == "failed" and _command_score(terms, str(c.get("command") or ""))
        ]
        if named and not any(_command_score(terms, str(f.get("command") or "")) for f in failing):
            best = max(named, key=lambda c: _command_score(terms, str(c.get("command") or "")))
            return self.workspace.triage_of(str(best["event_id"])), ""
        if failing:
            scored = [
                (
                    _command_score(terms, str(f.get("command") or "")),
                    bool(prefer and prefer(f)),
                    -i,
                )
                for i, f in enumerate(failing)
            ]
            best = max(range(len(failing)), key=lambda i: scored[i])
            return self.workspace.triage_of(str(failing[best]["event_id"])), ""
        diagnosis = self.workspace.triage_of(None)
        note = "No command is failing now; this is the latest failure on record."
        return diagnosis, note if diagnosis.get("failure_id") else ""

    def _failure(self, question: str) -> str | None:
        state = self._state()
        diagnosis, note = self._target(question, state)
        if not diagnosis.get("failure_id"):
            return "No failed run is recorded yet: nothing has failed. " + _state_line(state)
        parts = [note] if note else []
        parts.append(_diagnosis_text(diagnosis))
        others = [
            f
            for f in state.get("open_failures") or []
            if f.get("event_id") != diagnosis.get("failure_id")
        ]
        if others:
            parts.append(
                "Also failing: "
                + ", ".join(
                    f"`{f['command']}` ({f.get('event_id')})"
                    if f.get("command")
                    else f"a run without a command ({f.get('event_id')})"
                    for f in others[:3]
                )
                + "."
            )
        return "\n\n".join(parts)

    def _fix(self, question: str) -> str | None:
        state = self._state()
        diagnosis, note = self._target(question, state)
        parts = [note] if note else []
        listed: set[str] = set()
        if diagnosis.get("failure_id"):
            parts.append(_headline(diagnosis))
            fixes = list(diagnosis.get("known_fixes") or [])
            if fixes:
                lines = ["Known fixes:"]
                for fix in fixes[:3]:
                    listed.add(str(fix.get("id")))
                    lines.append(_fix_line(fix, body=True))
                parts.append("\n".join(lines))
        command = str(diagnosis.get("command") or "")
        terms = [
            t for t in _terms(question) if t not in _GENERIC and not _command_score([t], command)
        ]
        if terms:
            hits = [
                h
                for h in self.workspace.search_knowledge(_search_query(terms), 5)
                if str(h.get("id")) not in listed
            ]
            if hits:
                parts.append("\n".join(["From the knowledge base:", *map(_hit_line, hits[:3])]))
                listed.update(str(h.get("id")) for h in hits[:3])
        if not listed:
            if not diagnosis.get("failure_id"):
                return "No failed run is recorded, and no knowledge entry matches. " + HOW_TO_ASK
            parts.append(
                "No known fix is recorded for this failure. When the command passes again, Vigil"
                " records what changed as a candidate fix; you can also add one with"
                ' `vigil kb add fix "TITLE"`.'
            )
            suspects = _suspects_text(diagnosis)
            if suspects:
                parts.append(suspects)
            others = [
                f
                for f in state.get("open_failures") or []
                if f.get("known_fixes") and f.get("event_id") != diagnosis.get("failure_id")
            ]
            if others:
                parts.append(
                    "Other failing commands have known fixes: "
                    + ", ".join(
                        f"`{f.get('command')}` ({f['known_fixes'][0].get('id')})"
                        for f in others[:3]
                    )
                    + "."
                )
        return "\n\n".join(parts)

    def _changed(self, question: str) -> str | None:
        state = self._state()
        diagnosis, note = self._target(question, state, lambda f: bool(f.get("suspects")))
        parts = [note] if note else []
        if diagnosis.get("failure_id"):
            parts.append(_headline(diagnosis))
            suspects = _suspects_text(diagnosis)
            since = diagnosis.get("since_pass") or {}
            if suspects:
                parts.append(suspects)
            elif since:
                parts.append("No changed files were found since the last green run.")
            else:
                parts.append("No passing run of this command is recorded, so nothing to compare.")
            commits = list(since.get("commits") or []) if isinstance(since, Mapping) else []
            if commits:
                parts.append(
                    f"Commits since the last green run ({since.get('event_id')}):\n"
                    + "\n".join(_commit_line(c) for c in commits[:5])
                )
        try:
            recent = self.workspace.git_log(5)
        except Exception:  # noqa: BLE001 - git is optional here: no repository, git missing
            recent = []
        if recent:
            parts.append("Latest commits:\n" + "\n".join(_commit_line(c) for c in recent[:5]))
        return "\n\n".join(parts) if parts else None

    def _flaky(self, question: str) -> str | None:
        state = self._state()
        terms = _terms(question)
        commands = list(state.get("commands") or [])
        flaky_ids = {
            f.get("command"): f for f in state.get("open_failures") or [] if f.get("flaky")
        }
        scores = [_command_score(terms, str(c.get("command") or "")) for c in commands]
        best = max(scores, default=0)
        named = [c for c, score in zip(commands, scores, strict=True) if best and score == best]
        lines = []
        for command in named or commands:
            name = str(command.get("command") or "")
            recent = str(command.get("recent") or "")
            flips = sum(1 for a, b in itertools.pairwise(recent) if a != b)
            triaged = flaky_ids.get(name)
            if not (flips >= 2 or triaged):
                continue
            text = (
                f"- `{name}`: last runs {_runs(recent)} (newest first), {command.get('failures')}"
                f" of {command.get('runs')} failed"
            )
            if triaged:
                text += f"; triage ({triaged.get('triage_id')}) found the same failure pass on an"
                text += " unchanged tree: flaky"
            lines.append(text + f" ({command.get('event_id')}).")
        if lines:
            return "Commands that look flaky:\n" + "\n".join(lines)
        if not commands:
            return "No runs are recorded yet, so nothing to judge. " + HOW_TO_ASK
        summary = ", ".join(
            f"`{c.get('command')}` {_runs(str(c.get('recent') or ''))}" for c in commands[:5]
        )
        return (
            f"Nothing looks flaky: no command alternates between passing and failing ({summary})."
        )

    def _status(self, question: str) -> str | None:
        return _state_text(self._state())

    def _search(self, question: str) -> str | None:
        terms = _terms(question)
        if not terms:
            return None
        hits = self.workspace.search_knowledge(_search_query(terms), 5)
        if not hits:
            return self._help(
                question, f"Nothing in the knowledge base matches *{' '.join(terms)}*."
            )
        return "\n".join([f"From the knowledge base ({' '.join(terms)}):", *map(_hit_line, hits)])

    def _help(self, question: str, lead: str = "") -> str:
        lead = lead or (
            "I am Vigil's rules provider: I answer from the triage and the knowledge base, without"
            " a model, and I could not tell what you are asking."
        )
        return f"{lead}\n\n{_state_text(self._state())}\n\n{HOW_TO_ASK}"

    def _safe_help(self, question: str, error: Exception) -> str:
        try:
            state = _state_text(self._state())
        except Exception:  # noqa: BLE001 - the floor answers even with no readable store
            state = "I cannot read Vigil's state right now."
        return (
            f"I could not answer that from the stores ({type(error).__name__}: "
            f"{one_line(str(error), 200)}).\n\n{state}\n\n{HOW_TO_ASK}"
        )

    # -- schema requests -----------------------------------------------------------------------

    def structured(self, prompt: str, schema: Mapping[str, Any]) -> Any:
        """A value valid against ``schema``, worded from the diagnosis in ``prompt``."""
        diagnosis = parse_diagnosis(prompt)
        explanation, next_step = enrichment(diagnosis)
        texts = {"explanation": explanation, "next_step": next_step}
        return instance(schema, texts)


# -- wording a diagnosis -------------------------------------------------------------------------


def _last_user(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return message.content
    return ""


def parse_diagnosis(prompt: str) -> dict[str, Any]:
    """The diagnosis JSON in an enrichment prompt (``{}`` when there is none)."""
    candidates: list[str] = []
    if _MARKER in prompt:
        candidates.append(prompt.split(_MARKER, 1)[1])
    candidates += [m.group(1) for m in _FENCE.finditer(prompt)]
    candidates.append(prompt)
    start, end = prompt.find("{"), prompt.rfind("}")
    if 0 <= start < end:
        candidates.append(prompt[start : end + 1])
    decoder = json.JSONDecoder()
    for candidate in candidates:
        text = candidate.strip()
        if not text.startswith("{"):
            continue
        try:
            value, _ = decoder.raw_decode(text)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(value, dict):
            inner = value.get("diagnosis")
            return dict(inner) if isinstance(inner, dict) else value
    return {}


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _where(failure: Mapping[str, Any]) -> str:
    file, line = failure.get("file"), failure.get("line")
    if file and line:
        return f"{file}:{line}"
    return str(file or failure.get("test") or "")


def _fit(text: str, schema: Mapping[str, Any]) -> str:
    """``text`` within the string schema's length limits (cut at a word when it can)."""
    if schema.get("enum"):
        return str(schema["enum"][0])
    if "const" in schema:
        return str(schema["const"])
    high = schema.get("maxLength")
    if isinstance(high, int) and len(text) > high:
        cut = text[: max(0, high - 1)]
        if " " in cut[len(cut) // 2 :]:
            cut = cut[: cut.rfind(" ")]
        text = (cut + "…")[:high] if high > 0 else ""
    low = schema.get("minLength")
    if isinstance(low, int) and len(text) < low:
        text = text + "." * (low - len(text))
    return text


def _text_for(name: str, texts: Mapping[str, str]) -> str:
    lowered = name.lower()
    if lowered in texts:
        return texts[lowered]
    if re.search(r"next|step|action|fix|todo|suggest", lowered):
        return texts.get("next_step", "")
    return texts.get("explanation", "")


def instance(schema: Mapping[str, Any], texts: Mapping[str, str], name: str = "") -> Any:
    """A minimal value valid against ``schema``; strings come from ``texts`` by name."""
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return instance(schema[key][0], texts, name)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        properties: Mapping[str, Any] = schema.get("properties") or {}
        wanted = list(schema.get("required") or [])
        if not wanted:  # fill what we have words for, when nothing is required
            wanted = [k for k in properties if k.lower() in texts]
        return {
            key: instance(properties.get(key) or {"type": "string"}, texts, key) for key in wanted
        }
    if kind == "array":
        count = int(schema.get("minItems") or 0)
        items = schema.get("items")
        items = items if isinstance(items, Mapping) else {}
        return [instance(items, texts, name) for _ in range(count)]
    if kind in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        value = low if isinstance(low, int | float) else 0
        if isinstance(high, int | float) and value > high:
            value = high
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _fit(_text_for(name, texts), schema)


# -- Markdown pieces -----------------------------------------------------------------------------


def _runs(recent: str) -> str:
    return "".join("✓" if c == "P" else "✗" for c in recent) or "none"


def _headline(d: Mapping[str, Any]) -> str:
    exit_code = d.get("exit_code")
    code = f", exit {exit_code}" if exit_code is not None else ""
    head = f"**`{d.get('command')}` failed** ({d.get('failure_id')}{code}, {d.get('time')})."
    if d.get("summary"):
        head += f" {d.get('summary')}"
        if d.get("triage_id"):
            head += f" (triage {d.get('triage_id')})"
    elif d.get("note"):
        head += f" {str(d.get('note')).capitalize()}."
    return head


def _diagnosis_text(d: Mapping[str, Any]) -> str:
    parts = [_headline(d)]
    failures = _items(d.get("failures"))
    if failures:
        lines = ["Failures:"]
        for f in failures[:3]:
            what = ": ".join(str(p) for p in (f.get("error_type"), f.get("message")) if p)
            where = _where(f)
            lines.append(f"- {'`' + where + '` ' if where else ''}{one_line(what, 200)}")
        parts.append("\n".join(lines))
    fixes = _items(d.get("known_fixes"))
    if fixes:
        parts.append("\n".join(["Known fixes:", *(_fix_line(f) for f in fixes[:3])]))
    suspects = _suspects_text(d)
    if suspects:
        parts.append(suspects)
    history = d.get("history")
    if isinstance(history, Mapping) and (history.get("seen") or history.get("flaky")):
        seen = int(history.get("seen") or 0)
        text = f"History: seen {'once' if seen == 1 else f'{seen} times'} before"
        if history.get("first_seen"):
            text += f" (first {history.get('first_seen')})"
        parts.append(
            text
            + ("; flaky: it also passed on an unchanged tree." if history.get("flaky") else ".")
        )
    return "\n\n".join(parts)


def _fix_line(fix: Mapping[str, Any], body: bool = False) -> str:
    line = (
        f"- **{fix.get('title')}** ({fix.get('id')}; {fix.get('kind') or 'fix'},"
        f" {fix.get('status') or 'active'}, confidence {fix.get('confidence')}"
    )
    line += f", matched by {fix.get('match')})" if fix.get("match") else ")"
    if body and fix.get("body"):
        line += f": {one_line(str(fix.get('body')), 300)}"
    return line


def _hit_line(hit: Mapping[str, Any]) -> str:
    text = one_line(str(hit.get("snippet") or hit.get("body") or ""), 200)
    line = f"- **{hit.get('title')}** ({hit.get('id')}; {hit.get('kind')}, {hit.get('status')})"
    return f"{line}: {text}" if text else line


def _suspects_text(d: Mapping[str, Any]) -> str:
    suspects = _items(d.get("suspects"))
    if not suspects:
        return ""
    lines = ["Suspects (changed since the last green run):"]
    for s in suspects[:3]:
        reasons = s.get("reasons") or []
        why = "; ".join(str(r) for r in reasons[:2]) if isinstance(reasons, list) else ""
        lines.append(f"- `{s.get('path')}`" + (f": {why}" if why else ""))
    return "\n".join(lines)


def _commit_line(commit: Mapping[str, Any]) -> str:
    sha = str(commit.get("sha") or "")[:10]
    return f"- {sha} {one_line(str(commit.get('subject') or ''), 100)} ({commit.get('author')})"


def _state_line(state: Mapping[str, Any]) -> str:
    counts = state.get("counts") or {}
    daemon = "running" if state.get("daemon_running") else "not running"
    return (
        f"The daemon is {daemon}; {counts.get('runs', 0)} runs recorded"
        f" ({counts.get('failed_runs', 0)} failed), {counts.get('knowledge', 0)} knowledge"
        " entries."
    )


def _state_text(state: Mapping[str, Any]) -> str:
    parts = [_state_line(state)]
    failing = list(state.get("open_failures") or [])
    if failing:
        lines = ["Failing now:"]
        for f in failing[:5]:
            summary = f.get("summary") or "not triaged yet"
            lines.append(f"- `{f.get('command')}` ({f.get('event_id')}): {one_line(summary, 160)}")
        parts.append("\n".join(lines))
    else:
        parts.append("Nothing is failing now.")
    commands = [c for c in state.get("commands") or [] if c.get("status") == "passed"]
    if commands:
        parts.append(
            "Passing: "
            + ", ".join(f"`{c.get('command')}` ({c.get('event_id')})" for c in commands[:5])
            + "."
        )
    latest = state.get("latest_event")
    if isinstance(latest, Mapping):
        parts.append(
            f"Latest event: {latest.get('type')} at {latest.get('time')} ({latest.get('id')})."
        )
    return "\n\n".join(parts)
