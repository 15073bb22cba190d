"""What the rules say about a diagnosis: its likeliest cause, and the next step that follows.

A triage enrichment is read right under the diagnosis, which already shows the error line, the
known fixes and the suspects. So the enrichment adds what the diagnosis does not say: which of
those facts most likely explains the failure, and what to do about that one fact. Rules:

- The explanation never restates the error line: it names the cause (a file, a name, a fix's id)
  and why it is the likeliest one, in its own words.
- A known fix's title is never presented as the problem: titles are written by whoever made the
  change ("Fixed by changing cart.py", a commit subject), so a fix is named by its id and what
  it changed; its title appears only in the next step, as the fix to apply.
- Only a fix matched by fingerprint (the same failure, seen before) is ever called the cause. A
  fix that matched by text similarity is a lead, not a cause: the diagnosis shows it already.
- The cause and the next step agree: each :class:`Cause` names one ``subject`` (a fix id, a
  file, a name, a location) and both sentences are about it.

Causes, strongest evidence first (:func:`causes`; :func:`enrichment` takes the first):

1. ``known_fix``: a knowledge entry linked to this failure's fingerprint (a fix: apply it again).
2. ``flaky``: the same failure also passed on an unchanged tree (re-run; find what varies).
3. ``suspect``: a file changed since the last green run that the failure points at (named by
   the failure, the code a failing test is named after, mentioned in the output), or the only
   file that changed (review that change, with the git command that shows it).
4. ``error``: what the kind of error says (an undefined name, a missing module, a link error, a
   type mismatch, a failed assertion...), at the failure's location.

The embedded model, where it is enabled, picks one of :func:`causes` (each a whole cause with
its own next step), so whatever it picks is true and agrees with itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

EXPLANATION_CHARS = 300
NEXT_STEP_CHARS = 200


@dataclass(frozen=True, slots=True)
class Cause:
    """One possible cause: what both sentences are about, and the two sentences."""

    kind: str  # known_fix | flaky | suspect | error | unknown
    subject: str  # the fix id, path, name or location both sentences name ("" when none)
    explanation: str
    next_step: str


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _where(failure: Mapping[str, Any]) -> str:
    """The failure's location: file:line, the file, else the test (``""`` when none)."""
    file, line = failure.get("file"), failure.get("line")
    if file and line:
        return f"{file}:{line}"
    if file:
        return str(file)
    return f"`{failure['test']}`" if failure.get("test") else ""


# -- known fixes ---------------------------------------------------------------------------------


def _fix_cause(fix: Mapping[str, Any]) -> Cause:
    fix_id = str(fix.get("id") or "")
    kind = str(fix.get("kind") or "fix")
    status = str(fix.get("status") or "active")
    confidence = fix.get("confidence")
    facts = [status] + ([f"confidence {float(confidence):.2f}"] if confidence is not None else [])
    files = [str(f) for f in fix.get("files") or [] if f][:3]
    title = _one_line(str(fix.get("title") or ""), 80)
    if kind == "fix":
        changed = f": it changed {', '.join(files)}" if files else ""
        explanation = (
            f"This exact failure was fixed before: {fix_id} ({', '.join(facts)}){changed}."
        )
        named = f' ("{title}")' if title else ""
        next_step = f"Apply fix {fix_id}{named} again; `vigil kb show {fix_id}` shows it."
    else:
        explanation = f"Vigil's knowledge has a {kind} linked to this exact failure: {fix_id}."
        next_step = f"Read {kind} {fix_id} (`vigil kb show {fix_id}`) before changing the code."
    return Cause("known_fix", fix_id, explanation, next_step)


# -- suspects ------------------------------------------------------------------------------------


def _linked(reason: str) -> str | None:
    """How a suspect's reason ties it to the failure, or None when it does not."""
    if reason.startswith("named by the failure"):
        return "the failure is in that file"
    if reason.startswith("the code a failing test is named after"):
        return "the failing test is named after it"
    if reason.startswith("mentioned in the output"):
        return "the output mentions it"
    return None


def _review(suspect: Mapping[str, Any]) -> tuple[str, str]:
    """(how it changed, the git command that shows the change)."""
    path = str(suspect.get("path"))
    commits = [str(c) for c in suspect.get("commits") or [] if c]
    if suspect.get("committed") and commits:
        sha = commits[0][:10]
        return f"commit {sha}", f"git show {sha} -- {path}"
    if suspect.get("committed"):
        return "committed", f"git log -p -1 -- {path}"
    return "not committed yet", f"git diff HEAD -- {path}"


_AT_LINE = re.compile(r"^named by the failure at .+:(\d+)$")


def _suspect_cause(suspect: Mapping[str, Any], why: str) -> Cause:
    path = str(suspect.get("path"))
    how, command = _review(suspect)
    explanation = (
        f"Likely cause: the change to {path} since the last green run ({how}); {why}."
        if why != "only"
        else f"Likely cause: the change to {path}, the only file changed since the last green"
        f" run ({how})."
    )
    lines = [m.group(1) for r in suspect.get("reasons") or [] if (m := _AT_LINE.match(str(r)))]
    near = f" around line {lines[0]}" if lines else ""
    return Cause("suspect", path, explanation, f"Review that change to {path}{near}: `{command}`.")


