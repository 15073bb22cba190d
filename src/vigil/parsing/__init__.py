"""Build-output parsing: failures from real tools' output, and fingerprints of their causes.

``parse_output`` reads the combined stdout+stderr of a build or test run (pytest, unittest,
Python and Node tracebacks, mypy, ruff, flake8, tsc, eslint, jest, go, cargo/rustc, gcc/clang,
ld, make, npm, javac, maven, gradle, and a generic fallback) and returns ``Failure`` records
with fingerprints that stay the same when the same bug moves.

This package imports only the standard library and ``vigil.errors``.
"""

from vigil.parsing.ansi import strip_ansi
from vigil.parsing.failure import Failure, ParseResult
from vigil.parsing.fingerprint import failure_fingerprint, normalize_message, run_fingerprint
from vigil.parsing.output import parse_output

__all__ = [
    "Failure",
    "ParseResult",
    "failure_fingerprint",
    "normalize_message",
    "parse_output",
    "run_fingerprint",
    "strip_ansi",
]
