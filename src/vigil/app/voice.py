"""What a spoken command does (``vigil listen --act``): events for the parts that own the effect,
and a spoken answer.

Only a command addressed to Vigil (wake phrase heard, intent recognised) is recorded: speech that
was not addressed to Vigil is never stored. Each command is one ``voice.command.heard`` event;
its effects are caused by it:

- ``quiet`` -> ``attention.focus.changed`` (data: ``until``, ISO time), exactly what
  ``vigil focus`` publishes; the attention gates own what focus means;
- ``run_tests`` -> ``action.requested`` (data: ``argv``, ``cwd``, ``why``, ``requested_by``):
  a request for a proposal, never an execution. Control's proposal service consumes it and
  publishes ``action.proposed``; nothing runs without a person's approval;
- ``what_broke`` -> the last ``triage.completed``'s summary and known fix, spoken;
- ``read_notifications`` -> the latest ``notification.requested`` titles, spoken (the inbox is
  built from the same events).

Answers are spoken into ``$VIGIL_HOME/voice/answer.wav`` and played when a device exists; a
``voice.answer.spoken`` event keeps the text and whether it was played.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.clock import isoformat, parse_iso
from vigil.errors import VigilError
from vigil.events import catalog

if TYPE_CHECKING:
    from vigil.app import Vigil
    from vigil.events.model import Event
    from vigil.sources.voice.listener import Heard

SOURCE = "vigil.voice"
MAX_NOTIFICATIONS = 5
DEFAULT_TEST_COMMAND = "pytest -q"


@dataclass(slots=True)
class Outcome:
    """What acting on one command did: the events stored and the answer given."""

    events: list[Event] = field(default_factory=list)
    answer: str | None = None
    wav: Path | None = None
    played: bool = False
    not_played: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": [{"id": e.id, "type": e.type} for e in self.events],
            "answer": self.answer,
            "wav": str(self.wav) if self.wav else None,
            "played": self.played,
            "not_played": self.not_played or None,
        }


def act(vigil: Vigil, heard: Heard, *, cwd: str, speak: bool = True) -> Outcome:
    """Record ``heard`` and carry out its intent through events; speak the answer."""
    outcome = Outcome()
    if not heard.wake or heard.intent is None:
        return outcome
    command = vigil.event(
        catalog.VOICE_COMMAND_HEARD,
        {
            "heard": heard.heard,
            "intent": heard.intent,
            "slots": dict(heard.slots),
            "confidence": round(heard.confidence, 3),
            "wake_phrase": heard.wake_phrase,
        },
        source=SOURCE,
    )
    effects: list[Event] = []
    if heard.intent == "quiet":
        seconds = int(heard.slots.get("duration_s", 3600))
        until = parse_iso(command.time) + timedelta(seconds=seconds)
        effects.append(
            vigil.event(
                catalog.ATTENTION_FOCUS_CHANGED,
                {"until": isoformat(until), "duration_s": seconds, "requested_by": "voice"},
                source=SOURCE,
                cause=command,
            )
        )
        outcome.answer = f"Quiet for {_spoken_duration(seconds)}."
    elif heard.intent == "run_tests":
        argv = _test_command(vigil)
        effects.append(
            vigil.event(
                catalog.ACTION_REQUESTED,
                {
                    "action": "run_command",
                    "args": {"argv": argv, "cwd": cwd},
                    "why": f'asked by voice: "{heard.heard}"',
                    "proposer": "voice",
                },
                source=SOURCE,
                cause=command,
            )
        )
        outcome.answer = (
            f"I asked for a proposal to run {shlex.join(argv)}. It runs when you approve it."
        )
    elif heard.intent == "what_broke":
        outcome.answer = what_broke(vigil)
    elif heard.intent == "read_notifications":
        outcome.answer = read_notifications(vigil)
    outcome.events = vigil.publish([command, *effects])
    if outcome.answer and speak:
        _speak(vigil, outcome, command)
    return outcome


def _speak(vigil: Vigil, outcome: Outcome, command: Event) -> None:
    from vigil.notify.speech import play, synthesize

    wav = vigil.settings.home / "voice" / "answer.wav"
    text = outcome.answer or ""
    try:
        synthesize(text, wav, voice=vigil.settings.voice_name or None)
    except VigilError as exc:  # the answer is printed anyway; say why it was not spoken
        outcome.not_played = str(exc)
        return
    playback = play(wav)
    outcome.wav, outcome.played, outcome.not_played = wav, playback.played, playback.reason
    spoken = vigil.event(
        catalog.VOICE_ANSWER_SPOKEN,
        {"text": text, "wav": str(wav), "played": playback.played, "reason": playback.reason},
        source=SOURCE,
        cause=command,
    )
    outcome.events.extend(vigil.publish([spoken]))


def _test_command(vigil: Vigil) -> list[str]:
    """``[voice] test_command``, else the last command ``vigil run`` ran, else pytest."""
    configured = vigil.settings.voice_test_command.strip()
    if configured:
        return shlex.split(configured)
    for event in vigil.log.find(patterns=[catalog.BUILD_RUN_STARTED], limit=1):
        argv = event.data.get("argv")
        if isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv):
            return list(argv)
    return shlex.split(DEFAULT_TEST_COMMAND)


def what_broke(vigil: Vigil) -> str:
    """The last triage, in a sentence or two."""
    found = vigil.log.find(patterns=[catalog.TRIAGE_COMPLETED], limit=1)
    if not found:
        return "Nothing has failed that I know of."
    data = found[0].data
    summary = str(data.get("summary") or "a failure I could not read").rstrip(".")
    answer = f"The last failure: {summary}."
    fixes = data.get("known_fixes") or []
    if fixes and isinstance(fixes[0], dict) and fixes[0].get("title"):
        answer += f" Last time it was fixed by: {str(fixes[0]['title']).rstrip('.')}."
    return answer


def read_notifications(vigil: Vigil) -> str:
    """The latest notification requests, newest first."""
    found = vigil.log.find(patterns=[catalog.NOTIFICATION_REQUESTED], limit=MAX_NOTIFICATIONS + 1)
    if not found:
        return "You have no notifications."
    titles = [str(e.data.get("title") or e.type).rstrip(".") for e in found[:MAX_NOTIFICATIONS]]
    more = " and more in vigil inbox" if len(found) > MAX_NOTIFICATIONS else ""
    count = f"{len(titles)} notification{'s' if len(titles) != 1 else ''}"
    return f"Your latest {count}{more}: " + ". ".join(titles) + "."


def _spoken_duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "an hour" if hours == 1 else f"{hours} hours"
    if seconds == 1800:
        return "half an hour"
    minutes = max(1, seconds // 60)
    return "a minute" if minutes == 1 else f"{minutes} minutes"
