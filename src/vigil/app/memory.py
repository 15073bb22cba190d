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


class PredictionHint:
    """Predictions computed on a thread of their own while ``vigil run``'s command runs (its own
    database connection: nothing it does can hold the prompt), then matched to the run."""

    def __init__(self, vigil: Vigil) -> None:
        import threading

        self._settings = vigil.settings
        self._found: Predictions | None = None
        self._thread = threading.Thread(target=self._work, name="vigil-predict", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        from vigil.memory.prediction import load_runs, predict
        from vigil.storage import Database

        try:
            with Database(self._settings.db_path) as db:
                runs = load_runs(db)
            self._found = predict(runs, self._settings.predict_min_evidence)
        except Exception:  # noqa: BLE001 - a hint is a courtesy; the run goes on without it
            self._found = None

    def lines(self, vigil: Vigil, finished: Any, *, wait: bool) -> list[str]:
        """What to say about this run (``finished``: its stored event), if anything: a failure
        a good prediction foresaw, or the command that usually comes next after a pass."""
        from vigil.memory.prediction import load_runs

        self._thread.join(None if wait else 0.0)
        found = self._found
        if found is None or not found.rules:
            return []
        threshold = self._settings.predict_min_hit_rate
        recent = [r for r in load_runs(vigil.db, limit=50) if r.command == finished.subject]
        current = recent[-1] if recent and recent[-1].seq == finished.seq else None
        out: list[str] = []
        if current is not None and current.failed:
            for rule in found.for_run(current.command, current.changed, threshold):
                if rule.effect in current.failures:
                    out.append(
                        f"── vigil ── foreseen: {rule.to_dict()['text']}; hit rate"
                        f" {rule.hit_rate or 0:.0%} ({rule.hits}/{rule.tried} back-tested)"
                    )
        elif current is not None:
            for rule in found.rules:
                if rule.kind == "next_command" and rule.cause == current.command:
                    if (rule.hit_rate or 0.0) >= threshold:
                        out.append(
                            f"── vigil ── next you usually run: {rule.effect} (hit rate"
                            f" {rule.hit_rate or 0:.0%}, {rule.hits}/{rule.tried} back-tested)"
                        )
                    break
        return out[:2]
