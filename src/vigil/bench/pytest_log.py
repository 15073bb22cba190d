"""A 10,000-line pytest output for the triage section, built from real pytest outputs.

The failure blocks come from the recorded outputs of real pytest runs in
``tests/fixtures/outputs/pytest/*.txt`` (a synthetic block stands in if that directory is absent,
e.g. in an installed copy). They are laid out the way a large, noisy suite prints them: the
session header, a progress line per test file, ~25 failures each followed by its captured log and
stdout (the bulk of the lines, with warnings and retried errors that are not failures), a
warnings summary, the short test summary and the final tally.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "outputs" / "pytest"
_BLOCK_HEADER = re.compile(r"^_{3,} (\S.*?) _{3,}$")
_SECTION = re.compile(r"^={5,} .* ={5,}$")
_WIDTH = 80

_SYNTHETIC = """\
============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-9.2.0, pluggy-1.7.0
rootdir: /home/dev/src/shop
collected 2 items

tests/test_orders.py F                                                   [100%]

=================================== FAILURES ===================================
____________________________ test_refund_rounding ______________________________

    def test_refund_rounding():
        order = make_order(total=Decimal("10.00"))
>       assert refund(order, share=Decimal("0.999")) == Decimal("10.00")
E       AssertionError: assert Decimal('9.99') == Decimal('10.00')
E        +  where Decimal('9.99') = refund(<Order 8812>, share=Decimal('0.999'))

tests/test_orders.py:41: AssertionError
=========================== short test summary info ============================
FAILED tests/test_orders.py::test_refund_rounding - AssertionError: assert Dec...
============================== 1 failed in 0.35s ===============================
"""


@dataclass(frozen=True, slots=True)
class Sample:
    """One recorded run: its header, failure blocks and summary lines, and where it ran."""

    name: str
    header: list[str]
    blocks: list[list[str]]
    summary: list[str]
    cwd: str | None


def _banner(title: str, fill: str = "=") -> str:
    text = f" {title} "
    left = (_WIDTH - len(text)) // 2
    return fill * left + text + fill * (_WIDTH - len(text) - left)


def parse_sample(name: str, text: str, cwd: str | None) -> Sample | None:
    """Split a recorded pytest output into header, failure blocks and summary lines."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if "= FAILURES =" in line)
    except StopIteration:
        return None
    collected = next((i for i, line in enumerate(lines) if line.startswith("collected")), -1)
    header = lines[: collected + 1]  # empty for ``pytest -q`` output
    blocks: list[list[str]] = []
    summary: list[str] = []
    current: list[str] | None = None
    in_summary = False
    for line in lines[start + 1 :]:
        if _SECTION.match(line):
            in_summary = "short test summary info" in line
            current = None
            continue
        if in_summary:
            if line.startswith(("FAILED ", "ERROR ")):
                summary.append(line)
            continue
        if _BLOCK_HEADER.match(line):
            current = [line]
            blocks.append(current)
        elif current is not None:
            current.append(line)
    return Sample(name, header, blocks, summary, cwd) if blocks else None


def samples(directory: Path = FIXTURES) -> list[Sample]:
    """The recorded pytest outputs with failures (plain text, not the colour variants)."""
    found: list[Sample] = []
    for path in sorted(directory.glob("*.txt")) if directory.is_dir() else []:
        if ".color." in path.name:
            continue
        cwd_file = path.with_suffix(".cwd")
        cwd = cwd_file.read_text(encoding="utf-8").strip() if cwd_file.exists() else None
        sample = parse_sample(path.stem, path.read_text(encoding="utf-8"), cwd)
        if sample is not None:
            found.append(sample)
    if not found:
        sample = parse_sample("synthetic", _SYNTHETIC, "/home/dev/src/shop")
        if sample is not None:
            found.append(sample)
    return found


@dataclass(frozen=True, slots=True)
class Output:
    """The composed output, where it ran, and what went into it."""

    text: str
    lines: int
    cwd: str | None
    failures: int
    sources: tuple[str, ...]
    synthetic: bool


