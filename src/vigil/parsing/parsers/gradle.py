"""Gradle: Kotlin and javac errors, failed tests, and the build's closing failure.

* Kotlin: ``e: file:///abs/Cart.kt:8:22 Unresolved reference 'pricez'.`` (Kotlin 1.8+) and
  ``e: /abs/Cart.kt: (8, 22): Unresolved reference: pricez`` (older).
* javac errors printed by ``:compileJava`` (``Cart.java:8: error: ...``), labelled ``gradle``.
* ``CartTest > totalAddsPrices() FAILED`` followed by ``    org.opentest4j.AssertionFailedError
  at CartTest.java:11`` (or the exception message and a stack with ``exceptionFormat full``).
* ``> Task :app:compileJava FAILED`` and ``* What went wrong:`` are weak hits.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit
from vigil.parsing.parsers.javac import parse_java_errors
from vigil.parsing.parsers.jvm_stack import user_frame_of

_KOTLIN = re.compile(
    r"^e: (?:file://)?(?P<file>.+?\.kts?):(?P<line>\d+):(?P<col>\d+) (?P<message>.*)$"
)
_KOTLIN_OLD = re.compile(
    r"^e: (?P<file>.+?\.kts?): \((?P<line>\d+), (?P<col>\d+)\): (?P<message>.*)$"
)
_TEST = re.compile(r"^(?P<owner>[\w.$]+) > (?P<name>.+) FAILED$")
_SHORT_EXCEPTION = re.compile(
    r"^\s+(?P<type>[\w.$]+)(?: at (?P<file>[\w$-]+\.\w+):(?P<line>\d+)|: (?P<message>.*))?$"
)
_TASK = re.compile(r"^> Task (?P<task>:\S+) FAILED$")
_SIGNATURES = ("> Task :", "BUILD FAILED", "FAILURE: Build failed", "e: file://")


def detect(ctx: Context) -> bool:
    """Gradle's task lines and build banners, or gradle in the command hint."""
    if ctx.ran("gradle", "gradlew", "gradlew.bat") or ctx.has("> Task :"):
        return True
    return ctx.has("FAIL") and ctx.has("FAILURE: Build failed")


def parse(ctx: Context) -> list[Hit]:
    """Return compile errors and failed tests, plus the task/what-went-wrong lines as weak."""
    hits = parse_java_errors(ctx, "gradle") + _kotlin(ctx) + _tests(ctx)
    return hits + _closing(ctx)


def _kotlin(ctx: Context) -> list[Hit]:
    hits: list[Hit] = []
    for index, line in ctx.lines_with("e: "):
        if not line.startswith("e: "):
            continue
        match = _KOTLIN.match(line) or _KOTLIN_OLD.match(line)
        if match is None:
            continue
        failure = ctx.failure(
            "gradle",
            match["message"],
            file=match["file"],
            line=int(match["line"]),
            column=int(match["col"]),
            error_type="kotlin",
        )
        hits.append(Hit(index, failure))
    return hits


def _tests(ctx: Context) -> list[Hit]:
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with(" FAILED"):
        match = _TEST.match(line)
        if match is None or line.startswith("> Task"):
            continue
        name = match["name"]
        if name.endswith("()"):
            name = name[:-2]
        test = f"{match['owner']}.{name}"
        error_type, message, file, line_no = None, "test failed", None, None
        source = None
        if index + 1 < len(lines):
            exception = _SHORT_EXCEPTION.match(lines[index + 1])
            if exception is not None:
                error_type = exception["type"].rsplit(".", 1)[-1]
                message = exception["message"] or error_type
                if exception["file"]:
                    file, line_no = exception["file"], int(exception["line"])
                else:
                    frame, _ = user_frame_of(lines, index + 2)
                    if frame is not None:
                        file, line_no, source = frame.file, frame.line, frame.source
        failure = ctx.failure(
            "gradle", message, file=file, line=line_no, test=test, error_type=error_type
        )
        hits.append(Hit(index, failure, source=source))
    return hits


def _closing(ctx: Context) -> list[Hit]:
    lines = ctx.lines
    hits: list[Hit] = []
    for index, _ in ctx.lines_with("* What went wrong:"):
        parts: list[str] = []
        for follow in range(index + 1, min(index + 6, len(lines))):
            text = lines[follow].strip()
            if not text or text.startswith("* "):
                break
            parts.append(text.lstrip("> ").strip())
        if parts:
            hits.append(Hit(index, ctx.failure("gradle", " ".join(parts)), weak=True))
    if not hits:
        for index, line in ctx.lines_with(" FAILED"):
            task = _TASK.match(line)
            if task is not None:
                failure = ctx.failure("gradle", f"Task {task['task']} failed")
                hits.append(Hit(index, failure, weak=True))
    return hits
