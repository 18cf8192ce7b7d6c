"""``WeaviateStore``: one Weaviate collection per index, one named vector per space.

The collection description records each space's model, fingerprint, dims and distance
so vectors of different models are never mixed; chunk ids are deterministic uuid5s so
re-ingesting overwrites; every failed object of a batch is raised, never only logged.
"""

from __future__ import annotations

import json
import logging
import re
import uuid as uuid_mod
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from embedweave.errors import BatchWriteError, EmbedweaveError, ObjectFailure, SpaceMismatchError
from embedweave.filters import Condition, Filter, FilterLike, as_filter
from embedweave.store.base import (
    Store,
    VectorSpace,
    check_vectors,
    similarity_from_distance,
    validate_alpha,
    validate_k,
)
from embedweave.store.config import HnswConfig
from embedweave.types import Chunk, Hit

if TYPE_CHECKING:
    from embedweave.store.server import ManagedWeaviate

logger = logging.getLogger(__name__)

DESCRIPTION_PREFIX = "embedweave:"
FORMAT_VERSION = 1
#: Weaviate caps one delete_many call at this many matches.
DELETE_PAGE = 10_000
RESERVED = {"text", "document_id", "chunk_index", "chunk_id", "language", "metadata_json"}
_PROP_RE = re.compile(r"[^0-9A-Za-z_]")
_COLLECTION_RE = re.compile(r"^[A-Za-z][_0-9A-Za-z]*$")


def metadata_property(key: str) -> str:
    """Weaviate property name holding a user metadata key (``md_`` + sanitised key)."""
    if key in ("document_id", "language", "chunk_index"):
        return key
    return "md_" + _PROP_RE.sub("_", key)


