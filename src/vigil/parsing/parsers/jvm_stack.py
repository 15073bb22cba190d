"""JVM stack traces (``\\tat shop.CartTest.total(CartTest.java:11)``), for Maven and Gradle.

Frames of the JDK, JUnit, opentest4j, AssertJ, Hamcrest, Maven and Gradle are library code; the
first other frame (the JVM lists the innermost frame first) is the user's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FRAME = re.compile(
    r"^\s+at (?:[\w.-]+//)?(?:[\w.-]+/)?(?P<where>[\w.$<>-]+)"
    r"\((?P<file>[\w$-]+\.(?:java|kt|scala|groovy)):(?P<line>\d+)\)$"
)
_LIBRARY = (
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "org.junit.",
    "junit.",
    "org.opentest4j.",
    "org.assertj.",
    "org.hamcrest.",
    "org.apache.maven.",
    "org.gradle.",
    "kotlin.",
    "kotlinx.",
    "worker.org.gradle.",
)


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame's file (as printed), line, and its path from the package (``shop/Cart.java``)."""

    file: str
    line: int
    source: str


def user_frame_of(lines: list[str], start: int) -> tuple[Frame | None, int]:
    """Return the first user frame of the trace at ``lines[start:]`` and the index after it.

    The trace is the run of ``at`` and ``... N more`` lines; when every frame is library code the
    first frame stands in.
    """
    first: Frame | None = None
    found: Frame | None = None
    index = start
    end = min(start + 400, len(lines))
    while index < end:
        line = lines[index]
        stripped = line.lstrip()
        if not stripped.startswith("at "):
            if stripped.startswith("...") and line[:1] in " \t":
                index += 1
                continue
            break
        match = _FRAME.match(line)
        if match is not None:
            frame = _frame(match)
            if first is None:
                first = frame
            if found is None and not match["where"].startswith(_LIBRARY):
                found = frame
        index += 1
    return found or first, index


def _frame(match: re.Match[str]) -> Frame:
    file = match["file"]
    parts = match["where"].split(".")
    package = parts[:-2]
    return Frame(file, int(match["line"]), "/".join([*package, file]))
