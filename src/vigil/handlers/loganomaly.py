"""Anomalies in a followed log: mined records in, ``log.anomaly.detected`` payloads out.

Three kinds, each judged against a baseline it reports:

* ``new_template``: a template this stream never had before, on a record at warning level or
  worse. Baseline: how many templates the stream knew.
* ``rate_spike``: a template seen far more often in the current window than its own usual rate.
  The usual rate is an exponentially weighted mean of its counts per window (windows without it
  count as zero); a spike needs ``SPIKE_FACTOR`` times that plus three Poisson deviations, at
  least ``SPIKE_MIN`` records, and ``MIN_HISTORY`` windows of history for the stream.
* ``error_burst``: error-or-worse records of any template, in a window, far above the stream's
  usual error rate (the same test; at least ``BURST_MIN``). It names the most frequent error
  template of the burst.

Each is raised the moment a record crosses its threshold (not at the end of a window), with up
to ``SAMPLES`` sample lines, and once while it lasts: a spike or burst can fire again only after
a window that fell back under half its threshold; a template is new only once.

Time is the injected clock's monotonic time, so tests drive the windows with a fake clock.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from vigil.clock import Clock
from vigil.parsing.loglines import ERROR_RANK, LogRecord

WINDOW_S = 10.0
ALPHA = 0.2  # weight of the newest window in the running mean (about five windows' memory)
MIN_HISTORY = 6  # windows observed before rates are judged
SPIKE_FACTOR = 5.0
SPIKE_MIN = 20
BURST_FACTOR = 5.0
BURST_MIN = 10
SAMPLES = 5
SAMPLE_CHARS = 500
NEW_PER_WINDOW = 20  # new-template reports per window at most (a new log floods otherwise)

NEW_TEMPLATE = "new_template"
RATE_SPIKE = "rate_spike"
ERROR_BURST = "error_burst"


@dataclass(slots=True)
class _Rate:
    """Counts per window for one template (or the stream's errors)."""

    factor: float = SPIKE_FACTOR
    floor: int = SPIKE_MIN
    window: int = -1  # index of the current window
    count: int = 0
    mean: float = 0.0
    active: bool = False
    samples: deque[str] = field(default_factory=lambda: deque(maxlen=SAMPLES))
    templates: Counter[str] = field(default_factory=Counter)

    def advance(self, window: int) -> None:
        """Close the windows before ``window`` into the running mean."""
        if self.window < 0:
            self.window = window
            return
        if window <= self.window:
            return
        gap = window - self.window
        if self.active and (gap > 1 or self.count < self.limit() / 2):
            self.active = False  # it is over: the next one is news again
        self.mean = self.mean * (1 - ALPHA) + ALPHA * self.count
        if gap > 1:
            self.mean *= (1 - ALPHA) ** (gap - 1)
        self.window = window
        self.count = 0
        self.samples.clear()
        self.templates.clear()

    def limit(self) -> float:
        return threshold(self.mean, self.factor, self.floor)


def threshold(mean: float, factor: float, floor: int) -> float:
    """How many in one window make a spike against ``mean`` per window."""
    return max(float(floor), factor * mean + 3.0 * math.sqrt(mean))


def _sample(record: LogRecord) -> str:
    text = record.raw or record.message
    return text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS] + " [...]"


class AnomalyDetector:
    """Watches one stream's mined records; see the module docstring."""

    def __init__(
        self,
        path: str,
        clock: Clock,
        *,
        window_s: float = WINDOW_S,
        known_templates: int = 0,
        new_per_window: int = NEW_PER_WINDOW,
    ) -> None:
        self.path = path
        self.clock = clock
        self.window_s = window_s
        self.known = known_templates
        self.new_per_window = new_per_window
        self._origin = clock.monotonic()
        self._rates: dict[str, _Rate] = {}
        self._errors = _Rate(factor=BURST_FACTOR, floor=BURST_MIN)
        self._texts: dict[str, str] = {}
        self._first_window: int | None = None
        self._new_window = -1
        self._new_count = 0
        self.suppressed = 0  # new-template reports over the per-window cap

    def _window(self) -> int:
        return int((self.clock.monotonic() - self._origin) // self.window_s)

    def observe(
        self, record: LogRecord, template_id: str, template: str, *, new: bool
    ) -> list[dict[str, Any]]:
        """Take one record; return the anomalies it raises (``log.anomaly.detected`` data)."""
        window = self._window()
        if self._first_window is None:
            self._first_window = window
        history = window - self._first_window
        found: list[dict[str, Any]] = []
        if new:
            if record.severe:
                found += self._new_template(record, template_id, template, window)
            self.known += 1
        rate = self._rates.get(template_id)
        if rate is None:
            rate = self._rates[template_id] = _Rate()
            if self._first_window is not None:
                rate.window = self._first_window  # zero counts before this template existed
        rate.advance(window)
        rate.count += 1
        rate.samples.append(_sample(record))
        limit = rate.limit()
        if not rate.active and history >= MIN_HISTORY and rate.count >= limit:
            rate.active = True
            found.append(
                self._anomaly(
                    RATE_SPIKE,
                    template_id,
                    template,
                    list(rate.samples),
                    {
                        "mean_per_window": round(rate.mean, 3),
                        "window_s": self.window_s,
                        "count": rate.count,
                        "threshold": round(limit, 3),
                        "windows": history,
                    },
                    record,
                )
            )
        if record.rank >= ERROR_RANK:
            found += self._error(record, template_id, template, window, history)
        return found

    def _new_template(
        self, record: LogRecord, template_id: str, template: str, window: int
    ) -> list[dict[str, Any]]:
        if window != self._new_window:
            self._new_window, self._new_count = window, 0
        self._new_count += 1
        if self._new_count > self.new_per_window:
            self.suppressed += 1
            return []
        return [
            self._anomaly(
                NEW_TEMPLATE,
                template_id,
                template,
                [_sample(record)],
                {"known_templates": self.known},
                record,
            )
        ]

    def _error(
        self, record: LogRecord, template_id: str, template: str, window: int, history: int
    ) -> list[dict[str, Any]]:
        errors = self._errors
        if errors.window < 0 and self._first_window is not None:
            errors.window = self._first_window
        errors.advance(window)
        errors.count += 1
        errors.samples.append(_sample(record))
        errors.templates[template_id] += 1
        self._texts[template_id] = template
        limit = errors.limit()
        if errors.active or errors.count < limit:
            return []
        errors.active = True
        top, _ = errors.templates.most_common(1)[0]
        return [
            self._anomaly(
                ERROR_BURST,
                top,
                self._texts.get(top, template),
                list(errors.samples),
                {
                    "mean_per_window": round(errors.mean, 3),
                    "window_s": self.window_s,
                    "count": errors.count,
                    "threshold": round(limit, 3),
                    "windows": history,
                    "templates": len(errors.templates),
                },
                record,
            )
        ]

    def _anomaly(
        self,
        kind: str,
        template_id: str,
        template: str,
        samples: list[str],
        baseline: dict[str, Any],
        record: LogRecord,
    ) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": kind,
            "template": template,
            "template_id": template_id,
            "samples": samples,
            "baseline": baseline,
            "level": record.level,
        }