def _suspect_causes(suspects: Sequence[Mapping[str, Any]]) -> list[Cause]:
    found: list[Cause] = []
    for suspect in suspects[:3]:
        reasons = [str(r) for r in suspect.get("reasons") or []]
        why = next((w for w in map(_linked, reasons) if w), None)
        if why is None and len(suspects) == 1:
            why = "only"
        if why is not None and suspect.get("path"):
            found.append(_suspect_cause(suspect, why))
    return found


# -- what the kind of error says -----------------------------------------------------------------

_QUOTES = "`'\"\u2018\u2019\u201c\u201d"  # ASCII quotes and typographic ones (gcc's)
_QUOTED = re.compile(f"[{_QUOTES}]([^{_QUOTES}\\s]{{1,60}})[{_QUOTES}]")
_AFTER = re.compile(
    r"(?:undefined:|symbol:\s*(?:variable|method|class|function)?|reference to|named|"
    rf"reference)\s+[{_QUOTES}]?([A-Za-z_$][\w.$:/-]{{0,60}})",
    re.IGNORECASE,
)


def _name(message: str) -> str:
    """The identifier, module or file an error message is about, if it names one."""
    for pattern in (_AFTER, _QUOTED):
        match = pattern.search(message)
        if match:
            return match.group(1).strip(".,;:")
    return ""


# (kind, pattern over "error_type message", explanation, next step). Placeholders: {where} the
# location ("" when unknown: see _error_cause), {name} what the message names, {test} the test.
_ERRORS: tuple[tuple[str, re.Pattern[str], str, str], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE), explanation, step)
    for kind, pattern, explanation, step in (
        (
            "missing_script",
            r"missing script",
            "the command runs a script, {name}, that package.json does not define (a typo, or"
            " a script never added)",
            "Compare {name} with the scripts in package.json; fix the command or add the script",
        ),
        (
            "link",
            r"undefined reference|undefined symbols?|unresolved external|ld returned",
            "everything compiled, but the link step has no definition of {name}{used}: the"
            " source file or library that defines it is not linked",
            "Add the source file or library that defines {name} to the link step",
        ),
        (
            "missing_module",
            r"modulenotfound|no module named|cannot find module|importerror|cannot find package",
            "{name} cannot be imported{at}: it is not installed where the command runs, or the"
            " import names it wrongly",
            "Install {name} in the environment the command runs in, or fix the import{at}",
        ),
        (
            "bad_json",
            r"jsondecodeerror|expecting property name|in json|invalid json",
            "the data the code parses{at} is not valid JSON (single quotes, a trailing comma and"
            " an empty file are the usual suspects)",
            "Open the JSON input read{at} and make it valid JSON",
        ),
        (
            "missing_file",
            r"filenotfound|enoent|no such file",
            "the code{at} opens a file that does not exist (a wrong path, or a file that was"
            " never created)",
            "Create that file, or fix the path the code{at} opens",
        ),
        (
            "unused",
            r"unused|never used|not used|f401|f841",
            "{name} is imported or assigned{at} but never used, which {tool} rejects",
            "Remove {name}{at}, or use it",
        ),
        (
            "undefined_name",
            r"nameerror|undeclared|undefined:|is not defined|cannot find symbol|unresolved"
            r" reference|not found in this scope|cannot find name",
            "{where} uses {name}, which is not declared there: a misspelt name, or a missing"
            " import or declaration",
            "At {where}, correct the spelling of {name}, or declare or import it before use",
        ),
        (
            "type",
            r"typeerror|mismatched types|e0308|ts2322|not assignable|incompatible type|arg-type|"
            r"wrong type",
            "at {where} a value's type is not the one that place expects (an argument, an"
            " assignment or a return value)",
            "At {where}, convert the value or correct the declared type so the two agree",
        ),
        (
            "syntax",
            r"syntaxerror|indentationerror|parse error|unexpected token|expected ';'",
            "{where} does not parse",
            "Fix the syntax at {where}: the mistake is on that line or just before it",
        ),
        (
            "missing_value",
            r"indexerror|keyerror|index out of range|nullpointer|nonetype|cannot read propert|"
            r"nil pointer|attributeerror",
            "at {where} the code reads an element, key or attribute that is not there at run"
            " time (an empty collection, a missing key, a null)",
            "At {where}, find which value is empty or missing, and handle that case or fix what"
            " produced it",
        ),
        (
            "assertion",
            r"assert|expected|want |tobe|toequal|but was|!=|left == right|received",
            "at {where} the code under test returns a different value than {test} expects",
            "At {where}, compare the expected and the actual value: either the code or the"
            " expectation is wrong",
        ),
        (
            "build_step",
            r"error \d+|exit status|returned non-zero|non-zero exit",
            "a command the build runs{at} exits with an error; that command's own output, above,"
            " says why",
            "Run that command{at} by hand to see its own error",
        ),
    )
)


