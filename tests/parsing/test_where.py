"""Locations wherever a message prints them, and CI logs with a time stamp on every line.

Snippets are HAND-WRITTEN from the tools' documented formats (Terraform, esbuild, .NET, gfortran,
PHP, PyYAML, bash, mocha); the CI cases compare real outputs with and without stamps.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vigil.parsing import parse_output
from vigil.parsing.ansi import strip_stamps
from vigil.parsing.parsers.where import find

Reader = Callable[[str], tuple[str, str | None]]


@pytest.mark.parametrize(
    ("line", "file", "number", "column"),
    [
        ("    at save (/srv/app/src/db.ts:7:3)", "/srv/app/src/db.ts", 7, 3),
        ("Program.cs(5,9): error CS0103: nope", "Program.cs", 5, 9),
        ('  in "config.yml", line 3, column 9', "config.yml", 3, 9),
        ('  File "tools/gen.py", line 14, in main', "tools/gen.py", 14, None),
        ("  on main.tf line 12, in resource", "main.tf", 12, None),
        ("At line 5 of file solver.f90 (unit = 10)", "solver.f90", 5, None),
        ("./deploy.sh: line 3: kubectl: command not found", "./deploy.sh", 3, None),
        ("* Where: Build file '/w/app/build.gradle' line: 14", "/w/app/build.gradle", 14, None),
        ("boom in /srv/app/src/Cart.php on line 12", "/srv/app/src/Cart.php", 12, None),
        ("   --> src/lib.rs:10:5", "src/lib.rs", 10, 5),
    ],
)
def test_location_shapes(line: str, file: str, number: int, column: int | None) -> None:
    """Each common way of printing a place gives its file, line and column."""
    found = find(line)
    assert found is not None
    assert (found.file, found.line, found.column) == (file, number, column)


@pytest.mark.parametrize(
    "line",
    [
        'node -e "process.exit(2)"',
        "GET https://registry.example.com:443/x.json",
        "12:34:56 started",
        "version 1.2.3 released",
    ],
)
def test_things_that_are_not_locations(line: str) -> None:
    """Calls, URLs, clock times and versions are not read as file locations."""
    assert find(line) is None


@pytest.mark.parametrize(
    ("text", "file", "line", "message"),
    [
        (
            # Terraform: the location comes after the message, in an "on FILE line N" line.
            'Error: Unsupported argument\n\n  on main.tf line 12, in resource "x" "y":\n'
            "  12:   amis = 1\n",
            "main.tf",
            12,
            "Unsupported argument",
        ),
        (
            # esbuild: the message, a blank line, then the indented location.
            '\u2718 [ERROR] Could not resolve "lodash"\n\n    src/index.ts:1:18:\n'
            '      1 \u2502 import _ from "lodash";\n',
            "src/index.ts",
            1,
            'Could not resolve "lodash"',
        ),
        (
            # .NET: the location in parentheses before the message.
            "/srv/app/Program.cs(5,9): error CS0103: The name 'x' does not exist"
            " [/srv/app/a.csproj]\nBuild FAILED.\n",
            "Program.cs",
            5,
            "The name 'x' does not exist",
        ),
        (
            # gfortran: a header "At line N of file F" above the runtime error.
            "At line 5 of file solver.f90 (unit = 10)\nFortran runtime error: Cannot open file\n",
            "solver.f90",
            5,
            "Cannot open file",
        ),
        (
            # A frame list whose innermost frame is a dependency's: the user's frame is chosen.
            "ERROR: request failed\n"
            "    at Client.send (/srv/app/node_modules/pg/lib/client.js:20:5)\n"
            "    at save (/srv/app/src/db.js:7:3)\n"
            "    at main (/srv/app/src/main.js:2:1)\n",
            "src/db.js",
            7,
            "request failed",
        ),
        (
            # bash: a command that is not installed.
            "+ kubectl apply -f k8s/\n./deploy.sh: line 3: kubectl: command not found\n",
            "deploy.sh",
            3,
            "command not found",
        ),
        (
            # PyYAML: the data file's location after the exception line.
            "Traceback (most recent call last):\n"
            '  File "/srv/app/load.py", line 4, in <module>\n'
            "    yaml.safe_load(open('config.yml'))\n"
            "yaml.scanner.ScannerError: mapping values are not allowed here\n"
            '  in "config.yml", line 3, column 9\n',
            "config.yml",
            3,
            "mapping values are not allowed here",
        ),
        (
            # mocha: error line and frames indented alike.
            "  1 failing\n\n  1) sum\n       adds:\n\n"
            "      AssertionError [ERR_ASSERTION]: 4 == 3\n\n"
            "      at Context.<anonymous> (test/sum.test.js:6:12)\n"
            "      at process.processImmediate (node:internal/timers:478:21)\n",
            "test/sum.test.js",
            6,
            "4 == 3",
        ),
    ],
)
def test_failures_are_located_wherever_the_output_says(
    text: str, file: str, line: int, message: str
) -> None:
    """The first failure carries the place printed in, after or before its message."""
    first = parse_output(text, cwd="/srv/app").failures[0]
    assert (first.file, first.line) == (file, line)
    assert message in first.message


def test_github_time_stamps_are_removed_from_every_line() -> None:
    """ISO stamps and GitHub's group markers go; indentation after the stamp stays."""
    text = (
        "2026-11-02T10:11:12.1234567Z ##[group]Run make\n"
        "2026-11-02T10:11:12.2234567Z   src/a.c:3:1: error: boom\n"
        "2026-11-02T10:11:12.3234567Z ##[error]Process completed with exit code 2.\n"
    )
    assert strip_stamps(text) == "\n  src/a.c:3:1: error: boom\n\n"


def test_a_log_that_only_mentions_times_is_left_alone() -> None:
    """A few lines starting with a time among many that do not are not stamps."""
    text = "\n".join(["build started", "12:00:01 step one"] + ["compiling unit"] * 10)
    assert strip_stamps(text) == text


@pytest.mark.parametrize(
    ("stamped", "plain"),
    [
        ("ci/github_pytest", "pytest/library"),
        ("ci/clock_python", "python/traceback"),
        ("ci/github_tsc", "tsc/ts2322.pretty"),
        ("ci/clock_cargo", "cargo/build_error.color"),
    ],
)
def test_a_ci_stamped_log_parses_like_the_tools_own_output(
    stamped: str, plain: str, output: Reader
) -> None:
    """The same real failure inside a CI log gets the same fields and fingerprint."""
    text, cwd = output(stamped)
    plain_text, plain_cwd = output(plain)
    ci = parse_output(text, cwd=cwd).failures[0].to_dict()
    own = parse_output(plain_text, cwd=plain_cwd).failures[0].to_dict()
    assert ci == own
