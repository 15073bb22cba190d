"""The benchmark report's interface: its JSON shape, section selection and usage errors.

Timings are never asserted here (wall-clock figures belong in the report, not in gates); these
tests pin what ``python -m vigil.bench`` prints and how it exits.
"""

from __future__ import annotations

import json
import numbers
import subprocess
import sys
from typing import Any

import pytest

from vigil.bench import SECTIONS
from vigil.bench.runner import select
from vigil.bench.stats import latency, percentile


def _bench(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigil.bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@pytest.mark.slow
def test_quick_report_has_selected_sections_with_numeric_figures_and_verdicts() -> None:
    """A quick run of publish and startup prints one JSON object whose sections carry numbers,
    baselines, ratios, checks and a boolean pass."""
    done = _bench("--quick", "--only", "publish,startup")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"meta", "pass", "sections"}
    assert report["meta"]["quick"] is True
    assert isinstance(report["pass"], bool)
    assert list(report["sections"]) == ["publish", "startup"]
    for name, section in report["sections"].items():
        assert "error" not in section, (name, section)
        assert isinstance(section["pass"], bool)
        assert section["checks"], name
        for check in section["checks"]:
            assert _is_number(check["value"]) and _is_number(check["target"])
            assert check["op"] in ("<", "<=", ">", ">=")
            assert isinstance(check["pass"], bool)
        assert section["pass"] == all(check["pass"] for check in section["checks"])
        assert section["baseline"] and section["figures"]
        assert all(_is_number(value) for value in section["ratio"].values()), section["ratio"]
        assert _is_number(section["elapsed_s"])
    publish = report["sections"]["publish"]
    assert {"ratio_single", "ratio_batch"} <= set(publish["ratio"])
    for figure in ("single_vigil_append", "batch_vigil_append"):
        assert publish["figures"][figure]["throughput"]["median"] > 0
    assert publish["baseline"]["single_raw_same_schema"]["throughput"]["median"] > 0
    assert publish["baseline"]["batch_raw_minimal"]["throughput"]["median"] > 0
    startup = report["sections"]["startup"]
    for command in ("python -m vigil --version", "vigil --version", "vigil events --limit 1"):
        figure = startup["figures"][command]
        assert figure["n"] == 5
        assert all(_is_number(figure[key]) for key in ("median", "p50", "p95", "p99"))
    assert startup["baseline"]["python -c 'import sqlite3, json'"]["n"] == 5
    assert {check["figure"] for check in startup["checks"]} == {
        "vigil --version / baseline (paired median)",
        "vigil events --limit 1 / baseline (paired median)",
    }
    assert all(check["target"] == 2.0 for check in startup["checks"])


def test_unknown_section_exits_2_with_one_line_on_stderr() -> None:
    """An unknown section name is refused before anything runs: exit 2, one stderr line, no JSON."""
    done = _bench("--only", "publish,nosuch", timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "nosuch" in lines[0]


def test_unknown_flag_exits_2_with_one_line_on_stderr() -> None:
    """An unknown option is a usage error in one line, not argparse's usage dump."""
    done = _bench("--fast", timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1


def test_only_accepts_repeats_and_comma_lists_and_runs_in_report_order() -> None:
    """``--only`` values combine, duplicates collapse, and sections keep the report's order."""
    assert select(["startup,publish", "publish", " search "]) == ["publish", "search", "startup"]
    assert select([]) == list(SECTIONS)
    with pytest.raises(ValueError, match="empty section name"):
        select(["publish,"])


def test_percentiles_interpolate_between_samples() -> None:
    """p50 is the median and p99 lies between the two largest samples, as numpy's default."""
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile(list(range(101)), 99) == 99
    summary = latency([1_000_000, 2_000_000, 3_000_000])
    assert summary["n"] == 3 and summary["p50"] == summary["median"] == 2.0
    assert summary["p99"] == pytest.approx(2.98)


@pytest.mark.slow
def test_quick_files_section_reports_debounce_and_hook_figures() -> None:
    """The files section measures write -> file.changed after the debounce against a bare
    watchdog callback, and the git hook's cost against an empty hook, with numeric checks."""
    done = _bench("--quick", "--only", "files")
    assert done.returncode == 0, done.stderr
    section = json.loads(done.stdout)["sections"]["files"]
    assert "error" not in section, section
    assert {c["figure"] for c in section["checks"]} == {"after_debounce_p99_ms", "hook_p99_ms"}
    assert all(_is_number(c["value"]) for c in section["checks"])
    assert section["figures"]["after_debounce_ms"]["n"] == 20
    assert section["baseline"]["watchdog_callback_ms"]["n"] == 20
    assert section["figures"]["hook_ms"]["n"] == 5
    assert _is_number(section["ratio"]["p99_vs_watchdog"])
