"""``vigil say TEXT [--wav FILE]`` and ``vigil listen [--wav FILE] [--json] [--act]``.

``vigil listen --wav FILE --json`` prints the contract's object ``{heard, wake, intent, slots,
confidence, wake_phrase}`` (plus ``start_s``, ``end_s``): a pure parse that stores nothing.
``--act`` also does what the command asks (through events, see :mod:`vigil.app.voice`) and speaks
the answer; its JSON then carries ``outcome``. Without ``--wav`` it listens to the microphone
until interrupted (one line per command), or says in one line that there is none.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigil.config import Settings
    from vigil.sources.voice.listener import Heard, Listener


def add_parser(sub: Any) -> None:
    from vigil.cli.main import _lazy

    say = sub.add_parser("say", help="speak TEXT (espeak-ng; to a WAV file, played if possible)")
    say.add_argument("text", nargs="+", metavar="TEXT")
    say.add_argument("--wav", metavar="FILE", help="write the speech to FILE (kept)")
    say.add_argument("--voice", help="espeak-ng voice (en-us, en-gb, en-us+f3...) or piper")
    say.add_argument("--no-play", action="store_true", help="only write the WAV")
    say.set_defaults(func=_lazy("vigil.cli.voice", "cmd_say"))

    listen = sub.add_parser(
        "listen", help="understand a spoken command (a WAV file, or the microphone)"
    )
    listen.add_argument("--wav", metavar="FILE", help="a WAV recording (else: the microphone)")
    listen.add_argument("--json", action="store_true", help="print JSON")
    listen.add_argument(
        "--act",
        action="store_true",
        help="do what the command asks (events, a proposal, a spoken answer)",
    )
    listen.add_argument("--wake-phrase", metavar="PHRASE", help="override [voice] wake_phrase")
    listen.set_defaults(func=_lazy("vigil.cli.voice", "cmd_listen"))


def cmd_say(args: argparse.Namespace) -> int:
    from vigil.cli.context import settings
    from vigil.notify.speech import play, synthesize

    config = settings()
    text = " ".join(args.text)
    wav = Path(args.wav) if args.wav else config.home / "voice" / "say.wav"
    synthesize(text, wav, voice=args.voice or config.voice_name or None)
    if args.no_play:
        print(f"wrote {wav}")
        return 0
    playback = play(wav)
    if playback.played:
        print(f"said it ({playback.player}); kept {wav}")
    else:
        print(f"wrote {wav} (not played: {playback.reason})")
    return 0


def _listener(config: Settings, override: str | None) -> Listener:
    from vigil.errors import ConfigError
    from vigil.sources.voice import grammar
    from vigil.sources.voice.listener import Listener

    phrase = override or config.voice_wake_phrase or grammar.DEFAULT_WAKE_PHRASE
    try:
        grammar.phrase_words(phrase)
    except ValueError:
        raise ConfigError(f"wake phrase {phrase!r}: use words only (letters, spaces)") from None
    return Listener(phrase)


def _line(heard: Heard) -> str:
    if not heard.heard:
        return "heard no speech"
    if not heard.wake:
        if heard.heard.startswith(heard.wake_phrase):
            why = f"the wake phrase was not clear enough ({heard.wake_confidence:.2f})"
        else:
            why = f'no wake phrase "{heard.wake_phrase}"'
        return f'heard "{heard.heard}" (not addressed to Vigil: {why})'

    if heard.intent is None:
        return f'heard "{heard.heard}": the wake phrase, but no command I know'
    slots = "".join(f" {k}={v}" for k, v in heard.slots.items())
    return f'heard "{heard.heard}" -> {heard.intent}{slots} (confidence {heard.confidence:.2f})'


def cmd_listen(args: argparse.Namespace) -> int:
    from vigil.cli.context import settings
    from vigil.sources.voice.audio import numpy_module, read_wav

    config = settings()
    if args.wav is None:
        return _microphone(args, config)
    numpy_module()
    audio = read_wav(Path(args.wav))
    listener = _listener(config, args.wake_phrase)
    heard = listener.listen(audio).best
    outcome = _act(heard) if args.act else None
    if args.json:
        body: dict[str, Any] = heard.to_dict()
        if outcome is not None:
            body["outcome"] = outcome
        print(json.dumps(body))
    else:
        print(_line(heard))
        if outcome and outcome.get("answer"):
            print(outcome["answer"])
    return 0


def _act(heard: Heard) -> dict[str, Any] | None:
    from vigil.app.voice import act
    from vigil.cli.context import open_vigil

    if not heard.wake or heard.intent is None:
        return None
    with open_vigil() as vigil:
        return act(vigil, heard, cwd=os.getcwd()).to_dict()


def _microphone(args: argparse.Namespace, config: Settings) -> int:
    import subprocess

    from vigil.errors import VoiceUnavailable
    from vigil.sources.voice.microphone import capture_command, listen_stream

    argv = capture_command()  # one line and exit 1 when there is no capture device
    listener = _listener(config, args.wake_phrase)
    print(f'listening for "{listener.wake_phrase}" (Ctrl-C stops)', file=sys.stderr)
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL) as recorder:
        try:
            if recorder.stdout is None:
                raise VoiceUnavailable("arecord gave no audio stream")
            for heard in listen_stream(listener, recorder.stdout):
                outcome = _act(heard) if args.act else None
                if args.json:
                    body = heard.to_dict()
                    if outcome is not None:
                        body["outcome"] = outcome
                    print(json.dumps(body), flush=True)
                else:
                    print(_line(heard), flush=True)
                    if outcome and outcome.get("answer"):
                        print(outcome["answer"], flush=True)
        finally:
            recorder.terminate()
    return 0
