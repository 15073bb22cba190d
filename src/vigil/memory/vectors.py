"""The embeddings store: one vector per knowledge entry, in SQLite, searched in memory.

``kb_vectors`` (namespace ``kb``, v3) holds ``seq`` (the entry's), the model's name and the vector
as little-endian float16 bytes (768 for 384 dimensions: half the size of float32, and cosine
similarity moves by less than 1e-3). Triggers on ``kb_entries`` delete an entry's vector in the
statement that deletes it or changes its title, body or tags, so a stored vector is never stale;
``kb_vector_state`` counts the vectors and bumps a version on every change, which is all a search
reads to know whether its in-memory copy is current.

Search is brute force over a matrix kept in memory (this Python's sqlite3 cannot load vector
extensions, and brute force is exact): a matrix-vector product up to :data:`EXACT_MAX` vectors.
Past that, memory bandwidth dominates, so the vectors are also kept as sign bits (48 bytes each,
after centring on their mean), the :data:`CANDIDATES` nearest by Hamming distance are picked, and
only those are scored exactly (the ``vectors`` bench section measures what this costs in recall).

Vectors are computed by :meth:`VectorStore.sync` for entries that have none: fully after ``kb
add``/``import``/``edit``, a bounded number before each search (so a fix the learner just wrote is
found), never on ``vigil run``'s path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vigil.errors import StorageError
from vigil.storage import Database

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from vigil.memory.embedder import Embedder

EXACT_MAX = 20_000
CANDIDATES = 2_000
SYNC_BATCH = 64
#: Characters of an entry handed to the model (it reads at most 128 word pieces anyway).
TEXT_CHARS = 1_200


def entry_text(title: str, body: str, tags: str | Sequence[str]) -> str:
    """What is embedded for an entry: its title, tags and the start of its body."""
    if isinstance(tags, str):
        import json

        try:
            tags = [str(t) for t in json.loads(tags)]
        except ValueError:
            tags = []
    head = title if not tags else f"{title} ({', '.join(tags)})"
    return f"{head}\n{body}"[:TEXT_CHARS]


@dataclass(frozen=True)
class Neighbour:
    seq: int
    similarity: float  # cosine, -1..1


class _Matrix:
    """The vectors of one version of ``kb_vectors``, ready to search."""

    def __init__(self, version: int, seqs: NDArray[Any], vectors: NDArray[Any]) -> None:
        import numpy as np

        self.version = version
        self.seqs = seqs
        self.codes: NDArray[Any] | None = None
        if len(seqs) > EXACT_MAX:
            self.vectors = vectors  # float16: half the memory; candidates are cast when scored
            self.centre = vectors[:: max(1, len(seqs) // 5000)].astype(np.float32).mean(axis=0)
            self.codes = _pack(vectors.astype(np.float32) - self.centre)
        else:
            self.vectors = vectors.astype(np.float32)
            self.centre = np.zeros(vectors.shape[1] if vectors.ndim == 2 else 0, np.float32)

    def nearest(self, query: NDArray[Any], k: int) -> list[Neighbour]:
        import numpy as np

        n = len(self.seqs)
        if n == 0:
            return []
        if self.codes is None:
            rows = np.arange(n)
            scores = self.vectors @ query
        else:
            code = _pack((query - self.centre)[None, :])[0]
            distance = np.bitwise_count(self.codes ^ code).sum(axis=1, dtype=np.uint16)
            take = min(CANDIDATES, n)
            rows = np.argpartition(distance, take - 1)[:take]
            scores = self.vectors[rows].astype(np.float32) @ query
        k = min(k, len(rows))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [Neighbour(int(self.seqs[rows[i]]), float(scores[i])) for i in best]


def _pack(vectors: NDArray[Any]) -> NDArray[Any]:
    import numpy as np

    bits = np.packbits(vectors > 0, axis=1)
    return np.ascontiguousarray(bits).view(np.uint64)


class VectorStore:
    """Vectors for knowledge entries: computed on demand, stored, searched in memory."""

    def __init__(self, db: Database, embedder: Callable[[], Embedder]) -> None:
        self._db = db
        self._load_embedder = embedder
        self._embedder: Embedder | None = None
        self._matrix: _Matrix | None = None

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use (``ConfigError`` when it is not installed)."""
        if self._embedder is None:
            self._embedder = self._load_embedder()
        return self._embedder

    @property
    def model(self) -> str:
        return self.embedder.name

    # --- writing ----------------------------------------------------------------------------

    def pending(self) -> int:
        """How many entries have no vector yet (two counters: no scan)."""
        row = self._db.query_one(
            "SELECT (SELECT entries FROM kb_stats) - (SELECT vectors FROM kb_vector_state)"
        )
        return max(0, int(row[0])) if row is not None and row[0] is not None else 0

    def sync(self, limit: int | None = None) -> int:
        """Embed up to ``limit`` entries that have no vector (all by default); returns how many."""
        done = 0
        while (limit is None or done < limit) and self.pending() > 0:
            batch = SYNC_BATCH if limit is None else min(SYNC_BATCH, limit - done)
            rows = self._db.query(
                "SELECT e.seq, e.title, e.body, e.tags FROM kb_entries e WHERE NOT EXISTS"
                " (SELECT 1 FROM kb_vectors v WHERE v.seq = e.seq) ORDER BY e.seq DESC LIMIT ?",
                (batch,),
            )
            if not rows:
                break
            texts = [entry_text(r["title"], r["body"], r["tags"]) for r in rows]
            vectors = self.embedder.embed(texts)
            self.store([(int(r["seq"]), v) for r, v in zip(rows, vectors, strict=True)])
            done += len(rows)
        return done

    def store(self, items: Sequence[tuple[int, NDArray[Any]]]) -> None:
        """Write vectors for these entry ``seq`` s (an entry deleted meanwhile is skipped)."""
        import numpy as np

        model = self.model
        try:
            with self._db.transaction() as conn:
                conn.executemany(
                    "INSERT INTO kb_vectors (seq, model, vector)"
                    " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM kb_entries WHERE seq = ?)"
                    " ON CONFLICT (seq) DO UPDATE SET model = excluded.model,"
                    " vector = excluded.vector",
                    [(seq, model, np.asarray(v, dtype="<f2").tobytes(), seq) for seq, v in items],
                )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store vectors in {self._db.path}: {exc}") from exc

    # --- reading ----------------------------------------------------------------------------

    def embed_query(self, text: str) -> NDArray[np.float32]:
        vector: NDArray[np.float32] = self.embedder.embed([text])[0]
        return vector

    def nearest(self, query: str | NDArray[Any], k: int) -> list[Neighbour]:
        """The ``k`` entries whose vectors are closest to ``query`` (text or a vector)."""
        from vigil.memory.embedder import one_blas_thread

        vector = self.embed_query(query) if isinstance(query, str) else query
        matrix = self._current()
        with one_blas_thread():
            return matrix.nearest(vector, k)

    def count(self) -> int:
        row = self._db.query_one("SELECT vectors FROM kb_vector_state")
        return int(row[0]) if row is not None else 0

    def _current(self) -> _Matrix:
        import numpy as np

        row = self._db.query_one("SELECT version FROM kb_vector_state")
        version = int(row[0]) if row is not None else 0
        if self._matrix is not None and self._matrix.version == version:
            return self._matrix
        rows = self._db.query(
            "SELECT seq, vector FROM kb_vectors WHERE model = ? ORDER BY seq", (self.model,)
        )
        dim = self.embedder.dim
        seqs = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        blob = b"".join(bytes(r[1]) for r in rows)
        vectors = np.frombuffer(blob, dtype="<f2").reshape(len(rows), dim)
        self._matrix = _Matrix(version, seqs, vectors)
        return self._matrix
