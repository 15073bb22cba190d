"""Where a failure is, as the user's project names it: the last step of ``parse_output``.

Parsers report a file as the tool printed it (made relative to the run's cwd when it lies under
it). This step turns that into the path a person opens, relative to the run's cwd:

1. a relative file printed while make or ninja worked in another directory is joined to that
   directory (``hello.c`` printed under ``make -C native`` is ``native/hello.c``; see
   ``directories``); a leading ``./`` goes;
2. a JVM frame's bare ``CartTest.java`` becomes ``src/test/java/shop/CartTest.java`` when the
   package path exists under one of the usual source roots of cwd (or of a module folder in it);
3. a failure about a manifest points at the manifest (see ``manifest``).

The fingerprint is computed from the failure as parsed, before this step, so none of it (nor
whether the project is on disk when the log is read) changes a fingerprint.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from vigil.parsing.directories import DirectoryTrail, rebase, trail
from vigil.parsing.failure import Failure
from vigil.parsing.manifest import manifest_of
from vigil.parsing.parsers.context import Context, Hit

_DIRECTORY_NEEDLES = ("ntering directory", "eaving directory")
_DIRECTORY_GATE = "ing directory"
_SOURCE_ROOTS = (
    "src/main/java",
    "src/test/java",
    "src/main/kotlin",
    "src/test/kotlin",
    "src/main/scala",
    "src/test/scala",
    "src/main/groovy",
    "src/test/groovy",
    "src",
    "test",
    "",
)
_MAX_MODULES = 200


class Placer:
    """Places the hits of one output (built once per ``parse_output`` call)."""

    __slots__ = ("_ctx", "_modules", "_trail")

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        changes: list[int] = []
        if ctx.has(_DIRECTORY_GATE):
            for needle in _DIRECTORY_NEEDLES:
                changes.extend(index for index, _ in ctx.lines_with(needle))
        self._trail: DirectoryTrail | None = trail(ctx.lines, sorted(changes), ctx.command)
        self._modules: list[str] | None = None

    def place(self, hit: Hit) -> Failure:
        """Return ``hit``'s failure with its file (and line) where the project has them."""
        failure = hit.failure
        file = failure.file
        ctx = self._ctx
        if file is not None:
            if self._trail is not None and not ctx.printed_absolute(file):
                file = rebase(file, self._trail.at(hit.line), ctx.cwd)
            if file.startswith("./"):
                file = file[2:]
            if hit.source is not None:
                file = self._source(hit.source) or file
            if file != failure.file:
                failure = replace(failure, file=file)
        manifest = manifest_of(failure, ctx.text, ctx.cwd, hit.line)
        if manifest is not None and manifest[0] != failure.file:
            failure = replace(failure, file=manifest[0], line=manifest[1], column=None)
        return failure

    def _source(self, qualified: str) -> str | None:
        cwd = self._ctx.cwd
        if not cwd or not Path(cwd).is_dir():
            return None
        for module in ["", *self._module_dirs(cwd)]:
            for root in _SOURCE_ROOTS:
                relative = "/".join(part for part in (module, root, qualified) if part)
                if (Path(cwd) / relative).is_file():
                    return relative
        return None

    def _module_dirs(self, cwd: str) -> list[str]:
        if self._modules is None:
            try:
                with os.scandir(cwd) as entries:
                    self._modules = sorted(
                        entry.name
                        for entry in entries
                        if entry.is_dir() and not entry.name.startswith(".")
                    )[:_MAX_MODULES]
            except OSError:
                self._modules = []
        return self._modules
