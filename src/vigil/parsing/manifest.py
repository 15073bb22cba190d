"""Failures about a manifest point at the manifest: package.json, Cargo.toml, pyproject.toml...

An error that says a script, a dependency or the manifest itself is wrong (``Missing script:
"buidl"``, ``no matching package named `serde_jsonx` found``, ``Could not resolve dependencies``,
``No matching distribution found for nosuchdep``, ``errors parsing go.mod``) is fixed in the
manifest, not where the tool happened to notice it. ``manifest_of`` returns the manifest's path
(and line, when the output gives one: maven's ``@ line 14, column 17``, cargo's ``TOML parse
error at line 8``, ``go.mod:3:``, pip's ``(line 2)`` of a requirements file) for such failures.

When the output gives no line and the manifest is on disk, the line declaring the dependency the
message names (``serde_jsonx``, ``nosuchdep>=1.0``, ``ledger-core``) is looked up in it.

The manifest is only named when the output names it (an absolute or relative path ending in the
manifest's name, or a package directory cargo prints) or when it exists in the run's cwd: a log
triaged away from its project points at no file rather than at one that is not there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vigil.parsing.failure import Failure
from vigil.parsing.location import relative_to_cwd

_NPM = ("package.json",)
_CARGO = ("Cargo.toml",)
_PYTHON = ("pyproject.toml", "setup.cfg", "setup.py", "requirements.txt")
_MAVEN = ("pom.xml",)
_GRADLE = ("build.gradle.kts", "build.gradle", "settings.gradle.kts", "settings.gradle")
_GO = ("go.mod",)
_RUBY = ("Gemfile",)


@dataclass(frozen=True, slots=True)
class _Rule:
    """Failures whose tool is one of ``tools`` (any, when empty) and whose text matches."""

    tools: frozenset[str]
    pattern: re.Pattern[str]
    manifests: tuple[str, ...]


def _rule(tools: str, pattern: str, manifests: tuple[str, ...]) -> _Rule:
    return _Rule(frozenset(tools.split()), re.compile(pattern), manifests)


_NPM_CODES = (
    r"ETARGET|E404|ERESOLVE|EJSONPARSE|ENOVERSIONS|EUNSUPPORTEDPROTOCOL|EINVALIDPACKAGENAME"
)
_RULES = (
    _rule(
        "npm generic",
        r"[Mm]issing script|^ERR_PNPM_NO_SCRIPT|Command \"[^\"]+\" not found|No matching version "
        r"found for|notarget|Could not resolve dependency|unable to resolve dependency tree|"
        rf"\b(?:{_NPM_CODES})\b|Failed to parse JSON data|Invalid package\.json",
        _NPM,
    ),
    _rule(
        "cargo rustc generic",
        r"no matching package (?:named|found)|failed to select a version for|failed to parse "
        r"manifest|failed to load manifest|failed to get `[^`]+` as a dependency|could not find "
        r"`[^`]+` in registry|cyclic package dependency|which is neither a dependency nor another "
        r"feature|does not have (?:that|these) features?|failed to read `[^`]*Cargo\.toml`",
        _CARGO,
    ),
    _rule(
        "",
        r"No matching distribution found for|Could not find a version that satisfies the "
        r"requirement|ResolutionImpossible|invalid pyproject\.toml|configuration error: `project|"
        r"[Ii]nvalid requirement|Multiple top-level packages discovered|error in \S+ setup command|"
        r"Failed to parse pyproject|pyproject\.toml.*(?:invalid|error)|"
        r"because there is no version of|No solution found when resolving",
        _PYTHON,
    ),
    _rule(
        "maven generic",
        r"Could not resolve dependencies|Non-resolvable (?:parent|import) POM|Non-parseable POM|"
        r"Could not find artifact|Unresolveable build extension|Plugin \S+ or one of its "
        r"dependencies could not be resolved|Malformed POM|'[\w.]+' for \S+ is (?:missing|invalid)|"
        r"Unknown packaging|The (?:POM|project) \S+ (?:is missing|has \d+ errors?)|"
        r"[Dd]ependencies\.dependency",
        _MAVEN,
    ),
    _rule(
        "gradle generic",
        r"Could not resolve all (?:files|dependencies|artifacts|task dependencies) for "
        r"configuration|Could not find [\w.-]+:[\w.-]+:|Plugin \[id: '[^']+'.*\] was not found|"
        r"Could not resolve [\w.-]+:[\w.-]+:",
        _GRADLE,
    ),
    _rule(
        "go generic",
        r"no required module provides package|missing go\.sum entry|go\.mod requires go|errors "
        r"parsing go\.mod|updates to go\.mod needed|found, but does not contain package|"
        r"cannot find module providing package|inconsistent vendoring|unknown revision|"
        r"go\.mod file indicates go",
        _GO,
    ),
    _rule(
        "generic",
        r"Could not find gem|Bundler could not find compatible versions|Gemfile",
        _RUBY,
    ),
)
_ALL_NAMES = tuple(dict.fromkeys(name for rule in _RULES for name in rule.manifests))
_NAMED = re.compile(
    r"(?P<path>(?:[A-Za-z]:)?[\w.@+~/\\-]*?(?<![\w.-])(?:"
    + "|".join(re.escape(name) for name in _ALL_NAMES)
    + r"))(?![\w.-])(?::(?P<line>\d+))?"
)
_CARGO_PACKAGE = re.compile(r"required by package `[^`(]*\((?P<dir>/[^)]+)\)`")
_LINE = re.compile(
    r"@ line (?P<a>\d+)|TOML parse error at line (?P<b>\d+)|\(at line (?P<c>\d+)|"
    r"\(line (?P<d>\d+)\)|' line: (?P<e>\d+)"
)


def manifest_of(
    failure: Failure, text: str, cwd: str | None, near: int | None = None
) -> tuple[str, int | None] | None:
    """Return ``(path, line)`` of the manifest ``failure`` is about, or None (see module doc)."""
    haystack = f"{failure.error_type or ''} {failure.message}"
    for rule in _RULES:
        if rule.tools and failure.tool not in rule.tools:
            continue
        if rule.pattern.search(haystack) is None:
            continue
        found = _named(rule.manifests, text, cwd, near)
        if found is None:
            found = _in_cwd(rule.manifests, cwd, text)
        if found is None:
            return None
        path, line = found
        if line is None:
            line = _line_of(haystack, text, near)
        if line is None:
            line = _declared_line(path, cwd, haystack)
        return path, line
    return None


def _named(
    names: tuple[str, ...], text: str, cwd: str | None, near: int | None
) -> tuple[str, int | None] | None:
    """The manifest the output names (nearest to the failure's line first)."""
    best: tuple[int, str, int | None] | None = None
    for match in _NAMED.finditer(text):
        path = match["path"].replace("\\", "/")
        name = path.rsplit("/", 1)[-1]
        if name not in names:
            continue
        distance = abs(text.count("\n", 0, match.start()) - near) if near is not None else 0
        rank = distance * 10 + names.index(name)
        if best is None or rank < best[0]:
            line = int(match["line"]) if match["line"] else None
            best = (rank, relative_to_cwd(path, cwd), line)
    if best is not None:
        return best[1], best[2]
    if names == _CARGO:
        package = _CARGO_PACKAGE.search(text)
        if package is not None:
            return relative_to_cwd(package["dir"].rstrip("/") + "/Cargo.toml", cwd), None
    return None


def _in_cwd(names: tuple[str, ...], cwd: str | None, text: str) -> tuple[str, int | None] | None:
    if not cwd:
        return None
    for name in names:
        if (Path(cwd) / name).is_file():
            return name, None
    return None


_SUBJECTS = (
    re.compile(r"`(?P<name>[\w.-]+)`"),
    re.compile(
        r"(?:requirement|distribution found for) (?P<name>[A-Za-z0-9][\w.-]*?)(?:[<>=!~;\[ ]|$)"
    ),
    re.compile(r"artifact [\w.-]+:(?P<name>[\w.-]+):"),
    re.compile(r"[\w.-]+:(?P<name>[\w.-]+):(?:jar|pom|war|aar):[\w.-]+"),
    re.compile(r"found for (?P<name>@?[\w./-]+?)@"),
    re.compile(r"provides package (?P<name>[\w./-]+)"),
)
_MAX_MANIFEST_BYTES = 512 * 1024


def _declared_line(path: str, cwd: str | None, haystack: str) -> int | None:
    """The line of the manifest that declares the dependency the message names, if any."""
    names = [match["name"] for pattern in _SUBJECTS if (match := pattern.search(haystack))]
    if not names:
        return None
    file = Path(path) if Path(path).is_absolute() else Path(cwd or ".") / path
    if not cwd and not Path(path).is_absolute():
        return None
    try:
        if file.stat().st_size > _MAX_MANIFEST_BYTES:
            return None
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for name in names:
        word = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
        for number, line in enumerate(lines, start=1):
            if word.search(line):
                return number
    return None


def _line_of(haystack: str, text: str, near: int | None) -> int | None:
    match = _LINE.search(haystack)
    if match is None and near is not None:
        lines = text.split("\n", near + 8)[near : near + 8]
        match = _LINE.search("\n".join(lines))
    if match is None:
        return None
    return int(next(group for group in match.groups() if group is not None))