_LOGGERS = (
    ("shop.orders.service", "service.py"),
    ("shop.billing.ledger", "ledger.py"),
    ("urllib3.connectionpool", "connectionpool.py"),
    ("sqlalchemy.engine.Engine", "base.py"),
    ("shop.tasks.worker", "worker.py"),
    ("asyncio", "base_events.py"),
)
_MESSAGES = (
    "processing order {n} for tenant acme (attempt {a})",
    'http://localhost:8080 "GET /health HTTP/1.1" 200 {n}',
    "BEGIN (implicit); SELECT orders.id, orders.total FROM orders WHERE orders.id = {n}",
    "retrying after ConnectionResetError: [Errno 104] Connection reset by peer (attempt {a})",
    "cache miss for key price:{n}; recomputing",
    "ledger entry {n} settled in {a} ms",
    "slow callback took {a}.{n} seconds",
    "deprecated setting SHOP_TIMEOUT used; use SHOP_HTTP_TIMEOUT",
)
_LEVELS = ("DEBUG", "INFO", "INFO", "INFO", "WARNING", "DEBUG")


def _noise(rng: random.Random, count: int) -> list[str]:
    out: list[str] = []
    for _ in range(count):
        logger, file = rng.choice(_LOGGERS)
        level = rng.choice(_LEVELS)
        message = rng.choice(_MESSAGES).format(n=rng.randint(1, 99999), a=rng.randint(1, 5))
        out.append(f"{level:<8} {logger}:{file}:{rng.randint(20, 900)} {message}")
    return out


def build(total_lines: int = 10_000, failures: int = 25, seed: int = 3) -> Output:
    """A pytest output of exactly ``total_lines`` lines with ``failures`` failure blocks."""
    rng = random.Random(seed)
    found = samples()
    pool = [(sample, block) for sample in found for block in sample.blocks]
    chosen = [pool[i % len(pool)] for i in range(failures)]
    files = 300
    first = next((sample for sample in found if sample.header), None)
    head = list(first.header) if first else _SYNTHETIC.splitlines()[:4]
    head[-1] = f"collected {files * 14} items"
    progress = []
    for index in range(files):
        marks = "".join(rng.choice("......................s") for _ in range(14))
        name = f"tests/test_module_{index:03d}.py "
        percent = f"[{round(100 * (index + 1) / files):3d}%]"
        progress.append(name + marks.ljust(_WIDTH - len(name) - len(percent)) + percent)
    warnings = [_banner("warnings summary")]
    for index in range(20):
        warnings += [
            f"tests/test_module_{index * 7:03d}.py::test_legacy_path",
            "  /home/dev/src/shop/shop/compat.py:12: DeprecationWarning: legacy_path is "
            "deprecated; use path",
            '    warnings.warn("legacy_path is deprecated; use path", DeprecationWarning)',
            "",
        ]
    warnings.append("-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html")
    summary = [_banner("short test summary info")]
    blocks: list[list[str]] = []
    names: Counter[str] = Counter()
    for k, (sample, block) in enumerate(chosen):
        title = _BLOCK_HEADER.match(block[0])
        test = title.group(1) if title else f"test_{k}"
        names[test] += 1
        renamed = test if names[test] == 1 else f"{test}_{names[test]}"
        blocks.append([_banner(renamed, "_"), *block[1:]])
        line = next((s for s in sample.summary if s.split(" - ")[0].endswith(test)), None)
        summary.append(
            line.replace(test, renamed, 1) if line else f"FAILED tests/test_x.py::{renamed}"
        )
    footer = [_banner(f"{failures} failed, {files * 13} passed, 40 warnings in 312.45s (0:05:12)")]
    fixed = len(head) + 1 + len(progress) + 1 + 1 + sum(len(b) for b in blocks)
    fixed += len(warnings) + len(summary) + len(footer)
    # Every failure gets two captured sections (a banner line each) sharing the lines left.
    spare = max(0, total_lines - fixed - 2 * failures)
    body: list[str] = [*head, "", *progress, "", _banner("FAILURES")]
    for k, block in enumerate(blocks):
        share = spare // failures + (1 if k < spare % failures else 0)
        logs = share * 3 // 4
        body += block
        body.append(_banner("Captured log call", "-"))
        body += _noise(rng, logs)
        body.append(_banner("Captured stdout call", "-"))
        body += [f"worker {rng.randint(1, 8)}: batch {i} ok" for i in range(share - logs)]
    body += warnings + summary + footer
    return Output(
        text="\n".join(body) + "\n",
        lines=len(body),
        cwd=first.cwd if first else found[0].cwd,
        failures=failures,
        sources=tuple(sorted({sample.name for sample, _ in chosen})),
        synthetic=found[0].name == "synthetic",
    )
