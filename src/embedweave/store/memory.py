"""Exact in-memory store: brute-force numpy search, the ground truth for HNSW recall."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from embedweave.errors import SpaceMismatchError
from embedweave.filters import FilterLike, as_filter, matches
from embedweave.fusion import relative_score_fusion
from embedweave.store.base import (
    Store,
    VectorSpace,
    check_vectors,
    filterable,
    validate_alpha,
    validate_k,
)
from embedweave.types import Chunk, Hit


class MemoryStore(Store):
    """A store holding everything in process memory with exact search.

    Same interface and score conventions as ``WeaviateStore``, so it can replace it for
    small corpora, tests, and as the exact baseline when measuring HNSW recall.

    Args:
        spaces: The embedding spaces (named vectors) this store holds.
        name: Collection name, used in error messages.
    """

    def __init__(self, spaces: Sequence[VectorSpace], name: str = "memory") -> None:
        self.name = name
        self.spaces = {s.name: s for s in spaces}
        self._lock = threading.RLock()
        self._tenants: dict[str | None, _Partition] = {}

    def _part(self, tenant: str | None) -> _Partition:
        with self._lock:
            if tenant not in self._tenants:
                self._tenants[tenant] = _Partition(self.spaces)
            return self._tenants[tenant]

    def upsert(
        self, chunks: Sequence[Chunk], vectors: Mapping[str, Any], *, tenant: str | None = None
    ) -> list[str]:
        """Insert or overwrite chunks; all-or-nothing (validated before writing)."""
        arrays = check_vectors(self.spaces, vectors, len(chunks))
        with self._lock:
            part = self._part(tenant)
            for i, chunk in enumerate(chunks):
                part.put(chunk, {name: arr[i] for name, arr in arrays.items()})
        return [c.id for c in chunks]

    def search(
        self,
        vector: Sequence[float] | np.ndarray,
        *,
        space: str,
        k: int = 10,
        filters: FilterLike = None,
        tenant: str | None = None,
        include_vectors: bool = False,
    ) -> list[Hit]:
        """Exact nearest neighbours by the space's distance."""
        validate_k(k)
        spec = self._space(space)
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        if q.shape[0] != spec.dims:
            raise SpaceMismatchError(
                f"query vector has {q.shape[0]} dims but space {space!r} ({spec.model}) "
                f"stores {spec.dims}"
            )
        flt = as_filter(filters)
        with self._lock:
            part = self._part(tenant)
            ids, mat = part.matrix(space)
            if not ids:
                return []
            scores = _similarities(mat, q, spec.distance)
            order = np.argsort(-scores, kind="stable")
            hits: list[Hit] = []
            for j in order:
                chunk = part.chunks[ids[j]]
                if not matches(filterable(chunk), flt):
                    continue
                vecs = {space: mat[j].tolist()} if include_vectors else {}
                hits.append(Hit(chunk, float(scores[j]), (space,), vectors=vecs))
                if len(hits) == k:
                    break
            return hits

    def keyword_search(
        self, query: str, *, k: int = 10, filters: FilterLike = None, tenant: str | None = None
    ) -> list[Hit]:
        """BM25 (bm25s, k1=1.2, b=0.75 as Weaviate) over chunk text."""
        validate_k(k)
        flt = as_filter(filters)
        with self._lock:
            part = self._part(tenant)
            ranked = part.bm25(query)
            hits: list[Hit] = []
            for cid, score in ranked:
                chunk = part.chunks[cid]
                if matches(filterable(chunk), flt):
                    hits.append(Hit(chunk, score, ("bm25",)))
                    if len(hits) == k:
                        break
            return hits

    def hybrid_search(
        self,
        query: str,
        vector: Sequence[float] | np.ndarray,
        *,
        space: str,
        alpha: float = 0.5,
        k: int = 10,
        filters: FilterLike = None,
        tenant: str | None = None,
    ) -> list[Hit]:
        """Relative-score fusion of BM25 and vector results, as Weaviate does."""
        alpha = validate_alpha(alpha)
        validate_k(k)
        pool = max(k, 100)
        vec_hits = [] if alpha == 0.0 else self.search(
            vector, space=space, k=pool, filters=filters, tenant=tenant
        )
        kw_hits = [] if alpha == 1.0 else self.keyword_search(
            query, k=pool, filters=filters, tenant=tenant
        )
        return relative_score_fusion(vec_hits, kw_hits, alpha)[:k]

    def get(self, ids: Sequence[str], *, tenant: str | None = None) -> list[Chunk]:
        """Chunks by id, in the given order; unknown ids are skipped."""
        with self._lock:
            part = self._part(tenant)
            return [part.chunks[i] for i in ids if i in part.chunks]

    def get_vectors(
        self, ids: Sequence[str], *, space: str, tenant: str | None = None
    ) -> dict[str, np.ndarray]:
        """Stored vectors of one space, by id."""
        self._space(space)
        with self._lock:
            part = self._part(tenant)
            return {i: part.vectors[space][i] for i in ids if i in part.vectors[space]}

    def delete(self, ids: Sequence[str], *, tenant: str | None = None) -> int:
        """Delete chunks by id."""
        with self._lock:
            part = self._part(tenant)
            return sum(part.remove(i) for i in list(ids))

    def delete_documents(self, document_ids: Sequence[str], *, tenant: str | None = None) -> int:
        """Delete every chunk of the given documents."""
        wanted = set(document_ids)
        with self._lock:
            part = self._part(tenant)
            doomed = [cid for cid, c in part.chunks.items() if c.document_id in wanted]
            return sum(part.remove(i) for i in doomed)

    def delete_where(self, filters: FilterLike, *, tenant: str | None = None) -> int:
        """Delete every chunk matching a filter."""
        flt = as_filter(filters)
        if flt is None:
            raise ValueError("delete_where needs a filter; use drop() to delete everything")
        with self._lock:
            part = self._part(tenant)
            doomed = [cid for cid, c in part.chunks.items() if matches(filterable(c), flt)]
            return sum(part.remove(i) for i in doomed)

    def iter_chunks(self, *, tenant: str | None = None) -> Iterator[Chunk]:
        """Every chunk of the tenant (a snapshot, safe to mutate the store meanwhile)."""
        with self._lock:
            chunks = list(self._part(tenant).chunks.values())
        yield from chunks

    def count(self, *, tenant: str | None = None) -> int:
        """Number of chunks."""
        with self._lock:
            return len(self._part(tenant).chunks)

    def drop(self) -> None:
        """Forget everything."""
        with self._lock:
            self._tenants.clear()

    def clear(self, *, tenant: str | None = None) -> int:
        """Delete every chunk of the tenant; the spaces stay."""
        with self._lock:
            part = self._tenants.pop(tenant, None)
            return len(part.chunks) if part is not None else 0

    def _space(self, space: str) -> VectorSpace:
        if space not in self.spaces:
            raise ValueError(
                f"unknown vector space {space!r}; this store has {sorted(self.spaces)}"
            )
        return self.spaces[space]


