"""C/C++ compilers (gcc, clang): ``parse.c:6:19: error: message``.

Only errors count (``error:``, ``fatal error:``); warnings and notes are context. A
``[-Werror=flag]`` suffix becomes ``error_type`` (``fatal error`` for fatal ones). The tool is
``clang`` when clang's own lines show (``N errors generated.``, ``clang: error:``) or the
command was clang; otherwise ``gcc``.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

_EXTENSIONS = frozenset({"c", "h", "cc", "cp", "cpp", "cxx", "hpp", "hh", "hxx", "m", "mm", "cu"})
_DIAGNOSTIC = re.compile(
    r"^(?P<file>(?:[A-Za-z]:)?[^\s:][^:]*?\."
    r"(?:c|h|cc|cp|cpp|cxx|c\+\+|C|H|hpp|hh|hxx|inl|ipp|tpp|m|mm|cu|i|ii|s|S))"
    r":(?P<line>\d+):(?:(?P<col>\d+):)? (?P<severity>fatal error|error): (?P<message>.*?)"
    r"(?: \[(?P<flag>-W[\w=+-]+)\])?$"
)


def detect(ctx: Context) -> bool:
    """``error:`` next to a C-family file location, or a compiler in the command hint."""
    if ctx.ran("gcc", "g++", "cc", "c++", "clang", "clang++"):
        return True
    if not ctx.has("rror") or ctx.extensions.isdisjoint(_EXTENSIONS):
        return False
    return ctx.has_error("error: ")


def tool_name(ctx: Context) -> str:
    """Return ``clang`` or ``gcc``, from the command hint or clang's own summary lines."""
    if ctx.ran("clang", "clang++"):
        return "clang"
    if ctx.ran("gcc", "g++"):
        return "gcc"
    clang = (
        ctx.has(" generated.") or ctx.has_error("clang: error:") or ctx.has_error("clang++: error:")
    )
    return "clang" if clang else "gcc"


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per compiler error."""
    tool = tool_name(ctx)
    hits: list[Hit] = []
    for index, line in ctx.lines_with("error: "):
        match = _DIAGNOSTIC.match(line)
        if match is None:
            continue
        column = match["col"]
        severity = match["severity"]
        failure = ctx.failure(
            tool,
            match["message"],
            file=match["file"],
            line=int(match["line"]),
            column=int(column) if column else None,
            error_type=match["flag"] or ("fatal error" if severity == "fatal error" else None),
        )
        hits.append(Hit(index, failure))
    return hits
