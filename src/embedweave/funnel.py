"""Funnel search: shortlist with low-dim vectors, rescore the shortlist at full dims.

A store space keeps a low-dim named vector (``<space>_d64``: the full vector truncated
and renormalised) beside the full one. The nearest-neighbour search runs over the
small vectors, so only they need a fast in-memory index; the full vectors are fetched
for the shortlist only and rescored exactly. With a Matryoshka-trained model the
shortlist almost always contains the full-dims top k, so quality stays close to a
full-dims search (see the SciFact figures in docs/embedding.md).

Works over any ``Store`` (``MemoryStore``, ``WeaviateStore``)::

    full = embedder.space()                      # e.g. 256 dims
    low = low_space(full, 64)                    # "wordllama_256_d64", 64 dims
    store = MemoryStore([full, low])
    store.upsert(chunks, with_low_vectors({full.name: vecs}, full, 64))
    hits = funnel_search(store, embedder.embed_query(q), space=full.name, funnel=(64, 100))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embedweave.errors import SpaceMismatchError
from embedweave.filters import FilterLike
from embedweave.matryoshka import truncate, validate_dims
from embedweave.store.base import Store, VectorSpace, validate_k
from embedweave.store.config import HnswConfig
from embedweave.store.memory import _similarities as exact_scores
from embedweave.types import Hit

#: HNSW ``maxConnections`` of this project's Weaviate collections (``HnswConfig``);
#: layer 0 keeps up to twice as many links.
HNSW_MAX_CONNECTIONS = HnswConfig().max_connections
#: Bytes per stored HNSW link, as Weaviate's resource-planning guide estimates (8-10).
HNSW_BYTES_PER_LINK = 10


def low_space_name(space: str, dims: int) -> str:
    """Name of the low-dim companion of a space: ``<space>_d<dims>``."""
    return f"{space}_d{dims}"


def low_fingerprint(full: VectorSpace, dims: int, *, layer_norm: bool = False) -> str:
    """Fingerprint of vectors derived from ``full`` by truncation to ``dims``."""
    return f"{full.fingerprint}>{'ln-' if layer_norm else ''}d{dims}"


def low_space(
    full: VectorSpace, dims: int, *, name: str | None = None, layer_norm: bool = False
) -> VectorSpace:
    """The low-dim companion space of ``full``.

    Args:
        full: The full-dims space.
        dims: Shortlist dims, < ``full.dims``.
        name: Named-vector name; default ``<full.name>_d<dims>``.
        layer_norm: Layer-norm the full vector before slicing (nomic-style models).
    """
    _check_low_dims(full, dims)
    return VectorSpace(
        name=name or low_space_name(full.name, dims),
        model=full.model,
        fingerprint=low_fingerprint(full, dims, layer_norm=layer_norm),
        dims=dims,
        distance=full.distance,
    )


def low_vectors(full_vectors: Any, dims: int, *, layer_norm: bool = False) -> np.ndarray:
    """Low-dim vectors from full ones: truncate, then renormalise."""
    return truncate(np.asarray(full_vectors, dtype=np.float32), dims, layer_norm_first=layer_norm)


def with_low_vectors(
    vectors: Mapping[str, Any],
    full: VectorSpace,
    dims: int,
    *,
    name: str | None = None,
    layer_norm: bool = False,
) -> dict[str, Any]:
    """``vectors`` plus the low-dim companion of ``full``, ready for ``store.upsert``."""
    if full.name not in vectors:
        raise ValueError(f"no vectors for space {full.name!r}; got {sorted(vectors)}")
    _check_low_dims(full, dims)
    out = dict(vectors)
    out[name or low_space_name(full.name, dims)] = low_vectors(
        vectors[full.name], dims, layer_norm=layer_norm
    )
    return out


def funnel_search(
    store: Store,
    vector: Sequence[float] | np.ndarray,
    *,
    space: str,
    funnel: tuple[int, int],
    k: int = 10,
    filters: FilterLike = None,
    tenant: str | None = None,
    low_name: str | None = None,
    layer_norm: bool = False,
) -> list[Hit]:
    """Shortlist in the low-dim space, then rescore the shortlist exactly at full dims.

    Args:
        store: Holds both ``space`` and its low-dim companion.
        vector: Full-dims query vector (from the embedder of ``space``).
        space: Full-dims space name.
        funnel: ``(dims, shortlist)``: low dims and how many candidates to rescore.
        k: Hits to return (<= shortlist).
        filters: Metadata filter, applied in the shortlist search.
        tenant: Tenant, for multi-tenant collections.
        low_name: Name of the low space if not ``<space>_d<dims>``.
        layer_norm: The low vectors were derived with layer norm before slicing.

    Returns:
        Up to ``k`` hits, best first: ``score`` is the full-dims similarity,
        ``first_stage_score``/``first_stage_rank`` the low-dims score and rank.

    Raises:
        ValueError: bad funnel or k; a shortlisted chunk has no full vector.
        SpaceMismatchError: the query has other dims than ``space``, or the low space was
            not derived from ``space`` at these dims.
    """
    dims, shortlist = _parse_funnel(funnel)
    validate_k(k)
    if shortlist < k:
        raise ValueError(f"funnel shortlist ({shortlist}) must be >= k ({k})")
    if space not in store.spaces:
        raise ValueError(f"unknown vector space {space!r}; this store has {sorted(store.spaces)}")
    full = store.spaces[space]
    _check_low_dims(full, dims)
    low_name = low_name or low_space_name(space, dims)
    if low_name not in store.spaces:
        raise ValueError(
            f"funnel needs the low-dim space {low_name!r} beside {space!r}; create the store "
            f"with low_space(<{space} space>, {dims}) and upsert with_low_vectors(...)"
        )
    expected = low_space(full, dims, name=low_name, layer_norm=layer_norm)
    expected.check_compatible(store.spaces[low_name], store.name)

    q = np.asarray(vector, dtype=np.float32).reshape(-1)
    if q.shape[0] != full.dims:
        raise SpaceMismatchError(
            f"query vector has {q.shape[0]} dims but space {space!r} ({full.model}) stores "
            f"{full.dims}; embed the query with the space's embedder at full dims"
        )
    q_low = low_vectors(q, dims, layer_norm=layer_norm)
    candidates = store.search(q_low, space=low_name, k=shortlist, filters=filters, tenant=tenant)
    if not candidates:
        return []
    stored = store.get_vectors([h.id for h in candidates], space=space, tenant=tenant)
    absent = [h.id for h in candidates if h.id not in stored]
    if absent:
        raise ValueError(
            f"{len(absent)} shortlisted chunks have no {space!r} vector to rescore "
            f"(first: {absent[0]}); upsert full and low vectors together"
        )
    mat = np.stack([np.asarray(stored[h.id], dtype=np.float32) for h in candidates])
    scores = exact_scores(mat, q, full.distance)
    order = np.argsort(-scores, kind="stable")[:k]
    return [
        Hit(
            candidates[j].chunk,
            float(scores[j]),
            (space,),
            first_stage_score=candidates[j].score,
            first_stage_rank=int(j),
        )
        for j in order
    ]


@dataclass(frozen=True)
class FunnelMemory:
    """Memory of an HNSW index over full-dims vectors versus the low-dims funnel index.

    Estimates with Weaviate's resource-planning rule: each vector costs 4 bytes per
    dimension plus ``2 * maxConnections`` links of ~10 bytes on HNSW layer 0. With the
    funnel, only the low vectors need the in-memory HNSW index; the full vectors can
    live in a flat (disk-backed) index and are read for the shortlist only.

    Attributes:
        n_vectors: Number of vectors.
        full_dims: Full dims.
        low_dims: Funnel dims.
        full_vector_bytes: Bytes of one full-dims float32 vector.
        low_vector_bytes: Bytes of one low-dims float32 vector.
        link_bytes: HNSW link bytes per vector.
        hnsw_full_bytes: In-memory HNSW over the full vectors.
        hnsw_low_bytes: In-memory HNSW over the low vectors.
    """

    n_vectors: int
    full_dims: int
    low_dims: int
    full_vector_bytes: int
    low_vector_bytes: int
    link_bytes: int
    hnsw_full_bytes: int
    hnsw_low_bytes: int

    @property
    def saved_bytes(self) -> int:
        """In-memory bytes the funnel saves."""
        return self.hnsw_full_bytes - self.hnsw_low_bytes

    @property
    def saved_fraction(self) -> float:
        """Share of the full HNSW memory saved."""
        return self.saved_bytes / self.hnsw_full_bytes if self.hnsw_full_bytes else 0.0

    def summary(self) -> str:
        """One line for reports."""
        return (
            f"{self.n_vectors:,} vectors: {self.full_vector_bytes} B/vector at {self.full_dims} "
            f"dims, {self.low_vector_bytes} B at {self.low_dims}; HNSW in memory "
            f"{_mib(self.hnsw_full_bytes)} (full) vs {_mib(self.hnsw_low_bytes)} (funnel), "
            f"{self.saved_fraction:.0%} saved"
        )


def funnel_memory(
    n_vectors: int,
    full_dims: int,
    low_dims: int,
    *,
    max_connections: int = HNSW_MAX_CONNECTIONS,
    bytes_per_link: int = HNSW_BYTES_PER_LINK,
) -> FunnelMemory:
    """Estimate the in-memory index size with and without the funnel."""
    if n_vectors < 0:
        raise ValueError(f"n_vectors must be >= 0, got {n_vectors}")
    validate_dims(low_dims, full_dims)
    links = 2 * max_connections * bytes_per_link
    full_b, low_b = 4 * full_dims, 4 * low_dims
    return FunnelMemory(
        n_vectors=n_vectors,
        full_dims=full_dims,
        low_dims=low_dims,
        full_vector_bytes=full_b,
        low_vector_bytes=low_b,
        link_bytes=links,
        hnsw_full_bytes=n_vectors * (full_b + links),
        hnsw_low_bytes=n_vectors * (low_b + links),
    )


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _parse_funnel(funnel: tuple[int, int]) -> tuple[int, int]:
    try:
        dims, shortlist = funnel
    except (TypeError, ValueError) as exc:
        raise ValueError(f"funnel must be (dims, shortlist), got {funnel!r}") from exc
    for label, v in (("dims", dims), ("shortlist", shortlist)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"funnel {label} must be a positive integer, got {v!r}")
    return int(dims), int(shortlist)


def _check_low_dims(full: VectorSpace, dims: int) -> None:
    validate_dims(dims, full.dims, f"space {full.name!r}")
    if dims == full.dims:
        raise ValueError(f"funnel dims ({dims}) must be below the full dims of space {full.name!r}")


__all__ = [
    "FunnelMemory",
    "funnel_memory",
    "funnel_search",
    "low_fingerprint",
    "low_space",
    "low_space_name",
    "low_vectors",
    "with_low_vectors",
]
