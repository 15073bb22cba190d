"""Enrichment seen from the command line: inline within the deadline, or later from the daemon."""

from __future__ import annotations

import time
from pathlib import Path

from tests.cli.helpers import daemon, events, vigil, wait_for
from tests.reasoning.conftest import openai_server as openai_server  # the fixture
from tests.reasoning.openai_server import Hang, OpenAIServer

FAIL = ["run", "--", "sh", "-c", "echo 'src/app.c:12:5: error: count undeclared'; exit 2"]


def test_failed_run_prints_an_enrichment_and_stores_it_once(home: Path, tmp_path: Path) -> None:
    """With no daemon, ``vigil run`` adds the explanation and next step after the diagnosis
    and stores exactly one ``triage.enriched`` caused by the triage, with a receipt."""
    done = vigil(*FAIL, home=home, cwd=tmp_path)
    assert done.returncode == 2
    assert "next:" in done.stderr and "app.c" in done.stderr.split("next:")[-1]
    triage = events(home, "--type", "triage.completed")[0]
    (enriched,) = events(home, "--type", "triage.enriched")
    assert enriched["causation_id"] == triage["id"]
    assert enriched["data"]["provider"] == "rules" and enriched["data"]["on_time"] is True
    why = vigil("why", enriched["id"], home=home)
    assert "enrichment" in why.stdout and "triage" in why.stdout


def test_enrichment_beside_the_daemon_is_done_once(home: Path, tmp_path: Path) -> None:
    """With the daemon up, its enricher does the work and ``vigil run`` prints what it wrote."""
    with daemon(home):
        done = vigil(*FAIL, home=home, cwd=tmp_path)
        assert "next:" in done.stderr
        time.sleep(0.5)
        assert len(events(home, "--type", "triage.enriched")) == 1


def test_missed_deadline_arrives_later_from_the_daemon(
    home: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """When the chain misses the enrichment deadline (a hanging provider), the run prints its
    diagnosis without waiting longer, and the daemon's enricher delivers it later."""
    openai_server.default = Hang()
    (home / "config.toml").write_text(
        "[reasoning]\nenrich_deadline_s = 0.5\n\n"
        "[[reasoning.providers]]\n"
        f'name = "slow"\nkind = "openai"\nbase_url = "{openai_server.base_url}"\n'
        'model = "m"\ntimeout_s = 0.3\n\n'
        '[[reasoning.providers]]\nname = "rules"\nkind = "rules"\n'
    )
    started = time.monotonic()
    done = vigil(*FAIL, home=home, cwd=tmp_path)
    assert time.monotonic() - started < 10
    assert "app.c" in done.stderr
    with daemon(home):
        enriched = wait_for(lambda: events(home, "--type", "triage.enriched"), timeout=30)
    data = enriched[0]["data"]
    assert data["provider"] == "rules"
    assert any(s["provider"] == "slow" for s in data["skipped"])
