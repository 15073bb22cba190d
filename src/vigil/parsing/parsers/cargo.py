"""Rust: rustc diagnostics (through cargo or not) and test panics.

* ``error[E0308]: mismatched types`` followed by `` --> src/main.rs:3:5``; the code becomes
  ``error_type``. Errors without a code or a location are kept unless they only summarise
  (``could not compile``, ``aborting due to``, ``test failed, to rerun``). Warnings are skipped.
* ``thread 'tests::it' panicked at src/lib.rs:10:5:`` with the message on the next line(s)
  (Rust 1.73+; newer versions add the thread id: ``thread 'x' (8061) panicked at``), and the
  older ``thread 'x' panicked at 'message', src/lib.rs:10:5``; ``error_type`` is ``panic`` and
  the thread name is the test id (unless it is ``main``).

The tool is ``cargo`` when cargo's own lines are present (``Compiling``, ``test result:``,
``could not compile``) or the command was cargo; otherwise ``rustc``.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

_ERROR = re.compile(r"^error(?:\[(?P<code>E\d{4})\])?: (?P<message>.*)$")
_ARROW = re.compile(r"^\s*--> (?P<file>.+?):(?P<line>\d+):(?P<col>\d+)$")
_PANIC = re.compile(
    r"^thread '(?P<thread>[^']*)'(?: \(\d+\))? panicked at "
    r"(?:'(?P<old>.*)', )?(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+):?$"
)
_SUMMARIES = (
    "could not compile",
    "aborting due to",
    "test failed, to rerun",
    "build failed",
    "Some errors have detailed explanations",
    "For more information about",
)
# cargo's own errors about the manifest and its dependencies (no rustc code, no location).
_MANIFEST_MARKERS = ("required by package `", "failed to parse manifest", "Cargo.toml", "crates.io")
_CARGO_LINES = (
    "   Compiling ",
    "test result:",
    "could not compile",
    "     Running ",
    "Finished `",
    "required by package `",
    "Cargo.toml",
)


def detect(ctx: Context) -> bool:
    """rustc's ``error[E…]``/``-->`` diagnostics or a thread panic."""
    if ctx.ran("cargo", "rustc", "cargo-nextest"):
        return True
    if ctx.has("anic") and ctx.has(" panicked at "):
        return True
    if not ctx.has("rror"):
        return False
    if ctx.has_error("error[E") or ("rs" in ctx.extensions and ctx.has(" --> ")):
        return True
    return ctx.has_error("error: ") and any(ctx.has(marker) for marker in _MANIFEST_MARKERS)


def tool_name(ctx: Context) -> str:
    """Return ``cargo`` when cargo drove the build, else ``rustc``."""
    if ctx.ran("cargo", "cargo-nextest"):
        return "cargo"
    if ctx.ran("rustc"):
        return "rustc"
    return "cargo" if any(marker in ctx.text for marker in _CARGO_LINES) else "rustc"


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per compile error and per panicking test."""
    tool = tool_name(ctx)
    return _errors(ctx, tool) + _panics(ctx, tool)


def _errors(ctx: Context, tool: str) -> list[Hit]:
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with("error"):
        if not line.startswith("error"):
            continue
        match = _ERROR.match(line)
        if match is None:
            continue
        message = match["message"]
        location = None
        for follow in range(index + 1, min(index + 4, len(lines))):
            location = _ARROW.match(lines[follow])
            if location is not None:
                break
            if lines[follow].startswith(("error", "warning")):
                break
        if location is None and (match["code"] is None and message.startswith(_SUMMARIES)):
            continue
        failure = ctx.failure(
            tool,
            message,
            file=location["file"] if location else None,
            line=int(location["line"]) if location else None,
            column=int(location["col"]) if location else None,
            error_type=match["code"],
        )
        hits.append(Hit(index, failure))
    return hits


def _panics(ctx: Context, tool: str) -> list[Hit]:
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with(" panicked at "):
        match = _PANIC.match(line)
        if match is None:
            continue
        message = match["old"] or _panic_message(lines, index + 1)
        thread = match["thread"]
        failure = ctx.failure(
            tool,
            message,
            file=match["file"],
            line=int(match["line"]),
            column=int(match["col"]),
            test=None if thread == "main" else thread,
            error_type="panic",
        )
        hits.append(Hit(index, failure))
    return hits


def _panic_message(lines: list[str], start: int) -> str:
    parts: list[str] = []
    for index in range(start, min(start + 4, len(lines))):
        line = lines[index]
        if not line.strip() or line.startswith(("note:", "stack backtrace:")):
            break
        stripped = line.strip()
        if parts and not stripped.startswith(("left:", "right:")):
            break
        parts.append(stripped)
    if not parts:
        return "panicked"
    head, details = parts[0], parts[1:]
    return f"{head} ({', '.join(details)})" if details else head