def _similarities(mat: np.ndarray, q: np.ndarray, distance: str) -> np.ndarray:
    if distance == "cosine":
        norms = np.linalg.norm(mat, axis=1) * (np.linalg.norm(q) or 1.0)
        return (mat @ q) / np.where(norms == 0, 1.0, norms)
    if distance == "dot":
        return mat @ q
    return -((mat - q) ** 2).sum(axis=1)


class _Partition:
    """One tenant's data, with lazily rebuilt search structures."""

    def __init__(self, spaces: Mapping[str, VectorSpace]) -> None:
        self.chunks: dict[str, Chunk] = {}
        self.vectors: dict[str, dict[str, np.ndarray]] = {name: {} for name in spaces}
        self._dims = {name: s.dims for name, s in spaces.items()}
        self._mats: dict[str, tuple[list[str], np.ndarray]] = {}
        self._bm25: Any = None
        self._bm25_ids: list[str] = []

    def put(self, chunk: Chunk, vecs: Mapping[str, np.ndarray]) -> None:
        self.remove(chunk.id)
        self.chunks[chunk.id] = chunk
        for name, v in vecs.items():
            self.vectors[name][chunk.id] = np.array(v, dtype=np.float32)
        self._invalidate()

    def remove(self, cid: str) -> bool:
        if cid not in self.chunks:
            return False
        del self.chunks[cid]
        for per_space in self.vectors.values():
            per_space.pop(cid, None)
        self._invalidate()
        return True

    def _invalidate(self) -> None:
        self._mats.clear()
        self._bm25 = None

    def matrix(self, space: str) -> tuple[list[str], np.ndarray]:
        if space not in self._mats:
            ids = list(self.vectors[space])
            mat = (
                np.stack([self.vectors[space][i] for i in ids])
                if ids
                else np.zeros((0, self._dims[space]), np.float32)
            )
            self._mats[space] = (ids, mat)
        return self._mats[space]

    def bm25(self, query: str) -> list[tuple[str, float]]:
        import bm25s

        if not self.chunks:
            return []
        if self._bm25 is None:
            self._bm25_ids = list(self.chunks)
            corpus = [self.chunks[i].text for i in self._bm25_ids]
            retriever = bm25s.BM25(k1=1.2, b=0.75)
            retriever.index(bm25s.tokenize(corpus, stopwords=None, show_progress=False),
                            show_progress=False)
            self._bm25 = retriever
        tokens = bm25s.tokenize([query], stopwords=None, show_progress=False)
        if not tokens.ids or not tokens.ids[0]:
            return []
        scores = self._bm25.get_scores(_query_tokens(tokens))
        order = np.argsort(-scores, kind="stable")
        return [(self._bm25_ids[j], float(scores[j])) for j in order if scores[j] > 0]


def _query_tokens(tokens: Any) -> list[str]:
    inv = {v: k for k, v in tokens.vocab.items()}
    return [inv[t] for t in tokens.ids[0]]
