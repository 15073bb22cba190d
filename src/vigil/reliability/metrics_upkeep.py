"""The daemon's metric chores: sample resources, flush the registry, compact the rows."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from vigil.clock import Clock
from vigil.errors import StorageError
from vigil.reliability.metrics_store import compact
from vigil.reliability.metrics_window import TIMER, Labels, Rollup, Window
from vigil.storage import Database

if TYPE_CHECKING:
    from vigil.reliability.metrics import Metrics
    from vigil.reliability.resources import ResourceSampler

log = logging.getLogger("vigil.metrics")


class MetricsUpkeep:
    """The daemon's metric chores as one supervised component (``await upkeep(beat)``).

    Every ``sample_s`` (15 s) it samples resources into the registry; every ``flush_s`` (60 s)
    it flushes; every ``compact_s`` (1 h) it compacts; the first round does all three. A storage
    error is logged when it first appears and retried on the next round (the data stays in
    memory); anything else propagates, so the supervisor restarts the component. ``close()`` is
    the final flush at shutdown.
    """

    def __init__(
        self,
        metrics: Metrics,
        db: Database,
        clock: Clock,
        sampler: ResourceSampler | None = None,
        *,
        sample_s: float = 15.0,
        flush_s: float = 60.0,
        compact_s: float = 3600.0,
    ) -> None:
        self._metrics, self._db, self._clock, self._sampler = metrics, db, clock, sampler
        self.sample_s, self.flush_s, self.compact_s = sample_s, flush_s, compact_s
        start = clock.monotonic()
        self._next_flush = start  # at once, so the first resource sample is visible
        self._next_compact = start
        self.error: str | None = None

    async def __call__(self, beat: Callable[[], object]) -> None:
        while True:
            await self.tick()
            beat()
            await self._clock.sleep(self.sample_s)

    async def tick(self) -> None:
        """Do whatever is due now."""
        import asyncio

        moment = self._clock.monotonic()
        if self._sampler is not None:
            try:
                sample = await asyncio.to_thread(self._sampler.sample)
            except OSError as exc:  # no /proc (not Linux): stop sampling, say so once
                log.warning("resource sampling unavailable", extra={"error": str(exc)})
                self._sampler = None
            else:
                self._metrics.record_resources(sample)
        if moment >= self._next_flush:
            self._next_flush = moment + self.flush_s
            _log_performance(self._metrics.unflushed())
            await self._storage(self._metrics.flush, self._db)
        if moment >= self._next_compact:
            self._next_compact = moment + self.compact_s
            await self._storage(compact, self._db, self._clock.now())

    async def close(self) -> None:
        """The final flush, at shutdown (after the consumers have stopped)."""
        await self._storage(self._metrics.flush, self._db)

    async def _storage(self, fn: Callable[..., object], *args: Any) -> None:
        try:
            await self._db.call(fn, *args)
        except StorageError as exc:
            if str(exc) != self.error:
                log.error("metrics not stored; will retry", extra={"error": str(exc)})
            self.error = str(exc)
        else:
            self.error = None


def _log_performance(rows: Sequence[Rollup]) -> None:
    """One info line per flush with each timed series' count, failures and p50/p95."""
    merged: dict[tuple[str, Labels], Window] = {}
    for row in rows:
        if row.window.kind == TIMER and row.window.count:
            merged.setdefault((row.name, row.labels), Window(TIMER)).merge(row.window)
    if not merged:
        return
    figures = []
    for (name, labels), window in sorted(merged.items()):
        p50, p95 = window.percentile(50), window.percentile(95)
        figures.append(
            {
                "name": name,
                "labels": dict(labels),
                "count": window.count,
                "failures": window.failures,
                "p50_ms": None if p50 is None else round(p50 * 1000, 3),
                "p95_ms": None if p95 is None else round(p95 * 1000, 3),
            }
        )
    log.info("performance", extra={"series": figures})
