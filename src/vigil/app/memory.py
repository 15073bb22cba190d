"""Memory faces wired to one process's stores: the briefing, predictions, sessions, remember.

The CLI (``vigil brief``, the first command of a session, ``vigil run``) and the MCP server call
these; they choose nothing themselves.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from vigil.memory.session import Session, Sessions

if TYPE_CHECKING:
    from vigil.app import Vigil
    from vigil.memory.prediction import Predictions

#: `remember` (MCP) refuses text longer than this: a note, not a dump.
MAX_REMEMBER = 4000


def sessions(vigil: Vigil) -> Sessions:
    return Sessions(vigil.settings.run_dir, timedelta(hours=vigil.settings.idle_gap_h))


def predictions(vigil: Vigil) -> Predictions:
    """Back-tested predictions from this home's run history."""
    from vigil.memory.prediction import Predictions, load_runs, predict

    vigil.ensure_schema()
    try:
        runs = load_runs(vigil.db)
    except Exception:  # noqa: BLE001 - a damaged row must not stop a briefing
        return Predictions(note="predictions unavailable: the run history could not be read")
    return predict(runs, vigil.settings.predict_min_evidence)


def briefing(
    vigil: Vigil,
    since: datetime | None,
    now: datetime | None = None,
    *,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The briefing of ``since`` (``None``: the beginning) to ``until`` (``None``: now), with
    the predictions worth saying."""
    from vigil.memory import briefing as rules

    vigil.ensure_schema()
    found = predictions(vigil)
    good = [
        r.to_dict()
        for r in found.rules
        if (r.hit_rate or 0.0) >= vigil.settings.predict_min_hit_rate
    ][:5]
    note = found.note
    if not good and note is None:
        note = (
            f"no prediction reaches the {vigil.settings.predict_min_hit_rate:.0%} hit rate"
            " needed to be mentioned"
        )
    return rules.build(vigil.db, now or vigil.clock.now(), since, good, note, until=until)


def since_last_session(vigil: Vigil) -> tuple[Session | None, datetime | None]:
    """The current session and where the previous one ended."""
    session = sessions(vigil).current()
    return session, session.previous_end if session is not None else None
