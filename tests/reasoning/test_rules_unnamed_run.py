"""The rules provider names a failing run that has no command without printing ``None``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vigil.app import Vigil
from vigil.config import load_settings
from vigil.reasoning.providers.rules import RulesProvider
from vigil.reasoning.workspace import StoreWorkspace


def test_a_failure_without_a_subject_is_listed_by_its_id_not_as_none(tmp_path: Path) -> None:
    """The "Also failing" line lists a failed run stored without a subject (an ingested event)
    as a run without a command, with its id, never as `None`."""

    def no_git(*args: Any) -> Any:
        raise OSError("not a git repository")

    with Vigil(load_settings()) as vigil:
        named = vigil.event(
            "build.run.failed",
            {"command": "make", "exit_code": 2, "output_tail": "error: broke\n"},
            subject="make",
        )
        unnamed = vigil.event("build.run.failed", {"exit_code": 1, "output_tail": "boom\n"})
        vigil.publish([named])
        (stored,) = vigil.publish([unnamed])
        workspace = StoreWorkspace(
            log=vigil.log,
            knowledge=vigil.knowledge,
            history=vigil.history,
            git_log=no_git,
            git_diff=no_git,
            project_dir=tmp_path,
            log_dir=vigil.settings.log_dir,
            daemon_running=lambda: False,
        )
        text = RulesProvider(workspace).answer("why did make fail?").text
    assert "None" not in text
    assert f"Also failing: a run without a command ({stored.id})." in text
