"""Which changed paths a file watcher ignores: ``.gitignore`` rules and build-output folders.

:class:`IgnoreRules` reads every ``.gitignore`` under a root (and ``.git/info/exclude``) and
answers :meth:`IgnoreRules.ignored` for a path relative to it, following git's rules: blank
lines and ``#`` comments skipped; ``!`` re-includes; a trailing ``/`` matches directories only; a
pattern with a ``/`` elsewhere is anchored to its ``.gitignore``'s folder, one without matches a
name at any depth; ``*`` and ``?`` stop at ``/``; ``**`` spans folders; the last matching rule
wins; and a path inside an ignored folder is ignored whatever rules follow (git cannot
re-include it either). Folders that hold build output or tool caches are always ignored
(:data:`BUILD_DIRS`), and so is ``.git`` itself.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

BUILD_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        ".cache",
        ".gradle",
        ".idea",
        ".next",
        ".nuxt",
        ".parcel-cache",
        ".turbo",
        "build",
        "dist",
        "target",
        "out",
        "coverage",
        "htmlcov",
        ".eggs",
        "bower_components",
        "vendor",
        "_build",
        "cmake-build-debug",
        "cmake-build-release",
    }
)
_SCAN_LIMIT = 2000  # .gitignore files read at most (a pathological tree must not stall start)


@dataclass(frozen=True, slots=True)
class Rule:
    base: str  # the folder of the .gitignore, relative to the root ("" at the root)
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool


def _translate(pattern: str) -> str:
    """A gitignore glob (already stripped of ``!``, leading and trailing ``/``) as a regex."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end == -1:
                out.append(re.escape(char))
                i += 1
                continue
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def parse(text: str, base: str = "") -> list[Rule]:
    """The rules of one ``.gitignore`` whose folder is ``base`` (relative, ``/``-separated)."""
    rules: list[Rule] = []
    for raw in text.splitlines():
        line = raw.rstrip("\n\r")
        if not line or line.startswith("#"):
            continue
        if not line.endswith("\\ "):
            line = line.rstrip(" ")
        negated = line.startswith("!")
        if negated or line.startswith("\\!") or line.startswith("\\#"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = _translate(line)
        regex = body if anchored else f"(?:.*/)?{body}"
        try:
            compiled = re.compile(f"^{regex}$", re.DOTALL)
        except re.error:
            continue  # git ignores a pattern it cannot read; so do we
        rules.append(Rule(base, compiled, negated, dir_only))
    return rules


class IgnoreRules:
    """The ignore rules of one watched root."""

    def __init__(self, root: Path, extra_dirs: frozenset[str] = BUILD_DIRS) -> None:
        self.root = root
        self.extra_dirs = extra_dirs
        self.rules: list[Rule] = []
        self.reload()

    def reload(self) -> None:
        """Read every ``.gitignore`` again (after one of them changed)."""
        rules: list[Rule] = []
        exclude = self.root / ".git" / "info" / "exclude"
        rules += parse(_read(exclude))
        found = 0
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d not in self.extra_dirs)
            relative = os.path.relpath(folder, self.root)
            base = "" if relative == "." else relative.replace(os.sep, "/")
            if base and self._ignored_with(rules, base, True):
                dirs[:] = []
                continue
            if ".gitignore" in files:
                rules += parse(_read(Path(folder) / ".gitignore"), base)
                found += 1
                if found >= _SCAN_LIMIT:
                    break
        self.rules = rules

    def ignored(self, relative: str, is_dir: bool = False) -> bool:
        """Whether the path (relative to the root, ``/``-separated) is ignored."""
        parts = [p for p in relative.split("/") if p and p != "."]
        if not parts or any(p in self.extra_dirs for p in parts[:-1]):
            return bool(parts)
        if parts[-1] in self.extra_dirs and (is_dir or parts[-1] == ".git"):
            return True
        for depth in range(1, len(parts)):
            if self._ignored_with(self.rules, "/".join(parts[:depth]), True):
                return True
        return self._ignored_with(self.rules, "/".join(parts), is_dir)

    @staticmethod
    def _ignored_with(rules: list[Rule], path: str, is_dir: bool) -> bool:
        verdict = False
        for rule in rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.base:
                if not path.startswith(rule.base + "/"):
                    continue
                candidate = path[len(rule.base) + 1 :]
            else:
                candidate = path
            if rule.regex.match(candidate):
                verdict = not rule.negated
        return verdict


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
