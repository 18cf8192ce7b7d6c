"""The store interface shared by ``WeaviateStore`` and ``MemoryStore``."""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from embedweave.errors import SpaceMismatchError
from embedweave.filters import FilterLike, as_filter, matches
from embedweave.types import Chunk, Hit

Distance = Literal["cosine", "dot", "l2-squared"]
SearchMode = Literal["vector", "keyword", "hybrid"]


@dataclass(frozen=True)
class VectorSpace:
    """One embedding space of a collection, stored as one named vector.

    Vectors of different spaces are never compared: a store records each space's
    fingerprint, dims and distance, and refuses to reopen with different ones.

    Attributes:
        name: Named-vector name (letters, digits, underscore).
        model: Human-readable model name, e.g. ``minilm``.
        fingerprint: Hash of the model weights (and any routing config) that made the vectors.
        dims: Vector length.
        distance: Distance metric.
        dims_source: How ``dims`` was reached: ``native``, ``server`` (an embeddings
            API shortened the vectors) or ``local`` (truncated and renormalised here);
            ``""`` when not recorded (collections written before this field).
    """

    name: str
    model: str
    fingerprint: str
    dims: int
    distance: Distance = "cosine"
    dims_source: str = ""

    def __post_init__(self) -> None:
        if not self.name or not (self.name[0].isalpha() or self.name[0] == "_") or not all(
            c.isalnum() or c == "_" for c in self.name
        ):
            raise ValueError(
                f"space name {self.name!r} must start with a letter or '_' and hold only "
                "letters, digits and '_'"
            )
        if self.dims <= 0:
            raise ValueError(f"space {self.name!r}: dims must be positive, got {self.dims}")
        if self.distance not in ("cosine", "dot", "l2-squared"):
            raise ValueError(f"space {self.name!r}: unknown distance {self.distance!r}")

    @classmethod
    def external(
        cls,
        name: str,
        model: str,
        dims: int,
        *,
        fingerprint: str | None = None,
        distance: Distance = "cosine",
        source: str = "external",
    ) -> VectorSpace:
        """The space of a model the core does not load (e.g. a framework's embedding).

        Args:
            name: Named-vector name.
            model: Readable model name (class and model id, say).
            dims: Vector length.
            fingerprint: The model's own identifier; default a hash of ``source``,
                ``model`` and ``dims``, so another model or dims is a mismatch.
            distance: Distance metric.
            source: Who describes the model (``langchain``...), part of the default
                fingerprint.
        """
        if fingerprint is None:
            key = f"{source}|{model}|{dims}"
            fingerprint = hashlib.sha256(key.encode()).hexdigest()[:16]
        elif not isinstance(fingerprint, str) or not fingerprint:
            raise ValueError(f"space {name!r}: fingerprint must be a non-empty string")
        return cls(name=name, model=model, fingerprint=fingerprint, dims=dims, distance=distance)

    def to_dict(self) -> dict[str, Any]:
        """Serialisable form, recorded in the collection."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VectorSpace:
        """Inverse of ``to_dict``."""
        fields = {k: data[k] for k in ("name", "model", "fingerprint", "dims", "distance")}
        return cls(**fields, dims_source=str(data.get("dims_source", "")))

    def check_compatible(self, recorded: VectorSpace, collection: str) -> None:
        """Raise ``SpaceMismatchError`` naming both sides if ``recorded`` differs."""
        diffs = [
            f"{attr}: collection has {getattr(recorded, attr)!r}, requested {getattr(self, attr)!r}"
            for attr in ("fingerprint", "dims", "distance")
            if getattr(recorded, attr) != getattr(self, attr)
        ]
        if diffs:
            raise SpaceMismatchError(
                f"collection {collection!r} space {self.name!r} was built with model "
                f"{recorded.model!r} ({recorded.dims} dims, {recorded.distance}, fingerprint "
                f"{recorded.fingerprint}) but is being opened with model {self.model!r} "
                f"({self.dims} dims, {self.distance}, fingerprint {self.fingerprint}); "
                + "; ".join(diffs)
                + ". Use the original model or a new collection."
            )


def filterable(chunk: Chunk) -> dict[str, Any]:
    """The fields a filter can name: metadata plus ``document_id`` and ``language``."""
    return {**chunk.metadata, "document_id": chunk.document_id, "language": chunk.language}


def similarity_from_distance(distance: float, metric: Distance) -> float:
    """Turn a store distance into a similarity (cosine: in [-1, 1])."""
    if metric == "cosine":
        return 1.0 - distance
    if metric == "dot":
        return -distance
    return -distance


def check_vectors(
    spaces: Mapping[str, VectorSpace], vectors: Mapping[str, Any], n: int
) -> dict[str, np.ndarray]:
    """Validate per-space vector batches: known spaces, right shape, finite values."""
    out: dict[str, np.ndarray] = {}
    for name, vecs in vectors.items():
        if name not in spaces:
            raise ValueError(f"unknown vector space {name!r}; this store has {sorted(spaces)}")
        arr = np.asarray(vecs, dtype=np.float32)
        if arr.ndim != 2 or arr.shape != (n, spaces[name].dims):
            raise ValueError(
                f"space {name!r} expects vectors of shape ({n}, {spaces[name].dims}), "
                f"got {arr.shape}"
            )
        if not np.isfinite(arr).all():
            bad = int(np.where(~np.isfinite(arr).all(axis=1))[0][0])
            raise ValueError(f"space {name!r}: vector at index {bad} has NaN or inf values")
        out[name] = arr
    return out


class Store(abc.ABC):
    """A collection of chunks with one named vector per embedding space.

    Attributes:
        name: Collection name, used in messages.
        spaces: The spaces (named vectors) it holds, by name.
    """

    name: str = "store"
    spaces: dict[str, VectorSpace]

    def pick_space(self, name: str | None = None, *, argument: str = "space") -> VectorSpace:
        """The space a one-space caller uses: the one named, else the store's only one.

        Args:
            name: Space name, or ``None`` when the store holds one space.
            argument: The caller's parameter naming a space, for the error message.

        Raises:
            ValueError: naming the store's spaces, for an unknown name or several spaces.
        """
        if name is None:
            if len(self.spaces) == 1:
                return next(iter(self.spaces.values()))
            raise ValueError(
                f"store {self.name!r} has several spaces {sorted(self.spaces)}: pass {argument}="
            )
        if name not in self.spaces:
            raise ValueError(
                f"store {self.name!r} has no vector space {name!r}; it has {sorted(self.spaces)}"
            )
        return self.spaces[name]

    def check_space(self, want: VectorSpace) -> None:
        """Raise ``SpaceMismatchError`` unless the store holds ``want`` as recorded."""
        have = self.spaces.get(want.name)
        if have is None:
            raise SpaceMismatchError(
                f"store {self.name!r} has no space {want.name!r} (it has "
                f"{sorted(self.spaces)}); create it with that space"
            )
        want.check_compatible(have, self.name)

    @abc.abstractmethod
    def upsert(
        self,
        chunks: Sequence[Chunk],
        vectors: Mapping[str, Any],
        *,
        tenant: str | None = None,
    ) -> list[str]:
        """Insert or overwrite chunks with their vectors; return their ids.

        Args:
            chunks: Chunks to write; ids are deterministic, so rewriting overwrites.
            vectors: Space name -> array of shape (len(chunks), dims). A space may be
                left out; a chunk then has no vector in it.
            tenant: Tenant name for multi-tenant collections.
        """

    @abc.abstractmethod
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
        """Nearest neighbours in one space; ``score`` is a similarity (cosine in [-1, 1])."""

    @abc.abstractmethod
    def keyword_search(
        self,
        query: str,
        *,
        k: int = 10,
        filters: FilterLike = None,
        tenant: str | None = None,
    ) -> list[Hit]:
        """BM25 search over chunk text."""

    @abc.abstractmethod
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
        """BM25 and vector search fused by relative score; alpha 0 = BM25, 1 = vector."""

    @abc.abstractmethod
    def get(self, ids: Sequence[str], *, tenant: str | None = None) -> list[Chunk]:
        """Chunks by id, in the order given; unknown ids are left out."""

    @abc.abstractmethod
    def get_vectors(
        self, ids: Sequence[str], *, space: str, tenant: str | None = None
    ) -> dict[str, np.ndarray]:
        """Stored vectors of one space by chunk id."""

    @abc.abstractmethod
    def delete(self, ids: Sequence[str], *, tenant: str | None = None) -> int:
        """Delete chunks by id; return how many were deleted."""

    @abc.abstractmethod
    def delete_documents(
        self, document_ids: Sequence[str], *, tenant: str | None = None
    ) -> int:
        """Delete every chunk of the given documents; return how many were deleted."""

    @abc.abstractmethod
    def delete_where(self, filters: FilterLike, *, tenant: str | None = None) -> int:
        """Delete every chunk matching a filter; return how many were deleted."""

    @abc.abstractmethod
    def iter_chunks(self, *, tenant: str | None = None) -> Iterator[Chunk]:
        """Every chunk in the collection (or tenant), in no particular order."""

    def document_chunks(
        self, document_ids: Sequence[str], *, tenant: str | None = None
    ) -> dict[str, dict[str, str]]:
        """Stored chunk ids of documents with their content hashes: doc -> {id: hash}.

        ``Index`` compares these with a document's new chunks to write only what
        changed. Documents without stored chunks are left out.
        """
        wanted = set(document_ids)
        out: dict[str, dict[str, str]] = {}
        for c in self.iter_chunks(tenant=tenant):
            if c.document_id in wanted:
                out.setdefault(c.document_id, {})[c.id] = c.content_hash
        return out

    def document_ids(self, *, tenant: str | None = None) -> set[str]:
        """Ids of every document with at least one stored chunk."""
        return {c.document_id for c in self.iter_chunks(tenant=tenant)}

    def get_where(self, filters: FilterLike, *, tenant: str | None = None) -> list[Chunk]:
        """Every chunk whose metadata matches a filter (exact; scans when needed)."""
        flt = as_filter(filters)
        return [c for c in self.iter_chunks(tenant=tenant) if matches(filterable(c), flt)]

    def repair(self, *, tenant: str | None = None) -> int:
        """Delete chunks a crash left half-written (stored but not listed); return how many.

        Stores whose writes are atomic have nothing to repair (this default).
        """
        return 0

    @abc.abstractmethod
    def count(self, *, tenant: str | None = None) -> int:
        """Number of chunks."""

    @abc.abstractmethod
    def drop(self) -> None:
        """Delete the whole collection."""

    def clear(self, *, tenant: str | None = None) -> int:
        """Delete every chunk (of a tenant), keeping the collection and its spaces.

        Returns:
            How many chunks were deleted.
        """
        return self.delete([c.id for c in self.iter_chunks(tenant=tenant)], tenant=tenant)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def validate_k(k: int) -> int:
    """Reject non-positive result counts early, with a clear message."""
    if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return k


def validate_alpha(alpha: float) -> float:
    """Alpha must lie in [0, 1]: 0 is pure BM25, 1 is pure vector."""
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1] (0 = BM25 only, 1 = vector only), got {alpha}")
    return float(alpha)
