"""Persistent embedding cache: re-embedding an unchanged corpus makes no model calls.

One SQLite file holds vectors keyed by (embedder fingerprint, dims, sha256(prompt),
sha256(text)). The embedder fingerprint already covers the model weights, the output
dims and the normalisation, so two embedders share entries only when they would
produce the same vector. WAL mode plus a busy timeout make it safe for several
processes (and threads) to read and write the same file at once.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedweave import paths

#: SQLite caps host parameters per statement (32766 on modern builds, 999 on old ones).
_CHUNK = 900
_BUSY_TIMEOUT_S = 60.0


def sha256_text(text: str) -> str:
    """Hex sha256 of a text's UTF-8 bytes (the cache key of a text or prompt)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def connect_sqlite(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open a SQLite file for concurrent use by several processes.

    WAL lets readers run beside one writer; the busy timeout makes a second writer wait
    instead of failing with "database is locked".
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path), timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@dataclass(frozen=True)
class CacheStats:
    """Hit and miss counts of one ``EmbeddingCache`` object since it was opened."""

    hits: int
    misses: int

    @property
    def hit_rate(self) -> float:
        """Hits / lookups, 0.0 before the first lookup."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class EmbeddingCache:
    """Vectors on disk, keyed by embedder fingerprint, dims, prompt and text hash.

    Args:
        path: SQLite file; defaults to ``<cache_dir>/embeddings.sqlite``.

    Attributes:
        path: The SQLite file.
        hits: Lookups answered from the cache (this object, since it was opened).
        misses: Lookups that were not.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else paths.cache_dir() / "embeddings.sqlite"
        self.hits = 0
        self.misses = 0
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._db()  # create the file and table now, so a bad path fails here

    def _db(self) -> sqlite3.Connection:
        # A connection must not cross fork(): reopen in a child process.
        if self._conn is None or self._pid != os.getpid():
            conn = connect_sqlite(self.path)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS embeddings ("
                " fingerprint TEXT NOT NULL, dims INTEGER NOT NULL, prompt TEXT NOT NULL,"
                " text TEXT NOT NULL, vector BLOB NOT NULL,"
                " PRIMARY KEY (fingerprint, dims, prompt, text)) WITHOUT ROWID"
            )
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get(
        self, fingerprint: str, dims: int, prompt: str, text_hashes: Sequence[str]
    ) -> list[np.ndarray | None]:
        """Look vectors up; ``None`` where missing. Counts hits and misses.

        Args:
            fingerprint: Embedder fingerprint (model weights, dims, normalisation).
            dims: Vector length.
            prompt: The prompt text that was prepended (hashed here).
            text_hashes: ``sha256_text`` of each text.
        """
        found: dict[str, bytes] = {}
        unique = list(dict.fromkeys(text_hashes))
        p = sha256_text(prompt)
        with self._lock:
            db = self._db()
            for start in range(0, len(unique), _CHUNK):
                part = unique[start : start + _CHUNK]
                rows = db.execute(
                    "SELECT text, vector FROM embeddings WHERE fingerprint = ? AND dims = ?"
                    f" AND prompt = ? AND text IN ({','.join('?' * len(part))})",
                    (fingerprint, dims, p, *part),
                ).fetchall()
                found.update(rows)
            out: list[np.ndarray | None] = []
            for h in text_hashes:
                blob = found.get(h)
                if blob is None:
                    out.append(None)
                    continue
                if len(blob) != 4 * dims:
                    raise ValueError(
                        f"embedding cache {self.path} holds a {len(blob) // 4}-dim vector under "
                        f"a {dims}-dim key (fingerprint {fingerprint}); the file is corrupt: "
                        "delete it"
                    )
                out.append(np.frombuffer(blob, dtype=np.float32))
            n_hit = sum(v is not None for v in out)
            self.hits += n_hit
            self.misses += len(out) - n_hit
        return out

    def put(
        self,
        fingerprint: str,
        dims: int,
        prompt: str,
        text_hashes: Sequence[str],
        vectors: np.ndarray,
    ) -> None:
        """Store vectors (one row per text hash); an existing entry is overwritten."""
        arr = np.ascontiguousarray(vectors, dtype=np.float32)
        if arr.shape != (len(text_hashes), dims):
            raise ValueError(
                f"cache put: expected vectors of shape ({len(text_hashes)}, {dims}), "
                f"got {arr.shape}"
            )
        p = sha256_text(prompt)
        rows = [(fingerprint, dims, p, h, arr[i].tobytes()) for i, h in enumerate(text_hashes)]
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?)", rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @property
    def stats(self) -> CacheStats:
        """Hit and miss counts so far."""
        return CacheStats(self.hits, self.misses)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db().execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def clear(self, fingerprint: str | None = None) -> int:
        """Delete every entry, or those of one fingerprint; return how many were deleted."""
        with self._lock:
            db = self._db()
            if fingerprint is None:
                cur = db.execute("DELETE FROM embeddings")
            else:
                cur = db.execute("DELETE FROM embeddings WHERE fingerprint = ?", (fingerprint,))
            return int(cur.rowcount)

    def close(self) -> None:
        """Close the connection (reopened on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.path)!r}, hits={self.hits}, misses={self.misses})"
