"""What a spoken command does: events for the parts that own the effect, and a spoken answer."""

from __future__ import annotations

import wave
from pathlib import Path

from vigil.app import Vigil
from vigil.app.voice import act
from vigil.config import Settings, load_settings
from vigil.sources.voice.listener import Heard
from vigil.testing import FakeClock

WAKE = "hey vigil"


def _heard(text: str, intent: str | None, slots: dict[str, int] | None = None) -> Heard:
    return Heard(f"{WAKE} {text}", intent is not None, intent, slots or {}, 0.9, WAKE)


def test_quiet_publishes_focus_until_now_plus_the_duration(settings: Settings) -> None:
    """'be quiet for ten minutes' stores the command and attention.focus.changed with until =
    now + 600 s, caused by the command; the answer says so."""
    clock = FakeClock()
    with Vigil.open(settings, clock) as vigil:
        outcome = act(
            vigil,
            _heard("be quiet for ten minutes", "quiet", {"duration_s": 600}),
            cwd="/w",
            speak=False,
        )
        command, focus = outcome.events
        assert command.type == "voice.command.heard" and command.source == "vigil.voice"
        assert command.data["intent"] == "quiet" and command.data["slots"] == {"duration_s": 600}
        assert focus.type == "attention.focus.changed"
        assert focus.data["until"] == "2026-01-01T12:10:00.000000Z"
        assert focus.causation_id == command.id
        assert [e.id for e in vigil.log.find(patterns=["attention.*"])] == [focus.id]
        assert outcome.answer == "Quiet for 10 minutes."


def test_run_tests_requests_a_proposal_for_the_last_vigil_run(settings: Settings) -> None:
    """'run the tests' never runs anything: it publishes action.requested with the argv of the
    last `vigil run`, for control to turn into a proposal."""
    with Vigil.open(settings, FakeClock()) as vigil:
        started = vigil.event(
            "build.run.started", {"command": "make check", "cwd": "/w", "argv": ["make", "check"]}
        )
        vigil.publish([started])
        outcome = act(vigil, _heard("run the tests", "run_tests"), cwd="/w", speak=False)
        request = outcome.events[1]
        assert request.type == "action.requested"
        assert request.data["action"] == "run_command"
        assert request.data["args"] == {"argv": ["make", "check"], "cwd": "/w"}
        assert request.data["proposer"] == "voice"
        assert "approve" in (outcome.answer or "")
        assert not vigil.log.find(patterns=["build.run.passed", "build.run.failed"])


def test_run_tests_becomes_a_pending_proposal(settings: Settings, tmp_path: Path) -> None:
    """The voice's request goes through control's seam: a pending proposal for a person, caused
    by the request, that nothing runs before an approval."""
    from vigil.app.control import requests_handler
    from vigil.events.bus import run_handler

    with Vigil.open(settings, FakeClock()) as vigil:
        vigil.ensure_schema()
        outcome = act(vigil, _heard("run the tests", "run_tests"), cwd=str(tmp_path), speak=False)
        request = outcome.events[1]
        run_handler(vigil.log, "control.requests", requests_handler(vigil.control), request)
        (proposed,) = vigil.log.find(patterns=["action.proposed"])
        assert proposed.causation_id == request.id
        (proposal,) = vigil.control.store.find(include_all=True)
        assert proposal.status == "pending" and proposal.args["argv"] == ["pytest", "-q"]
        assert not vigil.log.find(patterns=["action.executed", "action.approved"])


def test_run_tests_uses_the_configured_test_command(home: Path) -> None:
    """[voice] test_command wins over the last `vigil run`."""
    config = home / "config.toml"
    config.write_text(config.read_text() + '\n[voice]\ntest_command = "tox -e py311"\n')
    with Vigil.open(load_settings(), FakeClock()) as vigil:
        outcome = act(vigil, _heard("run the tests", "run_tests"), cwd="/w", speak=False)
        assert outcome.events[1].data["args"]["argv"] == ["tox", "-e", "py311"]


def test_what_broke_answers_from_the_last_triage_and_speaks_it(settings: Settings) -> None:
    """'what broke' says the last triage's summary and its known fix, into a real WAV, and records
    that the answer was spoken."""
    with Vigil.open(settings, FakeClock()) as vigil:
        triage = vigil.event(
            "triage.completed",
            {
                "summary": "1 failure (pytest): test_calc.py:5 AssertionError",
                "known_fixes": [{"id": "kb_1", "title": "Reset the test database"}],
            },
        )
        vigil.publish([triage])
        outcome = act(vigil, _heard("what broke", "what_broke"), cwd="/w")
        assert outcome.answer == (
            "The last failure: 1 failure (pytest): test_calc.py:5 AssertionError. "
            "Last time it was fixed by: Reset the test database."
        )
        assert outcome.wav is not None
        with wave.open(str(outcome.wav), "rb") as handle:
            assert handle.getnframes() / handle.getframerate() > 2.0
        spoken = outcome.events[-1]
        assert spoken.type == "voice.answer.spoken"
        assert spoken.data["played"] == outcome.played and spoken.data["text"] == outcome.answer


def test_what_broke_with_no_failure_says_so(settings: Settings) -> None:
    """With no triage recorded, the answer says nothing has failed."""
    with Vigil.open(settings, FakeClock()) as vigil:
        outcome = act(vigil, _heard("what broke", "what_broke"), cwd="/w", speak=False)
        assert outcome.answer == "Nothing has failed that I know of."


def test_read_notifications_reads_the_latest_titles_newest_first(settings: Settings) -> None:
    """'read my notifications' lists the requested notifications' titles, newest first."""
    clock = FakeClock()
    with Vigil.open(settings, clock) as vigil:
        for title in ("CI failed on main", "Disk almost full"):
            vigil.publish([vigil.event("notification.requested", {"title": title})])
            clock.advance(1)
        outcome = act(
            vigil, _heard("read my notifications", "read_notifications"), cwd="/w", speak=False
        )
        assert outcome.answer == (
            "Your latest 2 notifications: Disk almost full. CI failed on main."
        )


def test_speech_not_addressed_to_vigil_is_never_stored(settings: Settings) -> None:
    """An utterance without the wake phrase (or without a command) stores nothing at all."""
    with Vigil.open(settings, FakeClock()) as vigil:
        before = vigil.log.count()
        outcome = act(
            vigil, Heard("run the tests", False, None, {}, 0.9, WAKE), cwd="/w", speak=False
        )
        woken_only = act(vigil, Heard(WAKE, True, None, {}, 0.9, WAKE), cwd="/w", speak=False)
        assert outcome.events == [] and woken_only.events == []
        assert vigil.log.count() == before
