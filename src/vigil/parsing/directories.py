"""Where a tool was working when it printed a line: make's and ninja's directory changes.

``make -C native`` (and a recursive make, and ``ninja -C build``) runs the compiler in another
directory, so the compiler prints ``hello.c:5`` for what is ``native/hello.c`` in the project.
This module follows those changes so a failure's file can be put back relative to the run's cwd:

* ``make[N]: Entering directory '/abs/native'`` / ``Leaving directory`` (GNU make; also
  ``gmake`` and ``mingw32-make``, with the ``\\`...'`` quotes of older makes), nested to any depth:
  the innermost directory entered and not yet left is in effect;
* ``ninja: Entering directory `build'`` (ninja, meson, cmake's ninja builds): in effect until the
  end of the output (ninja never prints a "Leaving" line);
* the command hint: ``make -C DIR`` / ``--directory=DIR``, ``ninja -C DIR``, ``cmake --build DIR``
  give the directory in effect before the first such line (``make -s`` prints none).

Directories are kept as printed (absolute, or relative to the run's cwd). ``rebase`` joins a
relative file to the directory in effect and makes the result relative to cwd again. Fingerprints
never see the result (see ``output``): the same bug keeps its hash whichever directory make ran in.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from bisect import bisect_right

from vigil.parsing.location import relative_to_cwd

_MAKE = re.compile(
    r"^(?:g?make|mingw32-make)(?:\[(?P<level>\d+)\])?: (?P<verb>Entering|Leaving) directory "
    r"[`'\u2018\"](?P<dir>.+?)['\u2019\"]\s*$"
)
_NINJA = re.compile(r"^ninja: Entering directory [`'\u2018\"](?P<dir>.+?)['\u2019\"]\s*$")
_DIRECTORY_FLAGS = {
    "make": ("-C", "--directory"),
    "gmake": ("-C", "--directory"),
    "ninja": ("-C",),
    "cmake": ("--build",),
}


class DirectoryTrail:
    """The directory in effect at each output line (None where the run's own cwd is)."""

    __slots__ = ("_dirs", "_starts")

    def __init__(self, lines: list[str], changes: list[int], initial: str | None) -> None:
        starts: list[int] = [-1]
        dirs: list[str | None] = [initial]
        stack: list[str] = []
        for index in changes:
            line = lines[index]
            make = _MAKE.match(line)
            if make is not None:
                directory = make["dir"]
                if make["verb"] == "Entering":
                    stack.append(directory)
                elif directory in stack:
                    # Pop back to the directory being left (parallel makes may interleave).
                    del stack[len(stack) - 1 - stack[::-1].index(directory) :]
                else:
                    continue
            else:
                ninja = _NINJA.match(line)
                if ninja is None:
                    continue
                stack = [*stack, ninja["dir"]]
            starts.append(index)
            dirs.append(_join(initial, stack))
        self._starts = starts
        self._dirs = dirs

    def at(self, index: int) -> str | None:
        """Return the directory in effect at output line ``index`` (None: the run's cwd)."""
        return self._dirs[bisect_right(self._starts, index) - 1]

    @property
    def changes(self) -> bool:
        """Whether any directory other than the run's cwd is ever in effect."""
        return any(directory is not None for directory in self._dirs)


def trail(lines: list[str], changes: list[int], command: str | None) -> DirectoryTrail | None:
    """Return the directory trail, or None when the tool never worked outside the run's cwd.

    ``changes`` are the indices of the lines that may change directory (those holding
    ``"ntering directory"`` or ``"eaving directory"``), in order.
    """
    initial = initial_directory(command)
    if initial is None and not changes:
        return None
    found = DirectoryTrail(lines, changes, initial)
    return found if found.changes else None


def initial_directory(command: str | None) -> str | None:
    """Return the directory ``make -C DIR``-style commands run in, from the command hint."""
    if not command or not any(flag in command for flag in ("-C", "--directory", "--build")):
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words:
        return None
    flags = _DIRECTORY_FLAGS.get(posixpath.basename(words[0]))
    if flags is None:
        return None
    found: str | None = None
    for position, word in enumerate(words[1:], start=1):
        for flag in flags:
            if word == flag and position + 1 < len(words):
                found = _join(found, [words[position + 1]])
            elif word.startswith(flag + "="):
                found = _join(found, [word.split("=", 1)[1]])
            elif flag == "-C" and word.startswith("-C") and len(word) > 2:
                found = _join(found, [word[2:]])
    return found


def rebase(file: str, directory: str | None, cwd: str | None) -> str:
    """Return ``file`` (as printed in ``directory``) relative to the run's ``cwd`` when it can."""
    if directory is None or _is_absolute(file):
        return file
    joined = posixpath.normpath(posixpath.join(directory, file))
    return relative_to_cwd(joined, cwd)


def _join(base: str | None, parts: list[str]) -> str | None:
    """Join nested directories (each absolute, or relative to the one before it)."""
    current = base
    for part in parts:
        if current is None or _is_absolute(part):
            current = part
        else:
            current = posixpath.join(current, part)
    return posixpath.normpath(current) if current is not None else None


def _is_absolute(path: str) -> bool:
    return path.startswith(("/", "\\", "~")) or (len(path) > 2 and path[1] == ":")
