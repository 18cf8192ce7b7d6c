"""The ``WeaviateStore`` class: writes, reads and searches over one collection.

Chunk ids are deterministic uuid5s so re-ingesting overwrites; every failed object of a
batch is raised, never only logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from embedweave.errors import BatchWriteError, EmbedweaveError, ObjectFailure, SpaceMismatchError
from embedweave.filters import Filter, FilterLike, as_filter
from embedweave.store.base import (
    Store,
    VectorSpace,
    check_vectors,
    similarity_from_distance,
    validate_alpha,
    validate_k,
)
from embedweave.store.config import HnswConfig
from embedweave.store.weaviate import schema
from embedweave.store.weaviate.connection import connect
from embedweave.store.weaviate.filters import to_weaviate_filter
from embedweave.store.weaviate.properties import (
    chunk_properties,
    kind_compatible,
    storage_uuid,
    stored_property,
    to_chunk,
    value_kind,
)
from embedweave.types import Chunk, Hit

if TYPE_CHECKING:
    from embedweave.server import ManagedWeaviate

logger = logging.getLogger(__name__)

#: Weaviate caps one delete_many call at this many matches.
DELETE_PAGE = 10_000


class WeaviateStore(Store):
    """A Weaviate collection holding chunks with one named vector per embedding space.

    Args:
        collection: Collection name (letters, digits, underscore; Weaviate capitalises it).
        spaces: Embedding spaces to create or check. Empty: adopt those recorded.
        url: Base URL of any Weaviate (e.g. ``http://127.0.0.1:8080``).
        grpc_port: gRPC port of that server (default 50051).
        api_key: API key for authenticated servers; never logged.
        server: A started ``ManagedWeaviate`` (used when ``url`` is not given).
        client: An already connected ``weaviate.WeaviateClient`` (not closed by us).
        hnsw: Index settings used when creating named vectors.
        multi_tenancy: Create the collection multi-tenant (tenants made on first write).
        batch_size: Objects per write request.
        create: Create the collection when missing (else raise).
        flat_spaces: Spaces stored with a flat (brute-force) index instead of HNSW: no
            graph in memory. For the full-dims space of a funnel, whose vectors are only
            fetched to rescore a low-dims shortlist, or for small collections.
    """

    def __init__(
        self,
        collection: str,
        spaces: Sequence[VectorSpace] = (),
        *,
        url: str | None = None,
        grpc_port: int | None = None,
        api_key: str | None = None,
        server: ManagedWeaviate | None = None,
        client: Any = None,
        hnsw: HnswConfig | None = None,
        multi_tenancy: bool = False,
        batch_size: int = 256,
        create: bool = True,
        flat_spaces: Sequence[str] = (),
    ) -> None:
        name = schema.collection_name(collection)
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.name = name
        self.hnsw = hnsw or HnswConfig()
        self.multi_tenancy = multi_tenancy
        self.batch_size = batch_size
        self.flat_spaces = frozenset(flat_spaces)
        unknown = self.flat_spaces - {sp.name for sp in spaces}
        if unknown:
            raise ValueError(f"flat_spaces {sorted(unknown)} are not among the given spaces")
        self._owns_client = client is None
        self._client = client if client is not None else connect(url, grpc_port, api_key, server)
        self.spaces: dict[str, VectorSpace] = {}
        self._props: dict[str, str] = {}
        self._known_tenants: set[str] = set()
        try:
            self._open(list(spaces), create)
        except Exception:
            self.close()
            raise

    # -- schema ------------------------------------------------------------------------
    def _open(self, spaces: list[VectorSpace], create: bool) -> None:
        from weaviate.classes.config import Configure

        names = [s.name for s in spaces]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate space names in {names}")
        if not self._client.collections.exists(self.name):
            if not create:
                raise EmbedweaveError(f"collection {self.name!r} does not exist")
            if not spaces:
                raise ValueError(
                    f"collection {self.name!r} does not exist; give at least one VectorSpace"
                )
            self._client.collections.create(
                self.name,
                description=schema.describe(spaces),
                vector_config=[self._vector_config(s) for s in spaces],
                properties=schema.base_properties(),
                multi_tenancy_config=(
                    Configure.multi_tenancy(enabled=True, auto_tenant_creation=True,
                                            auto_tenant_activation=True)
                    if self.multi_tenancy else None
                ),
                inverted_index_config=Configure.inverted_index(index_null_state=True),
            )
            self.spaces = {s.name: s for s in spaces}
        else:
            recorded = self._recorded_spaces()
            new = []
            for s in spaces:
                if s.name in recorded:
                    s.check_compatible(recorded[s.name], self.name)
                else:
                    new.append(s)
            self.spaces = {**recorded, **{s.name: s for s in spaces}}
            for s in new:
                self._collection.config.add_vector(vector_config=self._vector_config(s))
            if new:
                self._collection.config.update(description=schema.describe(
                    list(self.spaces.values())))
            config = self._collection.config.get()
            self.multi_tenancy = bool(config.multi_tenancy_config.enabled)
        self._refresh_props()

    def _vector_config(self, space: VectorSpace) -> Any:
        return schema.vector_config(space, self.hnsw, flat=space.name in self.flat_spaces)

    def _recorded_spaces(self) -> dict[str, VectorSpace]:
        return schema.recorded_spaces(self._collection.config.get().description, self.name)

    def _refresh_props(self) -> None:
        config = self._collection.config.get()
        self._props = {p.name: str(p.data_type.value) for p in config.properties}

    @property
    def _collection(self) -> Any:
        return self._client.collections.get(self.name)

    def _target(self, tenant: str | None) -> Any:
        coll = self._collection
        if self.multi_tenancy:
            if not tenant:
                raise ValueError(f"collection {self.name!r} is multi-tenant: pass tenant=")
            return coll.with_tenant(tenant)
        if tenant:
            raise ValueError(f"collection {self.name!r} is not multi-tenant; tenant={tenant!r}")
        return coll

    def _readable(self, tenant: str | None) -> bool:
        """False for a tenant never written to: reads see it as empty, not as an error."""
        if not self.multi_tenancy:
            self._target(tenant)
            return True
        if not tenant:
            raise ValueError(f"collection {self.name!r} is multi-tenant: pass tenant=")
        if tenant in self._known_tenants:
            return True
        if self._collection.tenants.exists(tenant):
            self._known_tenants.add(tenant)
            return True
        return False

    def _ensure_metadata_props(self, chunks: Sequence[Chunk]) -> None:
        wanted: dict[str, str] = {}
        for i, c in enumerate(chunks):
            for key, value in c.metadata.items():
                prop = stored_property(key)
                kind = value_kind(value, key, i)
                if kind is None:
                    continue
                have = self._props.get(prop) or wanted.get(prop)
                if have is not None and not kind_compatible(have, kind):
                    raise ValueError(
                        f"metadata {key!r} of chunk {i} is {kind} but the collection stores "
                        f"it as {have}; keep one type per metadata key"
                    )
                if prop not in self._props and prop not in wanted:
                    wanted[prop] = kind
        for prop, kind in wanted.items():
            self._collection.config.add_property(schema.metadata_property_config(prop, kind))
        if wanted:
            self._refresh_props()

    # -- writes ------------------------------------------------------------------------
    def upsert(
        self, chunks: Sequence[Chunk], vectors: Mapping[str, Any], *, tenant: str | None = None
    ) -> list[str]:
        """Insert or overwrite chunks with their vectors, in batches.

        Input is validated whole before anything is written. Raises ``BatchWriteError``
        listing every object the server rejected.
        """
        from weaviate.classes.data import DataObject

        if not chunks:
            return []
        arrays = check_vectors(self.spaces, vectors, len(chunks))
        for i, c in enumerate(chunks):
            if not isinstance(c.text, str):
                raise ValueError(f"chunk {i} text must be a str, got {type(c.text).__name__}")
        uuids = [storage_uuid(c.id) for c in chunks]
        seen: dict[str, int] = {}
        for i, u in enumerate(uuids):
            if u in seen:
                raise ValueError(
                    f"chunks {seen[u]} and {i} have the same id {chunks[i].id!r}; "
                    "ids must be unique within one upsert"
                )
            seen[u] = i
        self._ensure_metadata_props(chunks)
        objects = []
        for i, c in enumerate(chunks):
            vec = {name: arr[i].tolist() for name, arr in arrays.items()}
            objects.append(DataObject(properties=chunk_properties(c), uuid=uuids[i],
                                      vector=vec or None))
        self._write(objects, tenant)
        return [c.id for c in chunks]

    def _write(self, objects: Sequence[Any], tenant: str | None) -> None:
        target = self._target(tenant)
        failures: list[ObjectFailure] = []
        for start in range(0, len(objects), self.batch_size):
            batch = objects[start:start + self.batch_size]
            result = target.data.insert_many(batch)
            for idx, err in sorted(result.errors.items()):
                obj = batch[idx]
                label = (obj.properties or {}).get("chunk_id") or str(obj.uuid)
                failures.append(ObjectFailure(str(label), str(err.message)))
        if tenant:
            self._known_tenants.add(tenant)
        if failures:
            raise BatchWriteError(failures, len(objects))

    def delete(self, ids: Sequence[str], *, tenant: str | None = None) -> int:
        """Delete chunks by id (original ids or UUIDs)."""
        from weaviate.classes.query import Filter as WFilter

        if not ids:
            return 0
        uuids = [storage_uuid(i) for i in ids]
        deleted = 0
        for start in range(0, len(uuids), DELETE_PAGE):
            deleted += self._delete_many(
                WFilter.by_id().contains_any(uuids[start:start + DELETE_PAGE]), tenant
            )
        return deleted

    def delete_documents(self, document_ids: Sequence[str], *, tenant: str | None = None) -> int:
        """Delete every chunk of the given documents, looping past the 10,000 cap."""
        from weaviate.classes.query import Filter as WFilter

        if not document_ids:
            return 0
        return self._delete_many(
            WFilter.by_property("document_id").contains_any(list(document_ids)), tenant
        )

    def delete_where(self, filters: FilterLike, *, tenant: str | None = None) -> int:
        """Delete every chunk matching a filter."""
        flt = as_filter(filters)
        if flt is None:
            raise ValueError("delete_where needs a filter; use drop() to delete everything")
        return self._delete_many(self._to_weaviate_filter(flt), tenant)

    def _delete_many(self, where: Any, tenant: str | None) -> int:
        if not self._readable(tenant):
            return 0
        target = self._target(tenant)
        total = 0
        while True:
            res = target.data.delete_many(where=where)
            if res.failed:
                raise EmbedweaveError(
                    f"{res.failed} of {res.matches} deletes failed in {self.name!r}"
                )
            total += int(res.successful)
            if res.matches < DELETE_PAGE:
                return total

    def drop(self) -> None:
        """Delete the collection and everything in it."""
        self._client.collections.delete(self.name)

    def close(self) -> None:
        """Close the client connection if this store opened it."""
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    # -- reads -------------------------------------------------------------------------
    def count(self, *, tenant: str | None = None) -> int:
        """Number of chunks (objects) in the collection or tenant."""
        if not self._readable(tenant):
            return 0
        res = self._target(tenant).aggregate.over_all(total_count=True)
        return int(res.total_count or 0)

    def get(self, ids: Sequence[str], *, tenant: str | None = None) -> list[Chunk]:
        """Chunks by id, in the order given; unknown ids are left out."""
        found = self._fetch(ids, tenant, include_vector=None)
        return [found[u][0] for u in (storage_uuid(i) for i in ids) if u in found]

    def get_vectors(
        self, ids: Sequence[str], *, space: str, tenant: str | None = None
    ) -> dict[str, np.ndarray]:
        """Stored vectors of one space by chunk id."""
        self._space(space)
        found = self._fetch(ids, tenant, include_vector=[space])
        out: dict[str, np.ndarray] = {}
        for chunk, vecs in found.values():
            if space in vecs:
                out[chunk.id] = np.asarray(vecs[space], dtype=np.float32)
        return out

    def _fetch(
        self, ids: Sequence[str], tenant: str | None, include_vector: list[str] | None
    ) -> dict[str, tuple[Chunk, dict[str, Any]]]:
        from weaviate.classes.query import Filter as WFilter

        out: dict[str, tuple[Chunk, dict[str, Any]]] = {}
        if not self._readable(tenant):
            return out
        target = self._target(tenant)
        uuids = list(dict.fromkeys(storage_uuid(i) for i in ids))
        for start in range(0, len(uuids), 1000):
            page = uuids[start:start + 1000]
            res = target.query.fetch_objects(
                filters=WFilter.by_id().contains_any(page), limit=len(page),
                include_vector=include_vector or False,
            )
            for obj in res.objects:
                out[str(obj.uuid)] = (to_chunk(obj), dict(obj.vector or {}))
        return out

    def iter_chunks(self, *, tenant: str | None = None) -> Iterator[Chunk]:
        """Iterate over every chunk (cursor-based, any collection size)."""
        if not self._readable(tenant):
            return
        for obj in self._target(tenant).iterator():
            yield to_chunk(obj)

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
        """HNSW nearest neighbours in one space; score = similarity (cosine in [-1, 1])."""
        from weaviate.classes.query import MetadataQuery

        validate_k(k)
        spec = self._space(space)
        q = _query_vector(vector, spec)
        if not self._readable(tenant):
            return []
        res = self._target(tenant).query.near_vector(
            near_vector=q, target_vector=space, limit=k,
            filters=self._to_weaviate_filter(as_filter(filters)),
            return_metadata=MetadataQuery(distance=True),
            include_vector=[space] if include_vectors else False,
        )
        return [
            Hit(to_chunk(o), similarity_from_distance(float(o.metadata.distance), spec.distance),
                (space,), vectors=({space: list(o.vector[space])} if include_vectors else {}))
            for o in res.objects
        ]

    def keyword_search(
        self, query: str, *, k: int = 10, filters: FilterLike = None, tenant: str | None = None
    ) -> list[Hit]:
        """BM25 over chunk text; score = BM25 score."""
        from weaviate.classes.query import MetadataQuery

        validate_k(k)
        _check_query(query)
        if not self._readable(tenant):
            return []
        res = self._target(tenant).query.bm25(
            query=query, query_properties=["text"], limit=k,
            filters=self._to_weaviate_filter(as_filter(filters)),
            return_metadata=MetadataQuery(score=True),
        )
        return [Hit(to_chunk(o), float(o.metadata.score or 0.0), ("bm25",))
                for o in res.objects]

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
        """Weaviate hybrid (relative score fusion) with alpha passed through exactly."""
        from weaviate.classes.query import HybridFusion, MetadataQuery

        alpha = validate_alpha(alpha)
        validate_k(k)
        _check_query(query)
        spec = self._space(space)
        if not self._readable(tenant):
            return []
        res = self._target(tenant).query.hybrid(
            query=query, vector=_query_vector(vector, spec), target_vector=space,
            alpha=alpha, query_properties=["text"], fusion_type=HybridFusion.RELATIVE_SCORE,
            limit=k, filters=self._to_weaviate_filter(as_filter(filters)),
            return_metadata=MetadataQuery(score=True),
        )
        found = ("bm25",) if alpha == 0 else (space,) if alpha == 1 else (space, "bm25")
        return [Hit(to_chunk(o), float(o.metadata.score or 0.0), found) for o in res.objects]

    def _space(self, space: str) -> VectorSpace:
        if space not in self.spaces:
            raise ValueError(f"unknown vector space {space!r}; {self.name!r} has "
                             f"{sorted(self.spaces)}")
        return self.spaces[space]

    # -- filters -----------------------------------------------------------------------
    def _to_weaviate_filter(self, flt: Filter | None) -> Any:
        return to_weaviate_filter(flt, self._prop_type)

    def _prop_type(self, prop: str) -> str | None:
        if prop not in self._props:
            self._refresh_props()
        return self._props.get(prop)

# -- helpers ---------------------------------------------------------------------------
def _check_query(query: str) -> None:
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"query must be a non-empty string, got {query!r}")


def _query_vector(vector: Sequence[float] | np.ndarray, spec: VectorSpace) -> list[float]:
    q = np.asarray(vector, dtype=np.float32).reshape(-1)
    if q.shape[0] != spec.dims:
        raise SpaceMismatchError(
            f"query vector has {q.shape[0]} dims but space {spec.name!r} ({spec.model}) "
            f"stores {spec.dims}"
        )
    if not np.isfinite(q).all():
        raise ValueError("query vector has NaN or inf values")
    return [float(x) for x in q]
