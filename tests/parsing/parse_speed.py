"""Measure parse_output on 10,000-line outputs (not a test: run it, read the numbers).

Usage: ``.venv/bin/python -m tests.parsing.parse_speed``. Prints the median and best of 30 runs
for a pytest log repeated to 10k lines, 10k lines of noise with three errors, 10k lines mixing
six tools' outputs, and 10k lines of noise that only the generic fallback can read. The inputs
are built from the committed real outputs and a seeded generator, so runs are comparable.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

from vigil.parsing import parse_output

OUTPUTS = Path(__file__).resolve().parent.parent / "fixtures" / "outputs"
LINES = 10_000
RUNS = 30


def _repeat_to(text: str, count: int) -> str:
    lines = text.splitlines()
    return "\n".join((lines * (count // len(lines) + 1))[:count])


def _noise(seed: int) -> list[str]:
    rnd = random.Random(seed)
    words = ["compiling", "module", "linking", "resolving", "fetching", "cache", "hit", "miss"]
    return [
        f"[{n:05d}] {' '.join(rnd.choice(words) for _ in range(8))} id={rnd.getrandbits(32):08x}"
        for n in range(LINES)
    ]


def inputs() -> dict[str, str]:
    """Return the named 10k-line inputs."""
    read = {name: (OUTPUTS / f"{name}.txt").read_text() for name in (
        "pytest/library", "pytest/twins", "cargo/test_panic", "maven/surefire",
        "go/test_panic", "jest/expect", "node/uncaught", "tsc/ts2322",
    )}  # fmt: skip
    noisy = _noise(7)
    noisy[1200] = "src/app/main.c:12:5: error: 'x' undeclared"
    noisy[5000] = "error: could not connect to database: timeout"
    noisy[9000] = "FATAL: out of memory"
    quiet = _noise(8)
    quiet[7000] = "upload failed: could not open socket"
    mixed = "".join(read[name] for name in list(read)[2:])
    return {
        "pytest log": _repeat_to(read["pytest/library"] + read["pytest/twins"], LINES),
        "noise + 3 errors": "\n".join(noisy),
        "six tools mixed": _repeat_to(mixed, LINES),
        "noise, generic only": "\n".join(quiet),
    }


def main() -> None:
    """Print one line of timings per input."""
    for name, text in inputs().items():
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            result = parse_output(text)
            times.append(time.perf_counter() - start)
        print(
            f"{name:22s} {text.count(chr(10)) + 1:6d} lines  "
            f"median {statistics.median(times) * 1000:6.2f} ms  best {min(times) * 1000:6.2f} ms  "
            f"failures {len(result.failures)}  tools {','.join(result.tools)}"
        )


if __name__ == "__main__":
    main()
