"""Anomalies in a followed log, on a fake clock: new templates, rate spikes, error bursts."""

from __future__ import annotations

from typing import Any

from vigil.handlers.loganomaly import AnomalyDetector
from vigil.parsing.loglines import parse_record
from vigil.parsing.templates import TemplateMiner
from vigil.testing import FakeClock


class Feed:
    """A detector over a miner, fed text lines at the fake clock's time."""

    def __init__(self, known: int = 0) -> None:
        self.clock = FakeClock()
        self.miner = TemplateMiner()
        self.detector = AnomalyDetector("/var/log/app.log", self.clock, known_templates=known)
        self.seen: set[str] = set()

    def line(self, text: str) -> list[dict[str, Any]]:
        record = parse_record(text)
        template = self.miner.add(record.headline)
        new = template.id not in self.seen
        self.seen.add(template.id)
        return self.detector.observe(record, template.id, template.text, new=new)

    def steady(self, seconds: int, per_second: int = 1) -> list[dict[str, Any]]:
        """A quiet, regular log: two info templates, ``per_second`` lines a second."""
        found = []
        for i in range(seconds):
            for j in range(per_second):
                found += self.line(f"INFO request {i} served in {j} ms")
            self.clock.advance(1.0)
        return found


def kinds(found: list[dict[str, Any]]) -> list[str]:
    return [a["kind"] for a in found]


def test_a_new_template_at_warning_level_is_reported_once() -> None:
    """A never-seen template on a warning is news, once; a never-seen info line is not."""
    feed = Feed()
    assert feed.steady(10) == []  # the first info template: new, but not at warning level
    found = feed.line("WARN disk /dev/sda1 is 91% full")
    assert kinds(found) == ["new_template"]
    anomaly = found[0]
    assert anomaly["path"] == "/var/log/app.log"
    assert anomaly["template"] == "disk <*> is <*> full"  # the level is a field, not mined
    assert anomaly["level"] == "warning"
    assert anomaly["samples"] == ["WARN disk /dev/sda1 is 91% full"]
    assert anomaly["baseline"] == {"known_templates": 1}
    assert feed.line("WARN disk /dev/sdb2 is 95% full") == []


def test_a_rate_spike_against_the_templates_own_baseline() -> None:
    """A template seen far more often than usual is a spike, raised when it crosses the line,
    once while it lasts, and again after it has calmed down."""
    feed = Feed()
    feed.steady(120)  # 1 a second: about 10 per 10 s window
    found = []
    for i in range(200):
        found += feed.line(f"INFO request {i} served in 3 ms")
    spikes = [a for a in found if a["kind"] == "rate_spike"]
    assert len(spikes) == 1
    spike = spikes[0]
    assert spike["template"] == "request <*> served in <*> ms"
    assert 9 <= spike["baseline"]["mean_per_window"] <= 11
    assert spike["baseline"]["count"] >= spike["baseline"]["threshold"] >= 20
    assert len(spike["samples"]) == 5
    assert feed.steady(60) == []  # calm again
    again = []
    for i in range(300):
        again += feed.line(f"INFO request {i} served in 3 ms")
    assert kinds(again) == ["rate_spike"]


def test_no_spike_without_history() -> None:
    """A log that just started has no baseline yet: a busy first minute is not a spike."""
    feed = Feed()
    found = []
    for i in range(500):
        found += feed.line(f"INFO request {i} served in 3 ms")
    assert "rate_spike" not in kinds(found)


def test_an_error_burst_names_its_most_frequent_error() -> None:
    """Many errors in one window, against a quiet error baseline, are one burst."""
    feed = Feed()
    feed.steady(120)
    found = []
    for i in range(30):
        found += feed.line(f"ERROR connection to db-{i % 2} refused")
        if i % 10 == 0:
            found += feed.line("ERROR cache timeout after 5 s")
    bursts = [a for a in found if a["kind"] == "error_burst"]
    assert len(bursts) == 1
    burst = bursts[0]
    assert burst["template"] == "connection to <*> refused"
    assert burst["baseline"]["mean_per_window"] == 0.0
    assert burst["baseline"]["count"] >= 10
    assert all("ERROR" in sample for sample in burst["samples"])


def test_new_template_reports_are_capped_per_window() -> None:
    """A flood of new error templates is reported up to a cap per window, the rest counted."""
    feed = Feed()
    found = []
    for i in range(50):
        found += feed.line(f"ERROR kind{chr(97 + i % 26)}{chr(97 + i // 26)} failure happened")
    assert kinds(found).count("new_template") == 20
    assert feed.detector.suppressed == 30
