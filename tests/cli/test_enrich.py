"""Enrichment seen from the command line: the prompt comes back at once, a model's explanation
arrives later from the daemon, and ``--explain`` waits for it on request."""

from __future__ import annotations

import time
from pathlib import Path

from tests.cli.helpers import daemon, events, vigil, wait_for
from tests.reasoning.conftest import openai_server as openai_server  # the fixture
from tests.reasoning.openai_server import Hang, OpenAIServer

FAIL = ["run", "--", "sh", "-c", "echo 'src/app.c:12:5: error: count undeclared'; exit 2"]


def _slow_model(home: Path, server: OpenAIServer, *, deadline_s: float, extra: str = "") -> None:
    """A configured model that never answers, then rules."""
    server.default = Hang()
    (home / "config.toml").write_text(
        f"{extra}[reasoning]\nenrich_deadline_s = {deadline_s}\n\n"
        "[[reasoning.providers]]\n"
        f'name = "slow"\nkind = "openai"\nbase_url = "{server.base_url}"\n'
        'model = "m"\ntimeout_s = 0.3\n\n'
        '[[reasoning.providers]]\nname = "rules"\nkind = "rules"\n'
    )


def test_failed_run_prints_an_enrichment_and_stores_it_once(home: Path, tmp_path: Path) -> None:
    """With no model enabled for enrichment, ``vigil run`` words it by rules at once, prints it
    after the diagnosis and stores exactly one ``triage.enriched`` caused by the triage."""
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
    """With the daemon up, the run's rules enrichment and the daemon's enricher never both
    store one: exactly one ``triage.enriched``, and the run prints it."""
    with daemon(home):
        done = vigil(*FAIL, home=home, cwd=tmp_path)
        assert "next:" in done.stderr
        time.sleep(0.5)
        assert len(events(home, "--type", "triage.enriched")) == 1


def test_a_model_never_holds_the_prompt(
    home: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """With a model enabled for enrichment (here one that hangs, with a 60 s deadline), the run
    returns right after the diagnosis, says where the explanation will appear, stores none; the
    daemon's enricher delivers it later, naming the model it skipped."""
    _slow_model(home, openai_server, deadline_s=60)
    done = vigil(*FAIL, home=home, cwd=tmp_path, timeout=30)  # far less than the deadline
    assert done.returncode == 2
    assert "app.c" in done.stderr and "next:" not in done.stderr
    assert "slow will explain this in the background: vigil why ev_" in done.stderr
    assert events(home, "--type", "triage.enriched") == []
    with daemon(home):
        enriched = wait_for(lambda: events(home, "--type", "triage.enriched"), timeout=30)
    data = enriched[0]["data"]
    assert data["provider"] == "rules"
    assert any(s["provider"] == "slow" for s in data["skipped"])


def test_explain_waits_for_the_chain(
    home: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """``vigil run --explain`` waits (up to the enrichment deadline) for the chain: the hanging
    model is cut off by its timeout and the rules' explanation is printed and stored."""
    _slow_model(home, openai_server, deadline_s=5)
    done = vigil("run", "--explain", *FAIL[2:], home=home, cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert "next:" in done.stderr
    (enriched,) = events(home, "--type", "triage.enriched")
    assert enriched["data"]["provider"] == "rules"
    assert [s["provider"] for s in enriched["data"]["skipped"]] == ["slow"]


def test_explain_from_config(home: Path, tmp_path: Path, openai_server: OpenAIServer) -> None:
    """``[run] explain = true`` makes every run wait for the explanation, as ``--explain``."""
    _slow_model(home, openai_server, deadline_s=5, extra="[run]\nexplain = true\n\n")
    done = vigil(*FAIL, home=home, cwd=tmp_path, timeout=60)
    assert "next:" in done.stderr
    assert len(events(home, "--type", "triage.enriched")) == 1


def test_bad_explain_value_is_one_clear_line(home: Path, tmp_path: Path) -> None:
    """A non-boolean ``[run] explain`` is refused with one line, and the command still runs."""
    (home / "config.toml").write_text('[run]\nexplain = "sometimes"\n')
    done = vigil("run", "--", "true", home=home, cwd=tmp_path)
    assert done.returncode == 0
    assert "explain must be true or false" in done.stderr and "Traceback" not in done.stderr


def test_a_model_still_generating_does_not_hold_the_exit(tmp_path: Path) -> None:
    """When a local model is still generating after ``--explain`` gave up on it, ``vigil run``
    ends its process with the command's exit code instead of waiting for the generation (here a
    stand-in worker that would run for 60 s; the subprocess is allowed 30)."""
    import subprocess
    import sys

    script = (
        "import threading, time\n"
        "from vigil.reasoning.providers import embedded\n"
        "worker = threading.Thread(target=time.sleep, args=(60,), name='vigil-embedded')\n"
        "embedded._WORKERS.add(worker)\n"
        "worker.start()\n"
        "from vigil.cli.run import _leave_models_behind\n"
        "print('leaving', flush=True)\n"
        "_leave_models_behind(3)\n"
        "print('not reached')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    assert done.returncode == 3
    assert done.stdout == "leaving\n"
