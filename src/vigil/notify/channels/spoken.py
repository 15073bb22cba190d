"""The spoken channel: the notice as speech, a WAV kept for the dashboard, played when possible.

Synthesis is handed in: ``synthesize(text, wav, *, voice=None) -> Path`` (the voice module's
``vigil.notify.speech.synthesize``, espeak-ng underneath). Without one the channel is
unavailable. The WAV is kept at ``$VIGIL_HOME/notifications/<request id>.wav``; it is played
when a player (``pw-play``, ``paplay``, ``aplay``) and a sound device exist; playing is best
effort (the WAV is the delivery).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vigil.errors import ChannelFailed, ChannelUnavailable
from vigil.notify.channels import Notice

log = logging.getLogger("vigil.notify")

Synthesize = Callable[..., Path]
PLAYERS = ("pw-play", "paplay", "aplay")
PLAY_TIMEOUT_S = 60.0
MAX_CHARS = 280


def spoken_text(notice: Notice) -> str:
    """A title and the first line of the body: what is worth hearing."""
    first = notice.body.strip().splitlines()[0] if notice.body.strip() else ""
    text = notice.title if not first else f"{notice.title}. {first}"
    return text[:MAX_CHARS]


class SpokenChannel:
    name = "spoken"

    def __init__(
        self,
        directory: Path,
        synthesize: Synthesize | None,
        *,
        voice: str | None = None,
        sound: bool = False,
        player: str | None = None,
    ) -> None:
        self.directory = directory
        self.synthesize = synthesize
        self.voice = voice
        self.sound = sound
        self.player = (
            player if player is not None else next((p for p in PLAYERS if shutil.which(p)), None)
        )

    def unavailable(self) -> str | None:
        if self.synthesize is None:
            return "no speech synthesiser (vigil.notify.speech with espeak-ng)"
        return None

    async def send(self, notice: Notice) -> dict[str, Any] | None:
        if self.synthesize is None:
            raise ChannelUnavailable(str(self.unavailable()), channel=self.name)
        self.directory.mkdir(parents=True, exist_ok=True)
        wav = self.directory / f"{notice.request_id}.wav"
        try:
            made = await asyncio.to_thread(
                self.synthesize, spoken_text(notice), wav, voice=self.voice
            )
        except ChannelUnavailable:
            raise
        except Exception as exc:
            raise ChannelFailed(f"speech synthesis failed: {exc}", channel=self.name) from exc
        played = False
        if self.sound and self.player:
            played = await self._play(self.player, Path(made))
        return {"wav": str(made), "played": played}

    async def _play(self, player: str, wav: Path) -> bool:
        try:
            proc = await asyncio.create_subprocess_exec(
                player,
                str(wav),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError as exc:
            log.warning("cannot play a spoken notice", extra={"error": str(exc)})
            return False
        try:
            async with asyncio.timeout(PLAY_TIMEOUT_S):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return False
        return proc.returncode == 0
