"""The chores, wired to one process's stores (``vigil chores`` and the daemon's scheduler)."""

from __future__ import annotations

from vigil.app import Vigil
from vigil.handlers.chore_work import WORK, ChorePlace
from vigil.handlers.chores import Chores, ChoreStore, parse_chores


def open_chores(vigil: Vigil) -> Chores:
    """Every chore with its schedule from config and its stored runs."""
    _, specs = parse_chores(vigil.settings.chores)
    settings = vigil.settings
    place = ChorePlace(
        log=vigil.log,
        clock=vigil.clock,
        db_path=settings.db_path,
        log_dir=settings.log_dir,
        backup_dir=settings.home / "backups",
    )
    work = {name: make(place) for name, make in WORK.items()}
    return Chores(specs, work, ChoreStore(vigil.db), vigil.clock)
