"""The logs benchmark section's report: accuracy beside drain3, lines/s, following latency."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vigil.bench.loghub import find_loghub


@pytest.mark.slow
@pytest.mark.skipif(find_loghub() is None, reason="shared/data/loghub is not here")
def test_quick_logs_section_reports_every_figure_with_its_baseline() -> None:
    """A quick run prints accuracy per system for Vigil and drain3 on the Content column and on
    the raw lines, lines/s for both (raw lines with their headers too), the following latency,
    and a check for each target."""
    done = subprocess.run(
        [sys.executable, "-m", "vigil.bench", "--quick", "--only", "logs"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    section = json.loads(done.stdout)["sections"]["logs"]
    assert "error" not in section, section
    accuracy = section["figures"]["accuracy"]
    assert set(accuracy["systems"]) == {
        "Apache", "BGL", "HDFS", "Hadoop", "Linux", "OpenSSH", "Spark", "Zookeeper",
    }  # fmt: skip
    assert accuracy["average"] >= 0.95
    assert set(section["baseline"]["accuracy_drain3"]["systems"]) == set(accuracy["systems"])
    assert section["figures"]["throughput_cold"]["all"] > 0
    assert section["baseline"]["throughput_cold_drain3"]["all"] > 0
    assert section["figures"]["following"]["append_to_anomaly_on_bus"]["n"] > 0
    raw = section["figures"]["accuracy_raw"]
    assert set(raw["systems"]) == set(accuracy["systems"])
    assert set(section["baseline"]["accuracy_raw_drain3"]["systems"]) == set(raw["systems"])
    assert section["figures"]["raw_gap"]["max"] <= 0.03
    assert section["figures"]["throughput_raw_cold"]["all"] > 0
    assert section["baseline"]["throughput_raw_cold_drain3"]["all"] > 0
    figures = {check["figure"] for check in section["checks"]}
    assert figures == {
        "accuracy_average", "accuracy_minimum", "raw_gap_max", "cold_lines_per_s",
        "raw_cold_lines_per_s", "cold_vs_drain3", "stream_vs_drain3", "follow_anomaly_p99_ms",
    }  # fmt: skip
