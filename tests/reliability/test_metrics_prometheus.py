"""``/metrics``: the registry in Prometheus text format, parsed back with prometheus_client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from vigil.api.prometheus import render_latest
from vigil.reliability.metrics import Metrics
from vigil.storage import Database
from vigil.testing import FakeClock


def _parse(metrics: Metrics) -> dict[str, Any]:
    body, content_type = render_latest(metrics)
    assert content_type.startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(body.decode())}


def _samples(family: Any, suffix: str, **labels: str) -> list[Any]:
    return [
        s
        for s in family.samples
        if s.name == family.name + suffix and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def _value(family: Any, suffix: str, **labels: str) -> float:
    (sample,) = _samples(family, suffix, **labels)
    return float(sample.value)


def _registry() -> Metrics:
    metrics = Metrics(FakeClock())
    for seconds in (0.004, 0.004, 0.05):
        metrics.observe("handler_seconds", seconds, consumer="triage")
    metrics.observe("handler_seconds", 2.0, ok=False, consumer="triage")
    metrics.observe("handler_seconds", 0.3, consumer="learner")
    metrics.observe("bus_publish_seconds", 0.0002)
    metrics.count("events_published", 7, type="build.run.failed")
    metrics.gauge("process_rss_bytes", 1000.0)
    metrics.gauge("process_rss_bytes", 2048.0)
    return metrics


def test_histograms_carry_buckets_sum_count_and_outcomes() -> None:
    """A timer is a histogram with cumulative ``le`` buckets, ``_sum`` and ``_count``, plus a
    success/failure counter, per label set."""
    families = _parse(_registry())
    handler = families["vigil_handler_seconds"]
    assert handler.type == "histogram"
    assert _value(handler, "_count", consumer="triage") == 4
    assert _value(handler, "_sum", consumer="triage") == 2.058
    assert _value(handler, "_bucket", consumer="triage", le="0.0046") == 2
    assert _value(handler, "_bucket", consumer="triage", le="0.068") == 3
    assert _value(handler, "_bucket", consumer="triage", le="1.5") == 3
    assert _value(handler, "_bucket", consumer="triage", le="2.2") == 4
    assert _value(handler, "_bucket", consumer="triage", le="+Inf") == 4
    assert _value(handler, "_count", consumer="learner") == 1
    buckets = [s.value for s in _samples(handler, "_bucket", consumer="triage")]
    assert buckets == sorted(buckets)  # cumulative
    calls = families["vigil_handler_calls"]
    assert calls.type == "counter"
    assert _value(calls, "_total", consumer="triage", outcome="success") == 3
    assert _value(calls, "_total", consumer="triage", outcome="failure") == 1
    assert _value(families["vigil_bus_publish_seconds"], "_count") == 1


def test_counters_and_gauges_are_exported() -> None:
    """A counter is ``vigil_<name>_total``; a gauge is ``vigil_<name>`` at its latest value."""
    families = _parse(_registry())
    published = families["vigil_events_published"]
    assert published.type == "counter"
    assert _value(published, "_total", type="build.run.failed") == 7
    rss = families["vigil_process_rss_bytes"]
    assert rss.type == "gauge"
    assert _value(rss, "") == 2048.0


def test_exported_totals_keep_growing_across_minutes_and_flushes(tmp_path: Path) -> None:
    """Prometheus counters must never go back: totals include minutes already flushed."""
    clock = FakeClock()
    metrics = Metrics(clock)
    metrics.observe("triage_seconds", 0.1)
    clock.advance(120)
    metrics.observe("triage_seconds", 0.2)
    with Database(tmp_path / "vigil.db") as db:
        metrics.flush(db)
    metrics.observe("triage_seconds", 0.3, ok=False)
    families = _parse(metrics)
    assert _value(families["vigil_triage_seconds"], "_count") == 3
    assert _value(families["vigil_triage_seconds"], "_sum") == pytest.approx(0.6)
    assert _value(families["vigil_triage_calls"], "_total", outcome="failure") == 1


def test_series_with_different_label_names_share_one_family() -> None:
    """Label sets of one metric may differ; the missing label is exported empty, not dropped."""
    metrics = Metrics(FakeClock())
    metrics.count("retries", dependency="git")
    metrics.count("retries", provider="local")
    families = _parse(metrics)
    retries = families["vigil_retries"]
    assert _value(retries, "_total", dependency="git") == 1
    assert _value(retries, "_total", provider="local") == 1


def test_an_empty_registry_renders_an_empty_exposition() -> None:
    """Before anything is recorded, ``/metrics`` is valid and empty."""
    assert _parse(Metrics(FakeClock())) == {}
