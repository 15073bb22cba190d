"""The parser table: every tool-specific parser, in the order ties are reported.

``suppressed_by`` stops a parser whose signature also shows inside another tool's output from
reporting the same failure twice: pytest and unittest print Python tracebacks themselves, Jest
and Vitest print Node stacks, Gradle prints javac's errors, Maven and Gradle print JVM traces,
and pylint's lines look like flake8's.
"""

from __future__ import annotations

from vigil.parsing.parsers import (
    cargo,
    cc,
    cmake,
    eslint,
    flake8,
    go,
    gradle,
    javac,
    jest,
    jvm_exception,
    linker,
    make,
    maven,
    mypy,
    node_traceback,
    npm,
    pylint,
    pyright,
    pytest,
    python_traceback,
    ruff,
    tsc,
    unittest_runner,
    vitest,
)
from vigil.parsing.parsers.context import Context, Hit, ParserSpec

PARSERS: tuple[ParserSpec, ...] = (
    ParserSpec("pytest", pytest.detect, pytest.parse),
    ParserSpec("unittest", unittest_runner.detect, unittest_runner.parse, ("pytest",)),
    ParserSpec("python", python_traceback.detect, python_traceback.parse, ("pytest", "unittest")),
    ParserSpec("mypy", mypy.detect, mypy.parse),
    ParserSpec("ruff", ruff.detect, ruff.parse),
    ParserSpec("pylint", pylint.detect, pylint.parse),
    ParserSpec("flake8", flake8.detect, flake8.parse, ("ruff", "pylint")),
    ParserSpec("pyright", pyright.detect, pyright.parse),
    ParserSpec("tsc", tsc.detect, tsc.parse),
    ParserSpec("eslint", eslint.detect, eslint.parse),
    ParserSpec("jest", jest.detect, jest.parse),
    ParserSpec("vitest", vitest.detect, vitest.parse),
    ParserSpec("node", node_traceback.detect, node_traceback.parse, ("jest", "vitest")),
    ParserSpec("go", go.detect, go.parse),
    ParserSpec("cargo", cargo.detect, cargo.parse, name=cargo.tool_name),
    ParserSpec("gcc", cc.detect, cc.parse, name=cc.tool_name),
    ParserSpec("ld", linker.detect, linker.parse),
    ParserSpec("gradle", gradle.detect, gradle.parse),
    ParserSpec("javac", javac.detect, javac.parse, ("gradle",)),
    ParserSpec("maven", maven.detect, maven.parse),
    ParserSpec("java", jvm_exception.detect, jvm_exception.parse, ("maven", "gradle")),
    ParserSpec("cmake", cmake.detect, cmake.parse),
    ParserSpec("npm", npm.detect, npm.parse),
    ParserSpec("make", make.detect, make.parse),
)

__all__ = ["PARSERS", "Context", "Hit", "ParserSpec"]
