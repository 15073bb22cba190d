"""Finding a location wherever a message puts it: in its own line, after it, or in a header.

Tools print where something went wrong in a handful of shapes, whatever the language:

* ``path:line[:col]`` anywhere in a line (``at src/x.js:3:5``, ``--> src/x.rs:3:5``,
  ``in /srv/x.php:12``, ``    src/index.ts:1:18:``);
* ``path(line[,col])`` (MSVC, .NET, tsc);
* ``path, line N`` / ``"path", line N, column M`` / ``path line N`` / ``path: line N`` /
  ``path on line N`` / ``file path, line N`` (Python, YAML, Perl, bash, PHP, Terraform's
  ``on main.tf line 12``, Gradle's ``Build file 'x' line: 5``);
* ``line N of [file] path`` (gfortran's ``At line 5 of file x.f90``).

A path is a token with an extension (``x.py``, ``src/a/b.test.ts``) or a well-known extensionless
build file (``Makefile``, ``Dockerfile``, ``CMakeLists.txt`` has one). ``near`` looks at the
message's own line, then the lines after it (a location printed after the message, or a frame list:
the user's frame is chosen as in ``Context.pick_frame``, innermost first unless the frames are
Python's ``File "x", line N``), then a few lines before it (a header).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vigil.parsing.parsers.context import Context

# Extensions of files people write (source, build, config, data, docs): ``process.exit(2)`` and
# ``example.com:443`` are not locations.
_EXTENSIONS = (
    "py|pyi|pyx|ipynb|js|jsx|mjs|cjs|ts|tsx|mts|cts|vue|svelte|go|rs|java|kt|kts|scala|groovy|"
    "gradle|c|h|cc|cpp|cxx|c\\+\\+|hpp|hh|hxx|inl|m|mm|cu|cs|fs|vb|swift|rb|erb|php|pl|pm|lua|r|dart|"
    "ex|exs|erl|hrl|hs|ml|mli|clj|cljs|elm|f|f90|f95|for|sh|bash|zsh|ps1|bat|sql|ya?ml|json|"
    "jsonc|toml|ini|cfg|conf|xml|html?|css|scss|sass|less|md|rst|txt|tf|tfvars|hcl|proto|cmake|"
    "mk|zig|nim|jl|sv|vhdl?|asm|s|tex|nix|bzl|star|lock|env|properties|jsp|haml|j2|jinja2?|tpl|"
    "hbs|ejs|pug|twig|csproj|sln|pom|rake|gemspec|cabal|mod|sum"
)
_FILE = (
    r"(?P<file>(?:[A-Za-z]:[/\\]|[/\\]|~/)?(?:[\w.@+~-]+[/\\])*[\w@+~-][\w.@+~-]*"
    rf"\.(?i:{_EXTENSIONS})(?![\w+])"
    r"|(?:[\w.@+~-]+/)*(?:Makefile|Dockerfile|Jenkinsfile|Gemfile|Rakefile|Vagrantfile|BUILD))"
)
_START = r"(?<![\w.:/\\@~+-])"
_SHAPES = (
    re.compile(_START + _FILE + r":(?P<line>\d+)(?::(?P<col>\d+))?(?![\d.])"),
    re.compile(_START + _FILE + r"\((?P<line>\d+)(?:,\s?(?P<col>\d+))?\)"),
    re.compile(
        _START + _FILE + r"[\"'\u2019]?(?:,|:| on| at)? (?:line|Line|LINE):? ?(?P<line>\d+)"
        r"(?:(?:,| and)? (?:column|col|Column|char):? ?(?P<col>\d+))?"
    ),
    re.compile(r"\b[Ll]ine (?P<line>\d+) (?:of|in) (?:file )?[\"'`]?" + _FILE),
)
_NOT_FILES = frozenset({"e.g", "i.e", "etc"})
_PYTHON_FRAME = 'File "'
_AFTER = 12
_BEFORE = 3


@dataclass(frozen=True, slots=True)
class Location:
    """A file, a line and maybe a column found in one line of output."""

    file: str
    line: int
    column: int | None
    python: bool = False


def find(line: str) -> Location | None:
    """Return the leftmost location in ``line``, or None (only looks when a digit is there)."""
    if not any(char.isdigit() for char in line):
        return None
    best: tuple[int, Location] | None = None
    for shape in _SHAPES:
        match = shape.search(line)
        if match is None or (best is not None and match.start() >= best[0]):
            continue
        file = match["file"]
        if file.lower() in _NOT_FILES or "://" in line[max(0, match.start() - 8) : match.start()]:
            continue
        column = match.groupdict().get("col")
        location = Location(
            file,
            int(match["line"]),
            int(column) if column else None,
            python=_PYTHON_FRAME in line,
        )
        best = (match.start(), location)
    return best[1] if best is not None else None


def near(ctx: Context, lines: list[str], index: int) -> Location | None:
    """Return the location that goes with the message at ``lines[index]`` (see module doc)."""
    own = find(lines[index])
    if own is not None:
        return own
    frames: list[Location] = []
    for follow in range(index + 1, min(index + 1 + _AFTER, len(lines))):
        text = lines[follow]
        if not text.strip():
            if frames:
                break
            continue
        location = find(text)
        if location is not None:
            frames.append(location)
        elif frames and text[:1] not in " \t":
            break
    if frames:
        return _pick(ctx, frames)
    for back in range(index - 1, max(index - 1 - _BEFORE, -1), -1):
        location = find(lines[back])
        if location is not None:
            return location
    return None


def _pick(ctx: Context, frames: list[Location]) -> Location:
    python = any(frame.python for frame in frames)
    ordered = frames if python else frames[::-1]
    picked = ctx.pick_frame([(frame.file, frame.line) for frame in ordered])
    for frame in ordered:
        if picked is not None and (frame.file, frame.line) == picked:
            return frame
    return ordered[-1]
