"""The ``WeaviateStore`` class: writes, reads and searches over one collection.

Chunk ids are deterministic uuid5s so re-ingesting overwrites; every failed object of a
batch is raised, never only logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from embedweave.errors import (
    BatchWriteError,
    EmbedweaveError,
    SpaceMismatchError,
    StoreError,
)
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
from embedweave.store.values import check_chunk_values, check_text
from embedweave.store.weaviate import repair, schema
from embedweave.store.weaviate.calibrate import (
    DEFAULT_EFS,
    Calibration,
    calibrate_space,
    recorded_calibrations,
)
from embedweave.store.weaviate.connection import connect
from embedweave.store.weaviate.errors import RetryPolicy, call
from embedweave.store.weaviate.filters import to_weaviate_filter
from embedweave.store.weaviate.properties import (
    chunk_properties,
    kind_compatible,
    storage_uuid,
    stored_property,
    to_chunk,
    value_kind,
)
from embedweave.store.weaviate.writes import (
    DEFAULT_CONCURRENCY,
    OnDemand,
    insert_sender,
    write_concurrently,
)
from embedweave.types import Chunk, Hit

if TYPE_CHECKING:
    from embedweave.server import ManagedWeaviate

logger = logging.getLogger(__name__)

#: Weaviate caps one delete_many call at this many matches.
DELETE_PAGE = 10_000
#: Weaviate's default ``QUERY_MAXIMUM_RESULTS``: no query may ask for more results.
DEFAULT_MAX_RESULTS = 10_000
#: Consistency levels of a replicated collection (``weaviate ConsistencyLevel``).
CONSISTENCY_LEVELS = ("ONE", "QUORUM", "ALL")


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
        write_concurrency: Write requests in flight at once (``store/weaviate/writes.py``):
            the client builds the next request while the server indexes the current one.
        create: Create the collection when missing (else raise).
        flat_spaces: Spaces stored with a flat (brute-force) index instead of HNSW: no
            graph in memory. For the full-dims space of a funnel, whose vectors are only
            fetched to rescore a low-dims shortlist, or for small collections.
        replication_factor: Copies of every object across a cluster's nodes, set when
            the collection is created (an existing collection keeps its own).
        consistency: Replicas that must answer reads and writes: ``ONE``, ``QUORUM``
            (the server's default) or ``ALL``.
        write_consistency: Replicas that must acknowledge writes and deletes, when it
            should differ from ``consistency``.
        max_results: The server's ``QUERY_MAXIMUM_RESULTS``; a larger ``k`` is refused
            before sending (default: the managed server's setting, else 10,000).
        retry: Retries of idempotent writes and deletes on transient failures.

    Raises:
        StoreError: the server is unreachable, refuses the credentials or the schema.
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
        write_concurrency: int = DEFAULT_CONCURRENCY,
        create: bool = True,
        flat_spaces: Sequence[str] = (),
        replication_factor: int | None = None,
        consistency: str | None = None,
        write_consistency: str | None = None,
        max_results: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        name = schema.collection_name(collection)
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if replication_factor is not None and (
            not isinstance(replication_factor, int) or replication_factor < 1
        ):
            raise ValueError(
                f"replication_factor must be a positive integer, got {replication_factor!r}"
            )
        self.name = name
        self.replication_factor = replication_factor
        self.consistency = _consistency(consistency, "consistency")
        self.write_consistency = _consistency(write_consistency, "write_consistency") or (
            self.consistency
        )
        self.max_results = _max_results(max_results, server)
        self.retry = retry or RetryPolicy()
        self.url = url or (server.url if server is not None else _client_url(client))
        self.hnsw = hnsw or HnswConfig()
        self.multi_tenancy = multi_tenancy
        self.batch_size = batch_size
        if write_concurrency <= 0:
            raise ValueError(f"write_concurrency must be positive, got {write_concurrency}")
        self.write_concurrency = write_concurrency
        self.flat_spaces = frozenset(flat_spaces)
        unknown = self.flat_spaces - {sp.name for sp in spaces}
        if unknown:
            raise ValueError(f"flat_spaces {sorted(unknown)} are not among the given spaces")
        self._owns_client = client is None
        self._client = client if client is not None else call(
            lambda: connect(url, grpc_port, api_key, server),
            operation="connect", collection=name, url=self.url,
        )
        self.spaces: dict[str, VectorSpace] = {}
        self._props: dict[str, str] = {}
        self._known_tenants: set[str] = set()
        try:
            call(lambda: self._open(list(spaces), create), operation="open collection",
                 collection=self.name, url=self.url)
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
                replication_config=(
                    Configure.replication(factor=self.replication_factor)
                    if self.replication_factor else None
                ),
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
                    list(self.spaces.values()), calibration=schema.recorded_calibration(
                        self._collection.config.get().description)))
            config = self._collection.config.get()
            self.multi_tenancy = bool(config.multi_tenancy_config.enabled)
            if not any(p.name == "content_hash" for p in config.properties):
                self._collection.config.add_property(schema.content_hash_property())
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
        coll = self._client.collections.get(self.name)
        if self.consistency:
            from weaviate.classes.config import ConsistencyLevel

            coll = coll.with_consistency_level(ConsistencyLevel(self.consistency))
        return coll

    def _writer(self, tenant: str | None) -> Any:
        """The target of writes and deletes, at the write consistency level."""
        target = self._target(tenant)
        if self.write_consistency and self.write_consistency != self.consistency:
            from weaviate.classes.config import ConsistencyLevel

            target = target.with_consistency_level(ConsistencyLevel(self.write_consistency))
        return target

    def _call(self, fn: Any, operation: str, *, idempotent: bool = False) -> Any:
        """Send one request: server failures become ``StoreError`` (retried if idempotent)."""
        return call(fn, operation=operation, collection=self.name, url=self.url,
                    retry=self.retry if idempotent else None)

    def _target(self, tenant: str | None) -> Any:
        coll = self._collection
        if self.multi_tenancy:
            if not tenant:
                raise ValueError(f"collection {self.name!r} is multi-tenant: pass tenant=")
            return coll.with_tenant(_check_tenant(tenant))
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
        _check_tenant(tenant)
        if tenant in self._known_tenants:
            return True
        if self._call(lambda: self._collection.tenants.exists(tenant), "check tenant"):
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
            self._call(lambda p=prop, k=kind: self._collection.config.add_property(
                schema.metadata_property_config(p, k)), f"add metadata property {prop!r}")
        if wanted:
            self._call(self._refresh_props, "read schema")

    # -- writes ------------------------------------------------------------------------
    def upsert(
        self, chunks: Sequence[Chunk], vectors: Mapping[str, Any], *, tenant: str | None = None
    ) -> list[str]:
        """Insert or overwrite chunks with their vectors, in batches.

        Input is validated whole before anything is written (text the server would
        reject, NaN/inf metadata, wrong vectors: ``ValueError``/``TypeError`` naming the
        chunk). Raises ``BatchWriteError`` listing every object not written: those the
        server rejected and, when a request fails for good, the rest of the call.
        """
        from weaviate.classes.data import DataObject

        if not chunks:
            return []
        arrays = check_vectors(self.spaces, vectors, len(chunks))
        check_chunk_values(chunks)
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

        def build(start: int, end: int) -> list[Any]:  # runs in the writer's threads
            return [
                DataObject(properties=chunk_properties(chunks[i]), uuid=uuids[i],
                           vector={n: a[i].tolist() for n, a in arrays.items()} or None)
                for i in range(start, end)
            ]

        self._write(OnDemand(len(chunks), build), tenant)
        return [c.id for c in chunks]

    def _write(self, objects: Sequence[Any], tenant: str | None) -> None:
        """Send objects in concurrent requests; raise naming every one not written.

        ``objects`` may build its items on demand (``OnDemand``), so each request is
        built in the writer thread that sends it. A request that fails for good (after
        retries) marks its objects failed and stops the requests not yet sent, which
        are reported as not sent.
        """
        sender = insert_sender(self._writer(tenant))
        outcome = write_concurrently(
            len(objects), lambda s, e: objects[s:e],
            lambda objs: self._call(lambda: sender(objs), f"insert {len(objs)} objects",
                                    idempotent=True),
            lambda i: _object_label(objects[i]),
            request_size=self.batch_size, concurrency=self.write_concurrency,
        )  # fmt: skip
        if tenant and outcome.cause is None:
            self._known_tenants.add(tenant)
        if outcome.failures:
            raise BatchWriteError(
                outcome.failures, len(objects), f"upsert into {self.name!r} at {self.url}"
            ) from outcome.cause

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
        target = self._writer(tenant)
        total = 0
        while True:
            res = self._call(lambda: target.data.delete_many(where=where), "delete objects",
                             idempotent=True)
            if res.failed:
                raise StoreError(
                    operation="delete objects", collection=self.name, url=self.url,
                    server_message=f"{res.failed} of {res.matches} deletes failed",
                )
            total += int(res.successful)
            if res.matches < DELETE_PAGE:
                return total

    def repair(self, *, tenant: str | None = None) -> int:
        """Delete objects a server crash left half-written; return how many.

        An object whose write was cut by a server crash can stay in the object store
        without its ``document_id`` index entry (or vector): invisible to listing and
        filters, and not re-indexed when rewritten unchanged (``store.weaviate.repair``).
        Two counts when nothing is wrong; a cursor scan of the collection when they
        differ. ``Index`` calls this once per tenant before planning, and again after a
        failed call.
        """
        if not self._readable(tenant):
            return 0
        target = self._target(tenant)
        if repair.indexed_count(target, self._call) >= self.count(tenant=tenant):
            return 0
        torn = repair.find_unindexed(target, self._call)
        if not torn:
            return 0
        logger.warning("%s: deleting %d object(s) a server crash left unindexed, so the "
                       "next write stores them whole", self.name, len(torn))
        writer = self._writer(tenant)
        return repair.delete_by_id(
            writer, lambda fn, op: self._call(fn, op, idempotent=True), torn)

    def drop(self) -> None:
        """Delete the collection and everything in it."""
        self._call(lambda: self._client.collections.delete(self.name), "drop collection")

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
        target = self._target(tenant)
        res = self._call(lambda: target.aggregate.over_all(total_count=True), "count")
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
            res = self._call(lambda p=page: target.query.fetch_objects(
                filters=WFilter.by_id().contains_any(p), limit=len(p),
                include_vector=include_vector or False,
            ), f"fetch {len(page)} objects")
            for obj in res.objects:
                out[str(obj.uuid)] = (to_chunk(obj), dict(obj.vector or {}))
        return out

    def document_chunks(
        self, document_ids: Sequence[str], *, tenant: str | None = None
    ) -> dict[str, dict[str, str]]:
        """Stored chunk ids of documents with their content hashes: doc -> {id: hash}."""
        from weaviate.classes.query import Filter as WFilter

        out: dict[str, dict[str, str]] = {}
        if not document_ids or not self._readable(tenant):
            return out
        target = self._target(tenant)
        ids = list(dict.fromkeys(document_ids))
        page = min(1000, self.max_results)
        for start in range(0, len(ids), 50):
            group = ids[start:start + 50]
            offset = 0
            while True:
                if offset + page > self.max_results:
                    raise EmbedweaveError(
                        f"documents {group[:3]}... hold more than {self.max_results} chunks "
                        f"in {self.name!r} (QUERY_MAXIMUM_RESULTS); pass fewer documents"
                    )
                res = self._call(lambda g=group, o=offset: target.query.fetch_objects(
                    filters=WFilter.by_property("document_id").contains_any(g), limit=page,
                    offset=o, return_properties=["document_id", "chunk_id", "content_hash"],
                ), f"list chunks of {len(group)} documents")
                for obj in res.objects:
                    p = obj.properties
                    out.setdefault(str(p.get("document_id") or ""), {})[
                        str(p.get("chunk_id") or obj.uuid)] = str(p.get("content_hash") or "")
                if len(res.objects) < page:
                    break
                offset += page
        return out

    def document_ids(self, *, tenant: str | None = None) -> set[str]:
        """Ids of every document with at least one stored chunk (one cursor scan)."""
        if not self._readable(tenant):
            return set()
        objects = self._target(tenant).iterator(return_properties=["document_id"])
        out: set[str] = set()
        while True:
            obj = self._call(lambda: next(objects, None), "list documents")
            if obj is None:
                return out
            out.add(str(obj.properties.get("document_id") or ""))

    def iter_chunks(self, *, tenant: str | None = None) -> Iterator[Chunk]:
        """Iterate over every chunk (cursor-based, any collection size)."""
        if not self._readable(tenant):
            return
        objects = self._target(tenant).iterator()
        while True:
            obj = self._call(lambda: next(objects, None), "iterate objects")
            if obj is None:
                return
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

        self._check_k(k)
        spec = self._space(space)
        q = _query_vector(vector, spec)
        if not self._readable(tenant):
            return []
        target, where = self._target(tenant), self._to_weaviate_filter(as_filter(filters))
        res = self._call(lambda: target.query.near_vector(
            near_vector=q, target_vector=space, limit=k, filters=where,
            return_metadata=MetadataQuery(distance=True),
            include_vector=[space] if include_vectors else False,
        ), f"vector search (k={k}, space {space!r})")
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

        self._check_k(k)
        _check_query(query)
        if not self._readable(tenant):
            return []
        target, where = self._target(tenant), self._to_weaviate_filter(as_filter(filters))
        res = self._call(lambda: target.query.bm25(
            query=query, query_properties=["text"], limit=k, filters=where,
            return_metadata=MetadataQuery(score=True),
        ), f"keyword search (k={k})")
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
        self._check_k(k)
        _check_query(query)
        spec = self._space(space)
        q = _query_vector(vector, spec)
        if not self._readable(tenant):
            return []
        target, where = self._target(tenant), self._to_weaviate_filter(as_filter(filters))
        res = self._call(lambda: target.query.hybrid(
            query=query, vector=q, target_vector=space,
            alpha=alpha, query_properties=["text"], fusion_type=HybridFusion.RELATIVE_SCORE,
            limit=k, filters=where, return_metadata=MetadataQuery(score=True),
        ), f"hybrid search (k={k}, space {space!r})")
        found = ("bm25",) if alpha == 0 else (space,) if alpha == 1 else (space, "bm25")
        return [Hit(to_chunk(o), float(o.metadata.score or 0.0), found) for o in res.objects]

    def _check_k(self, k: int) -> None:
        validate_k(k)
        if k > self.max_results:
            raise ValueError(
                f"k={k} is above the server's result limit of {self.max_results} "
                f"(QUERY_MAXIMUM_RESULTS) for {self.name!r}; ask for fewer results, or raise "
                "the server setting and pass max_results="
            )

    # -- HNSW calibration --------------------------------------------------------------
    def calibrate(
        self,
        target_recall: float = 0.99,
        k: int = 10,
        queries: np.ndarray | Sequence[Sequence[float]] | None = None,
        sample: int = 200,
        *,
        space: str | None = None,
        efs: Sequence[int] = DEFAULT_EFS,
        tenant: str | None = None,
        confidence: float | None = 0.95,
    ) -> Calibration:
        """Apply the smallest HNSW ``ef`` whose recall@k meets ``target_recall``.

        Measured against exact search over the space's own vectors: ``sample`` stored
        vectors as queries (each excluding itself), or the given ``queries``. An ``ef``
        meets the target when the lower confidence bound of its mean recall does, so
        the target holds beyond the queries measured. The result is recorded in the
        collection (``calibrations()``); re-run it as data grows.

        Args:
            target_recall: Mean recall@k to reach, in (0, 1].
            k: Neighbours compared.
            queries: Query vectors (n, dims) of the space; default: sampled vectors.
            sample: Stored vectors sampled as queries.
            space: Named vector; required when the collection has several HNSW spaces.
            efs: ``ef`` values tried, smallest first.
            tenant: Tenant whose objects are measured (multi-tenant collections).
            confidence: One-sided confidence of that bound, in (0, 1); ``None``
                compares the sample mean itself.

        Raises:
            ValueError: bad arguments, an empty or flat space, an ambiguous space.
        """
        return calibrate_space(self, self.hnsw_space(space), target_recall=target_recall,
                               k=k, queries=queries, sample=sample, efs=efs, tenant=tenant,
                               confidence=confidence)

    def calibrations(self) -> dict[str, Calibration]:
        """What the last ``calibrate`` of each space measured, as recorded."""
        return recorded_calibrations(self)

    def hnsw_space(self, space: str | None = None) -> str:
        """The HNSW space ``calibrate`` measures: ``space`` checked, else the only one.

        Raises:
            ValueError: an unknown space, or several HNSW spaces and none named.
        """
        if space is not None:
            self._space(space)
            return space
        hnsw = [s for s in self.spaces if s not in self.flat_spaces]
        if len(hnsw) != 1:
            raise ValueError(f"{self.name!r} has HNSW spaces {sorted(hnsw)}: pass space=")
        return hnsw[0]

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
            self._call(self._refresh_props, "read schema")
        return self._props.get(prop)


def _object_label(obj: Any) -> str:
    """The id naming a data object in failures: its chunk id, else its UUID."""
    return str((obj.properties or {}).get("chunk_id") or obj.uuid)


# -- helpers ---------------------------------------------------------------------------
def _label(obj: Any) -> str:
    """The chunk id of a ``DataObject`` (its uuid when it has none)."""
    return str((obj.properties or {}).get("chunk_id") or obj.uuid)


def _consistency(level: str | None, what: str) -> str | None:
    if level is None:
        return None
    upper = str(level).upper()
    if upper not in CONSISTENCY_LEVELS:
        raise ValueError(f"{what} must be one of {CONSISTENCY_LEVELS}, got {level!r}")
    return upper


def _max_results(max_results: int | None, server: ManagedWeaviate | None) -> int:
    if max_results is not None:
        if not isinstance(max_results, int) or max_results <= 0:
            raise ValueError(f"max_results must be a positive integer, got {max_results!r}")
        return max_results
    if server is not None:
        from embedweave.server.managed import query_maximum_results

        return query_maximum_results(server)
    return DEFAULT_MAX_RESULTS


def _client_url(client: Any) -> str:
    try:
        return str(client._connection.url)
    except AttributeError:
        return "(client given)"

def _check_query(query: str) -> None:
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"query must be a non-empty string, got {query!r}")
    check_text(query, "query")


#: Tenant names Weaviate accepts.
_TENANT_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _check_tenant(tenant: str) -> str:
    if not isinstance(tenant, str) or not _TENANT_RE.fullmatch(tenant):
        raise ValueError(
            f"tenant name {tenant!r} must be 1-64 letters, digits, '_' or '-' (Weaviate's rule)"
        )
    return tenant


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
