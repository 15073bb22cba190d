"""The dashboard's sources, chosen here: the daemon's stores, its live state and ``why``.

``vigil.api.dashboard`` knows only :class:`~vigil.api.dashboard.sources.Sources`; this module
binds it to a running daemon (its health report, its in-memory metrics, its live notices).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vigil.api.dashboard.sources import Sources

if TYPE_CHECKING:
    from vigil.app import Vigil
    from vigil.reliability.metrics import Rollup


def daemon_sources(vigil: Vigil, daemon: Any) -> Sources:
    """What the dashboard reads in the daemon ``daemon`` (a :class:`vigil.app.daemon.Daemon`)."""
    from vigil.app.why import why
    from vigil.reliability.metrics import ensure_schema, load_rollups

    control = vigil.control
    metrics = daemon.metrics
    checked: list[bool] = []

    def proposals(include_all: bool) -> list[dict[str, Any]]:
        control.expire_due()  # as the API's listing does: nothing expired shows as pending
        return [p.to_dict() for p in control.store.find(include_all=include_all)]

    def rollups(start: int, end: int) -> list[Rollup]:
        if not checked:
            ensure_schema(vigil.db)
            checked.append(True)
        stored = load_rollups(vigil.db, start, end)
        return stored + [r for r in metrics.unflushed() if start <= r.start < end]

    def search(query: str) -> list[dict[str, Any]]:
        return [hit.to_dict() for hit in vigil.knowledge.search(query, limit=20)]

    def explain(identifier: str) -> tuple[str, dict[str, Any]]:
        found = why(vigil, identifier)
        return found.kind, found.body

    hearing = daemon.hearing
    sources = Sources(
        db=vigil.db,
        log=vigil.log,
        clock=vigil.clock,
        health=daemon.health_report,
        proposals=proposals,
        search=search,
        entry=lambda identifier: vigil.knowledge.get(identifier).to_dict(),
        why=explain,
        rollups=rollups,
        notices=daemon.notices,
        notifications_dir=vigil.settings.home / "notifications",
    )
    if hearing is not None:
        sources.closing = hearing.api.closing
    return sources
