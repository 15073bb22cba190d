"""JVM stack traces (``\\tat shop.CartTest.total(CartTest.java:11)``), for Maven and Gradle.

Frames of the JDK, JUnit, opentest4j, AssertJ, Hamcrest, Maven and Gradle are library code; the
first other frame (the JVM lists the innermost frame first) is the user's.
"""

from __future__ import annotations

import re

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


def user_frame(lines: list[str], start: int) -> tuple[str, int] | None:
    """Return ``(file, line)`` of the first non-library frame in the trace at ``lines[start:]``."""
    first: tuple[str, int] | None = None
    for index in range(start, min(start + 200, len(lines))):
        line = lines[index]
        if not line.lstrip().startswith("at "):
            if line.strip() and not line.lstrip().startswith(("...", "Caused by")):
                break
            continue
        match = _FRAME.match(line)
        if match is None:
            continue
        frame = (match["file"], int(match["line"]))
        if first is None:
            first = frame
        if not match["where"].startswith(_LIBRARY):
            return frame
    return first
