"""Voice tests read the committed fixtures (tests/fixtures/voice, made by make_wavs.py) through
the real VAD and recogniser; one listener is built per session (loading the models is the slow
part, and the listener keeps no state between utterances)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.sources.voice.listener import Listener

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "voice"


@pytest.fixture(scope="session")
def listener() -> Listener:
    return Listener()


def fixture(name: str) -> Path:
    path = FIXTURES / name
    assert path.is_file(), f"missing fixture {path}: run tests/fixtures/voice/make_wavs.py"
    return path
