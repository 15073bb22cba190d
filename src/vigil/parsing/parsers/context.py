"""What every parser reads (``Context``), what it returns (``Hit``) and how it is registered.

A parser is a plain function ``parse(ctx) -> list[Hit]`` plus a cheap ``detect(ctx) -> bool``
that looks at the whole text with substring checks (and the command hint) before any regex runs.

Each full-text substring scan costs about 0.2 ms on a 10,000-line log on the target machine, so
detectors share them: ``Context.has`` remembers every answer, detectors test a few common gates
first (``"rror"`` covers error/Error, ``"ERR"``, ``"FAIL"``, ``"anic"``) and only then their own
signatures (``Context.has_error`` searches only the lines holding "rror" for needles that contain
it), and ``Context.extensions`` finds every ``.ext:<digit>`` source location in one scan.
``Hit.line`` is the index of the output line where the failure is reported, so hits from several
parsers can be put back in the order they appear. A *weak* hit is a wrapper's summary (``make:
***``, ``npm error command failed``, maven's ``Failed to execute goal``): it is kept only when
no parser found anything more specific.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from vigil.parsing.failure import Failure
from vigil.parsing.location import is_library_path, is_under, relative_to_cwd


@dataclass(frozen=True, slots=True)
class Hit:
    """A failure found at output line ``line``; ``weak`` marks a wrapper's summary.

    ``source`` is a path to look for under the project's source roots when the tool printed only
    a file name (a JVM frame's ``shop/CartTest.java`` for ``CartTest.java``).
    """

    line: int
    failure: Failure
    weak: bool = False
    source: str | None = None


_SOURCE_LOCATION = re.compile(
    r"\.(pyi?|go|rs|java|kts?|scala|c|h|cc|cp|cpp|cxx|hpp|hh|hxx|m|mm|cu|ts|tsx|mts|cts|js|jsx|mjs"
    r"|cjs):\d"
)


_MAX_ERROR_LINES = 200
_EVERYTHING = "\x00all"


class Context:
    """The cleaned output of one run, the directory it ran in, and the command that ran."""

    __slots__ = (
        "_error_text",
        "_extensions",
        "_from_absolute",
        "_lines",
        "_seen",
        "command",
        "command_words",
        "cwd",
        "text",
    )

    def __init__(self, text: str, *, cwd: str | None = None, command: str | None = None) -> None:
        self.text = text
        self.cwd = cwd
        self.command = command or ""
        words = set()
        for token in self.command.split():
            base = token.replace("\\", "/").rsplit("/", 1)[-1]
            words.add(base.removesuffix(".exe").removesuffix(".cmd"))
        self.command_words = frozenset(words)
        self._lines: list[str] | None = None
        self._seen: dict[str, bool] = {}
        self._extensions: frozenset[str] | None = None
        self._error_text: str | None = None
        self._from_absolute: set[str] = set()

    def has(self, needle: str) -> bool:
        """Return whether ``needle`` occurs in the text (each needle is scanned for once)."""
        found = self._seen.get(needle)
        if found is None:
            found = needle in self.text
            self._seen[needle] = found
        return found

    def has_error(self, needle: str) -> bool:
        """Return whether ``needle`` (which must contain ``"rror"``) occurs in the text.

        Only lines holding ``"rror"`` can contain such a needle, so when there are few of them
        the search runs on those lines alone instead of the whole text.
        """
        if self._error_text is None:
            self._error_text = self._error_lines()
        if self._error_text is _EVERYTHING:
            return self.has(needle)
        return needle in self._error_text

    def _error_lines(self) -> str:
        if not self.has("rror"):
            return ""
        found: list[str] = []
        for _, line in self.lines_with("rror"):
            found.append(line)
            if len(found) > _MAX_ERROR_LINES:
                return _EVERYTHING
        return "\n".join(found)

    @property
    def extensions(self) -> frozenset[str]:
        """Source-file extensions that appear as ``name.ext:<digit>`` anywhere in the text."""
        if self._extensions is None:
            self._extensions = frozenset(_SOURCE_LOCATION.findall(self.text))
        return self._extensions

    @property
    def lines(self) -> list[str]:
        """The output split into lines (computed once, on first use)."""
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    def ran(self, *names: str) -> bool:
        """Return True when the command hint names any of ``names`` (``npx tsc`` ran ``tsc``)."""
        return not self.command_words.isdisjoint(names)

    def lines_with(self, needle: str) -> Iterator[tuple[int, str]]:
        """Yield ``(index, line)`` for each line containing ``needle``, scanning with str.find."""
        text = self.text
        find = text.find
        pos = find(needle)
        line_no = 0
        counted = 0
        while pos != -1:
            start = text.rfind("\n", 0, pos) + 1
            end = find("\n", pos)
            if end == -1:
                end = len(text)
            line_no += text.count("\n", counted, start)
            counted = start
            yield line_no, text[start:end]
            pos = find(needle, end)

    def rel(self, path: str) -> str:
        """Return ``path`` made relative to the run's cwd when it lies under it."""
        relative = relative_to_cwd(path, self.cwd)
        if relative != path:
            self._from_absolute.add(relative)
        return relative

    def printed_absolute(self, path: str) -> bool:
        """Whether ``path`` (a result of ``rel``) was printed as an absolute path under cwd."""
        return path in self._from_absolute

    def pick_frame(self, frames: Sequence[tuple[str, int | None]]) -> tuple[str, int | None] | None:
        """Return the deepest user frame of ``frames`` (ordered outermost first).

        The deepest frame under ``cwd`` that is not library code wins; without ``cwd``, the
        deepest non-library frame; when every frame is library code, the deepest frame.
        """
        if not frames:
            return None
        own = [frame for frame in frames if not is_library_path(frame[0])]
        if self.cwd and own:
            cwd = self.cwd
            under = [frame for frame in own if is_under(frame[0], cwd)]
            if under:
                own = under
        return own[-1] if own else frames[-1]

    def failure(
        self,
        tool: str,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        test: str | None = None,
        error_type: str | None = None,
    ) -> Failure:
        """Build a ``Failure`` with ``file`` made cwd-relative and ``message`` on one line."""
        return Failure(
            tool=tool,
            message=" ".join(message.split()),
            file=self.rel(file) if file else None,
            line=line,
            column=column,
            test=test,
            error_type=error_type,
        )


@dataclass(frozen=True, slots=True)
class ParserSpec:
    """One row of the parser table: a tool, how to spot it, and how to parse it."""

    tool: str
    detect: Callable[[Context], bool]
    parse: Callable[[Context], list[Hit]]
    suppressed_by: tuple[str, ...] = ()
    name: Callable[[Context], str] | None = None

    def tool_for(self, ctx: Context) -> str:
        """Return the tool name to report (``gcc`` or ``clang`` for the same parser)."""
        return self.name(ctx) if self.name is not None else self.tool
