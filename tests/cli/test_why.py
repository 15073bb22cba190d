"""``vigil why``: a triage explained from its receipt."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import events, vigil


def test_why_explains_a_triage_from_any_of_its_ids(home: Path, tmp_path: Path) -> None:
    """``vigil why`` on the failure, on its triage and on the receipt tells the same story:
    what was parsed, the fingerprint, and that the triage was deterministic."""
    script = "print('Traceback (most recent call last):'); raise SystemExit(\"error: db is down\")"
    done = vigil("run", "--", "python3", "-c", script, home=home, cwd=tmp_path)
    assert done.returncode == 1
    failure = events(home, "--type", "build.run.failed")[0]
    triage = events(home, "--type", "triage.completed")[0]
    by_failure = json.loads(vigil("why", failure["id"], "--json", home=home).stdout)
    by_triage = json.loads(vigil("why", triage["id"], "--json", home=home).stdout)
    receipt_id = by_failure["receipts"][0]["id"]
    by_receipt = json.loads(vigil("why", receipt_id, "--json", home=home).stdout)
    assert by_failure["receipts"] == by_triage["receipts"] == by_receipt["receipts"]
    receipt = by_failure["receipts"][0]
    assert receipt["kind"] == "triage" and receipt["provider"] == "deterministic"
    assert receipt["subject"] == failure["id"]
    assert receipt["outcome"]["fingerprint"] == triage["fingerprint"]
    human = vigil("why", failure["id"], home=home)
    assert human.returncode == 0 and "deterministic" in human.stdout
    assert triage["data"]["summary"] in human.stdout


def test_why_unknown_id_is_one_line(home: Path) -> None:
    """An id nothing explains is one clear line and a non-zero exit."""
    done = vigil("why", "ev_nothing", home=home)
    assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1
