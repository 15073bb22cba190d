"""``parse_output``: from a run's raw output to failures with fingerprints.

1. Clean: ANSI escapes and ``\\r`` progress redraws go (``ansi.clean_output``).
2. Detect: each parser's ``detect`` runs cheap substring checks on the whole text and the command
   hint; only detected parsers run, minus those suppressed by another detected tool.
3. Parse and choose: strong hits win; weak hits (a wrapper's "recipe failed") are used only when
   there is no strong one; when there is neither, the generic fallback guesses (best first).
4. Place each failure where the project has it (``place``: make's directories, JVM source roots,
   manifests), dedupe on (file, line, column, test, error type, message), and fingerprint each
   failure as parsed, before placing, so where it is shown never changes its fingerprint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from vigil.errors import InputError
from vigil.parsing.ansi import clean_output
from vigil.parsing.failure import Failure, ParseResult
from vigil.parsing.fingerprint import failure_fingerprint, run_fingerprint
from vigil.parsing.parsers import PARSERS, Context, Hit, generic
from vigil.parsing.place import Placer


def parse_output(text: str, *, cwd: str | None = None, command: str | None = None) -> ParseResult:
    """Parse a build/test run's combined output into failures, tools and a run fingerprint."""
    if not isinstance(text, str):
        raise InputError("build output must be text", got=type(text).__name__)
    ctx = Context(clean_output(text), cwd=cwd, command=command)
    detected = [spec for spec in PARSERS if spec.detect(ctx)]
    present = {spec.tool for spec in detected}
    active = [spec for spec in detected if present.isdisjoint(spec.suppressed_by)]
    tools = [spec.tool_for(ctx) for spec in active]
    hits: list[Hit] = []
    for spec in active:
        hits.extend(spec.parse(ctx))
    chosen = [hit for hit in hits if not hit.weak] or hits
    chosen.sort(key=lambda hit: hit.line)
    if not chosen:
        chosen = generic.parse(ctx)
        if chosen:
            tools.append("generic")
    failures = _place(ctx, chosen)
    return ParseResult(
        failures=failures,
        tools=tuple(dict.fromkeys(tools)),
        fingerprint=run_fingerprint(failure.fingerprint for failure in failures),
    )


def _place(ctx: Context, hits: Iterable[Hit]) -> tuple[Failure, ...]:
    placer: Placer | None = None
    unique: dict[tuple[object, ...], Failure] = {}
    for hit in hits:
        if placer is None:
            placer = Placer(ctx)
        parsed = hit.failure
        failure = placer.place(hit)
        key = (
            failure.file,
            failure.line,
            failure.column,
            failure.test,
            failure.error_type,
            failure.message,
        )
        if key not in unique:
            unique[key] = replace(failure, fingerprint=failure_fingerprint(parsed))
    return tuple(unique.values())
