"""``/metrics``: the metrics registry in Prometheus text format (the prometheus_client adapter).

The only module that imports ``prometheus_client``. Every series is exported with its totals since
the daemon started, under a ``vigil_`` prefix:

- a timer ``handler_seconds{consumer}`` becomes the histogram ``vigil_handler_seconds`` (``_bucket``
  with ``le``, ``_sum``, ``_count``) and the counter ``vigil_handler_calls_total{outcome}`` with
  ``outcome="success"`` and ``outcome="failure"``;
- a counter ``name`` becomes ``vigil_name_total``; a gauge, ``vigil_name`` (its latest value).

Series of one name may carry different label names; each family declares their union and a
missing label is exported as ``""``, which Prometheus treats as absent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from vigil.reliability.metrics import BOUNDS, COUNTER, GAUGE, TIMER, Metrics, SeriesKey, Window

PREFIX = "vigil_"
_INVALID = re.compile(r"[^a-zA-Z0-9_]")
_LE = tuple(repr(bound) for bound in BOUNDS)  # 0.0001 ... 60.0, as Prometheus writes them


def _name(text: str) -> str:
    clean = _INVALID.sub("_", text)
    return clean if clean[:1].isalpha() or clean[:1] == "_" else f"_{clean}"


class RegistryCollector(Collector):
    """A prometheus_client collector that reads a :class:`Metrics` registry at scrape time."""

    def __init__(self, metrics: Metrics, *, prefix: str = PREFIX) -> None:
        self._metrics = metrics
        self._prefix = prefix

    def collect(self) -> Iterator[Metric]:
        groups: dict[str, list[tuple[SeriesKey, Window]]] = {}
        for key, window in self._metrics.snapshot():
            groups.setdefault(key[0], []).append((key, window))
        for name, series in groups.items():
            label_names = sorted({_name(k) for (_, labels), _ in series for k, _ in labels})
            kind = series[0][1].kind
            full = self._prefix + _name(name)
            if kind == TIMER:
                yield from self._timer(full, name, label_names, series)
            elif kind == COUNTER:
                family: Any = CounterMetricFamily(full, f"Vigil counter {name}", labels=label_names)
                for (_, labels), window in series:
                    family.add_metric(_values(label_names, labels), window.count)
                yield family
            elif kind == GAUGE:
                family = GaugeMetricFamily(full, f"Vigil gauge {name}", labels=label_names)
                for (_, labels), window in series:
                    family.add_metric(_values(label_names, labels), window.last)
                yield family

    def _timer(
        self,
        full: str,
        name: str,
        label_names: list[str],
        series: list[tuple[SeriesKey, Window]],
    ) -> Iterator[Metric]:
        histogram = HistogramMetricFamily(full, f"Vigil timer {name}", labels=label_names)
        base = full.removesuffix("_seconds")
        outcomes = CounterMetricFamily(
            f"{base}_calls",
            f"Calls timed by {name}, by outcome",
            labels=[*label_names, "outcome"],
        )
        for (_, labels), window in series:
            values = _values(label_names, labels)
            cumulative, buckets = 0, []
            for le, count in zip(_LE, window.buckets, strict=False):
                cumulative += count
                buckets.append((le, float(cumulative)))
            buckets.append(("+Inf", float(window.count)))
            histogram.add_metric(values, buckets, sum_value=window.sum)
            outcomes.add_metric([*values, "success"], window.count - window.failures)
            outcomes.add_metric([*values, "failure"], window.failures)
        yield histogram
        yield outcomes


def _values(label_names: list[str], labels: tuple[tuple[str, str], ...]) -> list[str]:
    given = {_name(k): v for k, v in labels}
    return [given.get(k, "") for k in label_names]


def render_latest(metrics: Metrics) -> tuple[bytes, str]:
    """The registry as a Prometheus text exposition: ``(body, content type)``.

    The classic 0.0.4 text format, which every Prometheus version scrapes (our names need none
    of the newer format's escaping).
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RegistryCollector(metrics))
    return generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4