def _error_cause(failure: Mapping[str, Any]) -> Cause:
    where = _where(failure)
    message = str(failure.get("message") or "")
    text = f"{failure.get('error_type') or ''} {message}"
    name = _name(message)
    tool = str(failure.get("tool") or "the tool")
    for kind, pattern, explanation, step in _ERRORS:
        if not pattern.search(text):
            continue
        if "{where}" in explanation + step and not where:
            continue  # this wording needs a location the output did not give
        if "{name}" in explanation + step and not name:
            continue
        values = {
            "where": where,
            "at": f" at {where}" if where else "",
            "used": f" (used in {where})" if where else "",
            "name": f"`{name}`" if name else "",
            "test": f"`{failure.get('test')}`" if failure.get("test") else "the test",
            "tool": tool,
        }
        said = "Likely cause: " + explanation.format(**values) + "."
        todo = step.format(**values) + "."
        # What both sentences name: the location when both do, else the name.
        both = [x for x in (where, values["name"]) if x and x in said and x in todo]
        return Cause(kind, both[0] if both else where, said, todo)
    if where:
        return Cause(
            "unknown",
            where,
            f"Likely cause: unknown; no known fix, recent change or familiar error points"
            f" anywhere but {where}.",
            f"Open {where} and start from the first error the command printed.",
        )
    return Cause(
        "unknown",
        "",
        "Likely cause: unknown; the output names no file, and no known fix or recent change"
        " points at one.",
        "Read the command's output from its first error; `vigil why` shows what was parsed.",
    )


# -- putting it together -------------------------------------------------------------------------


def causes(diagnosis: Mapping[str, Any]) -> list[Cause]:
    """Every cause the diagnosis supports, strongest evidence first (never empty)."""
    failures = _items(diagnosis.get("failures"))
    first = failures[0] if failures else {}
    found: list[Cause] = []
    for fix in _items(diagnosis.get("known_fixes")):
        if fix.get("match") == "fingerprint" and fix.get("status") != "rejected":
            found.append(_fix_cause(fix))
        if len(found) == 2:
            break
    history = diagnosis.get("history")
    if isinstance(history, Mapping) and history.get("flaky"):
        what = f"`{first.get('test')}`" if first.get("test") else "It"
        place = _where(first) or "the test"
        found.append(
            Cause(
                "flaky",
                place,
                f"{what} looks flaky, not broken: the same failure also passed on this unchanged"
                f" tree{f' ({place})' if place != what else ''}.",
                f"Re-run it to confirm, then look at {place} for what varies between runs"
                " (order, time, randomness, shared state).",
            )
        )
    suspects = _items(diagnosis.get("suspects"))
    found += _suspect_causes(suspects)
    if failures:
        error = _error_cause(first)
        unlinked = [s for s in suspects if not any(c.subject == s.get("path") for c in found)]
        if unlinked and not any(c.kind == "suspect" for c in found):
            count = len(unlinked)
            error = Cause(
                error.kind,
                error.subject,
                f"{error.explanation} {count} file{'s' * (count != 1)} changed since the last"
                f" green run, none linked to this failure.",
                error.next_step,
            )
        found.append(error)
    elif not found:
        found.append(
            Cause(
                "unknown",
                "",
                "No known failure pattern was found in the output, so Vigil cannot say what"
                " failed or why.",
                "Read the last error lines of the command's output.",
            )
        )
    return [
        Cause(
            c.kind,
            c.subject,
            _one_line(c.explanation, EXPLANATION_CHARS),
            _one_line(c.next_step, NEXT_STEP_CHARS),
        )
        for c in found
    ]


_HEADLINES = {
    "known_fix": "fix {subject}, recorded for this exact failure",
    "flaky": "a flaky test ({subject})",
    "suspect": "the change to {subject} since the last green run",
    "missing_script": "a package.json script that does not exist ({subject})",
    "link": "a definition missing at link time ({subject})",
    "missing_module": "a module that cannot be imported ({subject})",
    "bad_json": "invalid JSON input ({subject})",
    "missing_file": "a file that does not exist ({subject})",
    "unused": "an unused import or variable ({subject})",
    "undefined_name": "an undeclared name ({subject})",
    "type": "a type mismatch ({subject})",
    "syntax": "a syntax error ({subject})",
    "missing_value": "a missing element, key or value ({subject})",
    "assertion": "the code returns what the test does not expect ({subject})",
    "build_step": "a build command that fails ({subject})",
}


def headline(cause: Cause) -> str:
    """A few words for ``cause`` (what a small model reads when it picks one: prompt length is
    what costs time on a laptop CPU)."""
    template = _HEADLINES.get(cause.kind)
    if template is None or not cause.subject:
        return "an unknown cause" if cause.kind == "unknown" else cause.kind.replace("_", " ")
    return template.format(subject=cause.subject)


def enrichment(diagnosis: Mapping[str, Any]) -> tuple[str, str]:
    """The explanation and next step the rules give: the strongest cause's."""
    cause = causes(diagnosis)[0]
    return cause.explanation, cause.next_step
