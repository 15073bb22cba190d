"""The dashboard's sources, chosen here: the stores, ``why``, and a daemon's live state.

``vigil.api.dashboard`` knows only :class:`~vigil.api.dashboard.sources.Sources`;
:func:`daemon_sources` binds it to a running daemon (its health report, its in-memory metrics,
its live notices), :func:`store_sources` to a state directory alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vigil.api.dashboard.sources import Sources

if TYPE_CHECKING:
    from vigil.app import Vigil
    from vigil.reliability.metrics import Rollup


def store_sources(
    vigil: Vigil,
    *,
    health: Callable[[], dict[str, Any]] | None = None,
    unflushed: Callable[[], list[Rollup]] = list,
) -> Sources:
    """What the dashboard reads from ``vigil``'s stores; ``health`` gives the health report
    (default: the stored breakers only, as ``vigil health`` shows them without a daemon)."""
    from vigil.app.why import why
    from vigil.reliability.metrics import ensure_schema, load_rollups

    control = vigil.control
    checked: list[bool] = []

    def stored_health() -> dict[str, Any]:
        return {
            "ready": False,
            "status": "no daemon",
            "reasons": [],
            "components": [],
            "breakers": vigil.breaker_snapshot(),
        }

    def proposals(include_all: bool) -> list[dict[str, Any]]:
        control.expire_due()  # as the API's listing does: nothing expired shows as pending
        return [p.to_dict() for p in control.store.find(include_all=include_all)]

    def rollups(start: int, end: int) -> list[Rollup]:
        if not checked:
            ensure_schema(vigil.db)
            checked.append(True)
        stored = load_rollups(vigil.db, start, end)
        return stored + [r for r in unflushed() if start <= r.start < end]

    def search(query: str) -> list[dict[str, Any]]:
        return [hit.to_dict() for hit in vigil.knowledge.search(query, limit=20)]

    def explain(identifier: str) -> tuple[str, dict[str, Any]]:
        found = why(vigil, identifier)
        return found.kind, found.body

    return Sources(
        db=vigil.db,
        log=vigil.log,
        clock=vigil.clock,
        health=health or stored_health,
        proposals=proposals,
        search=search,
        entry=lambda identifier: vigil.knowledge.get(identifier).to_dict(),
        why=explain,
        rollups=rollups,
        notifications_dir=vigil.settings.home / "notifications",
    )


def daemon_sources(vigil: Vigil, daemon: Any) -> Sources:
    """What the dashboard reads in the daemon ``daemon`` (a :class:`vigil.app.daemon.Daemon`)."""
    sources = store_sources(vigil, health=daemon.health_report, unflushed=daemon.metrics.unflushed)
    sources.notices = daemon.notices
    if daemon.hearing is not None:
        sources.closing = daemon.hearing.api.closing
    return sources
