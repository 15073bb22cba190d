"""Go: ``go test`` failures and panics, and compiler/vet diagnostics from build, vet and test.

* ``--- FAIL: TestAdd (0.00s)`` followed by indented ``calc_test.go:7: message`` lines;
  the test name (``TestAdd``, ``TestAdd/sub_case``) becomes ``test``.
* ``panic: message`` with a goroutine trace: the deepest frame in the user's code (Go lists the
  innermost frame first) gives the location; ``error_type`` is ``panic``. A panic that follows a
  ``--- FAIL`` block with no message of its own is merged into it.
* ``./main.go:9:17: message`` (build, vet and test build errors).
"""

from __future__ import annotations

import re
from bisect import bisect_left

from vigil.parsing.failure import Failure
from vigil.parsing.parsers.context import Context, Hit

_FAIL = re.compile(r"^\s*--- FAIL: (?P<test>\S+) \(")
_TEST_LOG = re.compile(r"^\s+(?P<file>[\w./-]+\.go):(?P<line>\d+): (?P<message>.*)$")
_COMPILE = re.compile(
    r"^(?P<file>(?:[A-Za-z]:)?[^\s:][^:]*\.go):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<message>.*)$"
)
_GOROUTINE_FRAME = re.compile(r"^\t(?P<file>\S+\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?$")
_MAX_TRACE = 400


def detect(ctx: Context) -> bool:
    """``--- FAIL:`` lines, panics with goroutines, or ``file.go:N:M:`` errors after ``# pkg``."""
    if ctx.ran("go", "gotestsum"):
        return True
    if ctx.has("FAIL") and ctx.has("--- FAIL:"):
        return True
    if ctx.has("anic") and ctx.has("panic: ") and ctx.has("goroutine "):
        return True
    return "go" in ctx.extensions and ctx.has("# ")


def parse(ctx: Context) -> list[Hit]:
    """Return test failures, panics and compile errors in output order."""
    hits = _test_failures(ctx) + _compile_errors(ctx)
    if "panic: " in ctx.text:
        hits = _merge_panics(ctx, hits)
    return hits


def _test_failures(ctx: Context) -> list[Hit]:
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with("--- FAIL: "):
        match = _FAIL.match(line)
        if match is None:
            continue
        indent = len(line) - len(line.lstrip())
        log = None
        for follow in range(index + 1, min(index + 50, len(lines))):
            text = lines[follow]
            if not text.startswith(" ") or len(text) - len(text.lstrip()) <= indent:
                break
            if text.lstrip().startswith("--- "):
                break
            log = _TEST_LOG.match(text)
            if log is not None:
                break
        if log is not None:
            failure = ctx.failure(
                "go",
                log["message"],
                file=log["file"],
                line=int(log["line"]),
                test=match["test"],
            )
        else:
            failure = ctx.failure("go", "test failed", test=match["test"])
        hits.append(Hit(index, failure))
    return hits


def _compile_errors(ctx: Context) -> list[Hit]:
    hits: list[Hit] = []
    for index, line in ctx.lines_with(".go:"):
        if line[:1] in " \t":
            continue
        match = _COMPILE.match(line)
        if match is None:
            continue
        column = match["col"]
        failure = ctx.failure(
            "go",
            match["message"],
            file=match["file"],
            line=int(match["line"]),
            column=int(column) if column else None,
        )
        hits.append(Hit(index, failure))
    return hits


def _merge_panics(ctx: Context, hits: list[Hit]) -> list[Hit]:
    lines = ctx.lines
    merged = sorted(hits, key=lambda hit: hit.line)
    test_lines = [hit.line for hit in merged]
    extra: list[Hit] = []
    for index, line in ctx.lines_with("panic: "):
        if not line.startswith("panic: "):
            continue
        message = line.removeprefix("panic: ").removesuffix(" [recovered]").strip()
        picked = ctx.pick_frame(_goroutine_frames(lines, index + 1))
        file, line_no = picked if picked is not None else (None, None)
        position = bisect_left(test_lines, index) - 1
        owner = merged[position] if position >= 0 else None
        if owner is not None and not _is_silent(owner.failure):
            owner = None
        test = owner.failure.test if owner is not None else None
        failure = ctx.failure("go", message, file=file, line=line_no, test=test, error_type="panic")
        if owner is not None:
            merged[position] = Hit(owner.line, failure)
        else:
            extra.append(Hit(index, failure))
    return merged + extra


def _goroutine_frames(lines: list[str], start: int) -> list[tuple[str, int | None]]:
    """Return the frames of the goroutine trace after a panic, outermost first."""
    frames: list[tuple[str, int | None]] = []
    in_trace = False
    for index in range(start, min(start + _MAX_TRACE, len(lines))):
        text = lines[index]
        if text.startswith("goroutine "):
            if in_trace:
                break
            in_trace = True
            continue
        if text.startswith(("FAIL", "exit status", "ok ")) or (in_trace and not text):
            break
        frame = _GOROUTINE_FRAME.match(text) if text.startswith("\t") else None
        if frame is not None:
            frames.append((frame["file"], int(frame["line"])))
    frames.reverse()
    return frames


def _is_silent(failure: Failure) -> bool:
    return failure.test is not None and failure.message == "test failed" and failure.file is None
