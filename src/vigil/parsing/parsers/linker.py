"""Linkers: GNU ld / gold / lld / Apple ld64 errors, reported with tool ``ld``.

* ``main.c:(.text+0xf): undefined reference to `checksum'`` (GNU; with ``-g`` the location is
  ``main.c:6``), error type ``undefined reference``; ``multiple definition of`` likewise.
* ``ld.lld: error: undefined symbol: checksum`` with ``>>> referenced by main.c:6``.
* ld64's ``Undefined symbols for architecture arm64:`` then ``  "_checksum", referenced from:``.
* ``cannot find -lfoo``.

The drivers' closing lines (``collect2: error: ld returned 1 exit status``, ``clang: error:
linker command failed``) are weak hits, used only when nothing better was found.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

_GNU = re.compile(
    r"^(?:\S*ld(?:\.\w+)?: )?(?P<where>[^:\s][^:]*?(?::\d+)?(?::\(.*?\))?): "
    r"(?P<kind>undefined reference|multiple definition) (?:to|of) "
    r"[`'\u2018](?P<symbol>[^`'\u2019]+)['`\u2019].*$"
)
_WHERE = re.compile(r"^(?P<file>[^:(]+?)(?::(?P<line>\d+))?(?::\(.*\))?$")
_LLD = re.compile(
    r"^\S*ld(?:\.lld)?: error: (?P<kind>undefined symbol|duplicate symbol): (?P<symbol>.+)$"
)
_LLD_REF = re.compile(r"^>>> (?:referenced by|defined at) (?P<file>[^:\s]+):(?P<line>\d+)")
_LD64_SYMBOL = re.compile(r'^\s+"(?P<symbol>[^"]+)", referenced from:')
_MISSING_LIB = re.compile(
    r"^\S*ld(?:\.\w+)?: (?:error: )?(?:cannot find|unable to find library) (?P<lib>-l\S+)"
)
_DRIVER = ("collect2: error: ld returned", "linker command failed", "error: ld returned")
# gcc's collect2, clang's driver, and lld print one of these whenever a link fails.
_CLOSINGS = ("error: ld returned", "error: linker command failed", "lld: error:")
_OBJECT_SUFFIXES = (".o", ".obj", ".a", ".so", ".lib", ".dylib")


def detect(ctx: Context) -> bool:
    """The compiler driver's closing line of a failed link (or ld in the command hint)."""
    if ctx.ran("ld", "ld.lld", "lld"):
        return True
    if not ctx.has("rror"):
        return False
    return any(ctx.has_error(closing) for closing in _CLOSINGS)


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per missing/duplicate symbol or library; the driver's line as weak."""
    text = ctx.text
    hits: list[Hit] = []
    if "undefined reference" in text or "multiple definition" in text:
        hits.extend(_gnu(ctx))
    if "undefined symbol: " in text or "duplicate symbol: " in text:
        hits.extend(_lld(ctx))
    if "Undefined symbols for architecture" in text:
        hits.extend(_ld64(ctx))
    if "cannot find -l" in text or "unable to find library" in text:
        for index, line in ctx.lines_with(" -l"):
            match = _MISSING_LIB.match(line)
            if match is not None:
                message = f"cannot find {match['lib']}"
                failure = ctx.failure("ld", message, error_type="cannot find library")
                hits.append(Hit(index, failure))
    for marker in _DRIVER:
        for index, line in ctx.lines_with(marker):
            weak = ctx.failure("ld", line.strip(), error_type="link failed")
            hits.append(Hit(index, weak, weak=True))
    return hits


def _gnu(ctx: Context) -> list[Hit]:
    hits: list[Hit] = []
    for needle in ("undefined reference", "multiple definition"):
        for index, line in ctx.lines_with(needle):
            match = _GNU.match(line)
            if match is None:
                continue
            file, line_no = _source_of(match["where"])
            kind = match["kind"]
            joiner = "to" if kind == "undefined reference" else "of"
            message = f"{kind} {joiner} `{match['symbol']}'"
            failure = ctx.failure("ld", message, file=file, line=line_no, error_type=kind)
            hits.append(Hit(index, failure))
    return hits


def _source_of(where: str) -> tuple[str | None, int | None]:
    match = _WHERE.match(where)
    if match is None:
        return None, None
    file = match["file"].strip()
    if file.endswith(_OBJECT_SUFFIXES) or file.startswith("/tmp/cc"):
        return None, None
    return file, int(match["line"]) if match["line"] else None


def _lld(ctx: Context) -> list[Hit]:
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with(" symbol: "):
        match = _LLD.match(line)
        if match is None:
            continue
        file, line_no = None, None
        for follow in range(index + 1, min(index + 4, len(lines))):
            ref = _LLD_REF.match(lines[follow])
            if ref is not None:
                file, line_no = ref["file"], int(ref["line"])
                break
        message = f"{match['kind']}: {match['symbol']}"
        failure = ctx.failure("ld", message, file=file, line=line_no, error_type=match["kind"])
        hits.append(Hit(index, failure))
    return hits


def _ld64(ctx: Context) -> list[Hit]:
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with("Undefined symbols for architecture"):
        header = line.strip().rstrip(":")
        for follow in range(index + 1, min(index + 200, len(lines))):
            symbol = _LD64_SYMBOL.match(lines[follow])
            if symbol is not None:
                message = f'{header}: "{symbol["symbol"]}"'
                failure = ctx.failure("ld", message, error_type="undefined symbol")
                hits.append(Hit(follow, failure))
            elif lines[follow] and not lines[follow].startswith((" ", "\t")):
                break
    return hits