def storage_uuid(chunk_id: str) -> str:
    """Weaviate object id for a chunk id: itself when it is a UUID, else a uuid5 of it."""
    try:
        return str(uuid_mod.UUID(chunk_id))
    except (ValueError, AttributeError, TypeError):
        return str(uuid_mod.uuid5(uuid_mod.NAMESPACE_URL, f"embedweave:{chunk_id}"))


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
        if not _COLLECTION_RE.match(collection):
            raise ValueError(
                f"collection name {collection!r} must start with a letter and hold only "
                "letters, digits and '_'"
            )
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.name = collection[0].upper() + collection[1:]
        self.hnsw = hnsw or HnswConfig()
        self.multi_tenancy = multi_tenancy
        self.batch_size = batch_size
        self.flat_spaces = frozenset(flat_spaces)
        unknown = self.flat_spaces - {sp.name for sp in spaces}
        if unknown:
            raise ValueError(f"flat_spaces {sorted(unknown)} are not among the given spaces")
        self._owns_client = client is None
        self._client = client if client is not None else _connect(url, grpc_port, api_key, server)
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
        from weaviate.classes.config import Configure, DataType, Property, Tokenization

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
            vector_config = [self._vector_config(s) for s in spaces]
            self._client.collections.create(
                self.name,
                description=self._description(spaces),
                vector_config=vector_config,
                properties=[
                    Property(name="text", data_type=DataType.TEXT,
                             tokenization=Tokenization.WORD),
                    Property(name="document_id", data_type=DataType.TEXT,
                             tokenization=Tokenization.FIELD, index_searchable=False),
                    Property(name="chunk_index", data_type=DataType.INT),
                    Property(name="chunk_id", data_type=DataType.TEXT,
                             tokenization=Tokenization.FIELD, index_searchable=False),
                    Property(name="language", data_type=DataType.TEXT,
                             tokenization=Tokenization.FIELD, index_searchable=False),
                    Property(name="metadata_json", data_type=DataType.TEXT,
                             index_filterable=False, index_searchable=False),
                ],
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
                self._collection.config.update(description=self._description(
                    list(self.spaces.values())))
            config = self._collection.config.get()
            self.multi_tenancy = bool(config.multi_tenancy_config.enabled)
        self._refresh_props()

    def _vector_config(self, space: VectorSpace) -> Any:
        from weaviate.classes.config import Configure

        index, quantizer = self.hnsw.to_weaviate(space.distance)
        if space.name in self.flat_spaces:
            index = Configure.VectorIndex.flat(distance_metric=index.distance)
            quantizer = None
        return Configure.Vectors.self_provided(
            name=space.name, vector_index_config=index, quantizer=quantizer
        )

    def _description(self, spaces: Sequence[VectorSpace]) -> str:
        return DESCRIPTION_PREFIX + json.dumps(
            {"format": FORMAT_VERSION, "spaces": {s.name: s.to_dict() for s in spaces}},
            sort_keys=True,
        )

    def _recorded_spaces(self) -> dict[str, VectorSpace]:
        config = self._collection.config.get()
        desc = config.description or ""
        if not desc.startswith(DESCRIPTION_PREFIX):
            raise SpaceMismatchError(
                f"collection {self.name!r} exists but was not created by embedweave "
                "(no space record in its description); use another collection name"
            )
        data = json.loads(desc[len(DESCRIPTION_PREFIX):])
        return {n: VectorSpace.from_dict(d) for n, d in data["spaces"].items()}

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
        from weaviate.classes.config import DataType, Property, Tokenization

        wanted: dict[str, tuple[str, str]] = {}
        for i, c in enumerate(chunks):
            for key, value in c.metadata.items():
                prop = metadata_property(key)
                if prop in ("document_id", "language", "chunk_index"):
                    prop = "md_" + key
                kind = _value_kind(value, key, i)
                if kind is None:
                    continue
                have = self._props.get(prop) or (wanted.get(prop) or (None, None))[0]
                if have is not None and not _kind_compatible(have, kind):
                    raise ValueError(
                        f"metadata {key!r} of chunk {i} is {kind} but the collection stores "
                        f"it as {have}; keep one type per metadata key"
                    )
                if prop not in self._props and prop not in wanted:
                    wanted[prop] = (kind, key)
        for prop, (kind, _key) in wanted.items():
            dtype = {"text": DataType.TEXT, "int": DataType.INT, "number": DataType.NUMBER,
                     "boolean": DataType.BOOL, "text[]": DataType.TEXT_ARRAY,
                     "int[]": DataType.INT_ARRAY, "number[]": DataType.NUMBER_ARRAY,
                     "date": DataType.DATE}[kind]
            tok = Tokenization.FIELD if kind in ("text", "text[]") else None
            self._collection.config.add_property(
                Property(name=prop, data_type=dtype, tokenization=tok, index_searchable=False)
            )
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
            objects.append(DataObject(properties=self._properties(c), uuid=uuids[i],
                                      vector=vec or None))
        self._write(objects, tenant)
        return [c.id for c in chunks]

    def _properties(self, c: Chunk) -> dict[str, Any]:
        props: dict[str, Any] = {
            "text": c.text, "document_id": c.document_id, "chunk_index": int(c.index),
            "chunk_id": c.id, "language": c.language,
            "metadata_json": json.dumps(c.metadata, default=_json_default, sort_keys=True),
        }
        for key, value in c.metadata.items():
            prop = metadata_property(key)
            if prop in ("document_id", "language", "chunk_index"):
                prop = "md_" + key
            if _value_kind(value, key, 0) is not None:
                props[prop] = value.isoformat() if isinstance(value, datetime) else value
        return props

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
                out[str(obj.uuid)] = (_to_chunk(obj), dict(obj.vector or {}))
        return out

    def iter_chunks(self, *, tenant: str | None = None) -> Iterator[Chunk]:
        """Iterate over every chunk (cursor-based, any collection size)."""
        if not self._readable(tenant):
            return
        for obj in self._target(tenant).iterator():
            yield _to_chunk(obj)

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
            Hit(_to_chunk(o), similarity_from_distance(float(o.metadata.distance), spec.distance),
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
        return [Hit(_to_chunk(o), float(o.metadata.score or 0.0), ("bm25",))
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
        return [Hit(_to_chunk(o), float(o.metadata.score or 0.0), found) for o in res.objects]

    def _space(self, space: str) -> VectorSpace:
        if space not in self.spaces:
            raise ValueError(f"unknown vector space {space!r}; {self.name!r} has "
                             f"{sorted(self.spaces)}")
        return self.spaces[space]

    # -- filters -----------------------------------------------------------------------
    def _to_weaviate_filter(self, flt: Filter | None) -> Any:
        from weaviate.classes.query import Filter as WFilter

        if flt is None:
            return None
        parts = [
            self._to_weaviate_filter(p) if isinstance(p, Filter) else self._condition(p)
            for p in flt.conditions
        ]
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        return WFilter.all_of(parts) if flt.combine == "and" else WFilter.any_of(parts)

    def _condition(self, cond: Condition) -> Any:
        from weaviate.classes.query import Filter as WFilter

        prop = metadata_property(cond.key)
        if prop not in self._props:
            self._refresh_props()
        if prop not in self._props:
            # Unknown key: no stored chunk has it. eq/gt/... match nothing, ne/nin all.
            always = cond.op in ("ne", "nin")
            return None if always else WFilter.by_id().contains_any([str(uuid_mod.UUID(int=0))])
        f = WFilter.by_property(prop)
        value = cond.value
        if self._props[prop] == "number" and isinstance(value, int) and not isinstance(
                value, bool):
            value = float(value)
        op = cond.op
        if op == "eq":
            return f.equal(value)
        if op == "ne":
            return f.not_equal(value)
        if op == "gt":
            return f.greater_than(value)
        if op == "gte":
            return f.greater_or_equal(value)
        if op == "lt":
            return f.less_than(value)
        if op == "lte":
            return f.less_or_equal(value)
        if op == "in":
            return f.contains_any(list(value))
        if op == "nin":
            return f.contains_none(list(value))
        if op == "contains":
            return f.contains_any([value])
        if op == "like":
            return f.like(str(value).replace("%", "*"))
        raise AssertionError(op)


# -- helpers ---------------------------------------------------------------------------
def _connect(url: str | None, grpc_port: int | None, api_key: str | None,
             server: ManagedWeaviate | None) -> Any:
    import weaviate
    from weaviate.classes.init import AdditionalConfig, Auth, Timeout

    if url is None and server is None:
        raise ValueError("give url= (any Weaviate) or server= (a started ManagedWeaviate)")
    if url is not None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"url must look like http://host:port, got {url!r}")
        host, secure = parsed.hostname, parsed.scheme == "https"
        port = parsed.port or (443 if secure else 80)
        gport = grpc_port or 50051
    else:
        assert server is not None
        host, secure, port, gport = server.host, False, server.http_port, server.grpc_port
        api_key = api_key or server.api_key
    client = weaviate.connect_to_custom(
        http_host=host, http_port=port, http_secure=secure,
        grpc_host=host, grpc_port=gport, grpc_secure=secure,
        auth_credentials=Auth.api_key(api_key) if api_key else None,
        # skip_init_checks avoids the client's PyPI version probe: nothing phones home.
        skip_init_checks=True,
        additional_config=AdditionalConfig(timeout=Timeout(init=30, query=120, insert=300)),
    )
    try:
        if not client.is_ready():
            raise EmbedweaveError(f"Weaviate at {host}:{port} is not ready")
    except Exception:
        client.close()
        raise
    return client


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


def _value_kind(value: Any, key: str, index: int) -> str | None:
    """Weaviate data type for a metadata value; None for values kept only in JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "date"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, str) for v in value):
            return "text[]"
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return "int[]"
        if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return "number[]"
        return None
    if isinstance(value, dict):
        return None
    raise ValueError(
        f"metadata {key!r} of chunk {index} has unsupported type {type(value).__name__}; "
        "use str, int, float, bool, datetime, lists of those, or dicts"
    )


def _kind_compatible(have: str, kind: str) -> bool:
    if have == kind:
        return True
    return {have, kind} in ({"int", "number"}, {"int[]", "number[]"}) and have.startswith("number")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"metadata value of type {type(value).__name__} is not JSON-serialisable")


def _to_chunk(obj: Any) -> Chunk:
    p = obj.properties
    meta_json = p.get("metadata_json")
    metadata = json.loads(meta_json) if meta_json else {}
    return Chunk(
        document_id=str(p.get("document_id") or ""),
        index=int(p.get("chunk_index") or 0),
        text=str(p.get("text") or ""),
        metadata=metadata,
        language=p.get("language"),
        id=str(p.get("chunk_id") or obj.uuid),
    )
