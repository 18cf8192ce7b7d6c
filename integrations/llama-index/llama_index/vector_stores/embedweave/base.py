"""``EmbedweaveVectorStore``: a LlamaIndex vector store over an embedweave ``Store``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.vector_stores.embedweave.convert import (
    chunk_to_node,
    nodes_to_chunks,
    to_filter,
)

from embedweave.filters import matches
from embedweave.pipeline import Index, Retriever, check_store_spaces
from embedweave.routing import Router, RouteTable, as_router
from embedweave.single_vector import single_vector_space
from embedweave.store.base import Distance, Store, VectorSpace, filterable
from embedweave.types import Hit

#: Hybrid weight used when a query leaves ``alpha`` unset (0 = BM25 only, 1 = vector only).
DEFAULT_ALPHA = 0.5

_MODES = (
    VectorStoreQueryMode.DEFAULT,
    VectorStoreQueryMode.TEXT_SEARCH,
    VectorStoreQueryMode.HYBRID,
)


class EmbedweaveVectorStore(BasePydanticVectorStore):
    """Weaviate (or any embedweave ``Store``) as a LlamaIndex vector store.

    Nodes become core chunks (node id -> chunk id, ref doc id -> document id, metadata,
    text) with their embedding in the store's one vector space; queries run the core
    store's vector, BM25 or hybrid search, with ``alpha`` passed through exactly
    (``alpha=0`` is pure BM25). Returned scores are the store's: cosine similarity,
    BM25 score, or Weaviate's relative-score fusion in [0, 1].

    The space (model fingerprint, dims, distance) is recorded in the collection, so
    opening it with another embedding model fails with ``SpaceMismatchError``.

    With ``router=`` (multilingual routing) the core ``Index`` and ``Retriever`` do the
    work: ``add`` routes each node's text by language into its space plus the shared
    space (node embeddings are not used: the router embeds every space), and a query
    with ``query_str`` is routed and its per-space results fused (RRF) exactly as
    ``embedweave.pipeline.Retriever`` does. The store then reports
    ``is_embedding_query=False``, so ``VectorStoreIndex.as_retriever()`` and
    ``as_query_engine()`` hand it the query text. A query with only an embedding
    searches the single-vector space: ``space_name`` (or ``embed_model``'s), by
    default the router's shared space.

    Example:
        ```python
        from llama_index.embeddings.embedweave import EmbedweaveEmbedding
        from llama_index.vector_stores.embedweave import EmbedweaveVectorStore

        embed_model = EmbedweaveEmbedding("minilm")
        vector_store = EmbedweaveVectorStore(
            url="http://127.0.0.1:8080", grpc_port=50051, collection="Docs",
            embed_model=embed_model,
        )
        ```

    Args:
        store: A ready core ``Store`` (``WeaviateStore``, ``MemoryStore``); or leave
            it out and give connection arguments.
        embed_model: The ``EmbedweaveEmbedding`` whose vectors are stored; its space
            is used.
        space: An explicit ``VectorSpace`` (e.g. for a foreign embedding model).
        dims: With ``fingerprint``: describe a foreign model's space without a
            ``VectorSpace`` object.
        fingerprint: Identifier of the foreign model (and its settings).
        model_name: Readable name of the foreign model.
        space_name: Named-vector name; defaults to the embedding's own (with
            ``router``: the router's shared space).
        distance: Distance of a foreign space.
        router: A core ``Router`` (or route table): route nodes and queries by
            language; the store holds ``router.vector_spaces()``.
        collection: Weaviate collection name (connection mode).
        url: Weaviate base URL (connection mode).
        grpc_port: Weaviate gRPC port (connection mode).
        api_key: Weaviate API key; used to connect, never stored or serialised.
        server: A started ``ManagedWeaviate`` instead of ``url``.
        tenant: Tenant of a multi-tenant collection.
        default_alpha: Hybrid weight when a query gives none.
        store_kwargs: Further ``WeaviateStore`` arguments (``hnsw``, ``multi_tenancy``...).
    """

    stores_text: bool = True
    is_embedding_query: bool = True
    flat_metadata: bool = False

    collection: str | None = Field(default=None, description="Weaviate collection name.")
    url: str | None = Field(default=None, description="Weaviate base URL.")
    grpc_port: int | None = Field(default=None, description="Weaviate gRPC port.")
    space_name: str = Field(description="Named vector holding this store's embeddings.")
    model: str = Field(description="Model that made the stored vectors.")
    fingerprint: str = Field(description="Fingerprint of that model and its settings.")
    dims: int = Field(description="Vector length.")
    distance: str = Field(default="cosine", description="Vector distance.")
    tenant: str | None = Field(default=None, description="Tenant of a multi-tenant collection.")
    default_alpha: float = Field(
        default=DEFAULT_ALPHA, ge=0.0, le=1.0, description="Hybrid alpha when a query has none."
    )

    _store: Store = PrivateAttr()
    _owns_store: bool = PrivateAttr(default=False)
    _router: Router | None = PrivateAttr(default=None)
    _index: Index | None = PrivateAttr(default=None)

    def __init__(
        self,
        store: Store | None = None,
        *,
        embed_model: Any = None,
        space: VectorSpace | None = None,
        dims: int | None = None,
        fingerprint: str | None = None,
        model_name: str | None = None,
        space_name: str | None = None,
        distance: Distance = "cosine",
        router: Router | RouteTable | Mapping[str, Any] | None = None,
        collection: str | None = None,
        url: str | None = None,
        grpc_port: int | None = None,
        api_key: str | None = None,
        server: Any = None,
        tenant: str | None = None,
        default_alpha: float = DEFAULT_ALPHA,
        store_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        recorded_model = kwargs.pop("model", None)  # from to_dict(): the space's model name
        if model_name is None and isinstance(recorded_model, str):
            model_name = recorded_model
        core_router = None if router is None else as_router(router)
        if core_router is not None:
            if space is not None or dims is not None or fingerprint is not None:
                raise ValueError("with router= the spaces are the router's: leave out "
                                 "space=, dims= and fingerprint=")
            if embed_model is None:
                space = core_router.vector_space(
                    single_vector_space(core_router, space_name, argument="space_name")
                )
                space_name = None
        # routed, the store embeds the query text; unrouted (even rebuilt from a routed
        # store's to_dict()) it needs query embeddings
        kwargs["is_embedding_query"] = core_router is None
        resolved = _resolve_space(
            store, embed_model, space, dims, fingerprint, model_name, space_name, distance
        )
        spaces = [resolved] if core_router is None else core_router.vector_spaces()
        if store is None:
            if collection is None:
                raise ValueError(
                    "give store= (a ready embedweave Store) or collection= with url= or "
                    "server= to connect to Weaviate"
                )
            from embedweave.store.weaviate import WeaviateStore

            store = WeaviateStore(
                collection,
                spaces,
                url=url,
                grpc_port=grpc_port,
                api_key=api_key,
                server=server,
                **(store_kwargs or {}),
            )
            owns = True
        else:
            if not isinstance(store, Store):
                raise TypeError(
                    f"store must be an embedweave Store, got {type(store).__name__}"
                )
            if any(v is not None for v in (collection, url, grpc_port, api_key, server)):
                raise ValueError("pass either store= or connection arguments, not both")
            if store_kwargs:
                raise ValueError("store_kwargs only apply when connecting (no store= given)")
            owns = False
        store.pick_space(resolved.name, argument="space_name")
        store.check_space(resolved)
        if core_router is not None:
            check_store_spaces(store, core_router)
        if url is None and server is not None:
            url, grpc_port = server.url, server.grpc_port
        recorded = resolved.to_dict()
        fields: dict[str, Any] = {
            "collection": store.name, "url": url, "grpc_port": grpc_port, "tenant": tenant,
            "default_alpha": default_alpha, "space_name": resolved.name,
            **{k: recorded[k] for k in ("model", "fingerprint", "dims", "distance")},
        }
        super().__init__(**fields, **kwargs)
        self._store = store
        self._owns_store = owns
        self._router = core_router

    @classmethod
    def class_name(cls) -> str:
        """Name LlamaIndex records when serialising this component."""
        return "EmbedweaveVectorStore"

    @property
    def client(self) -> Store:
        """The core ``Store`` doing the work."""
        return self._store

    @property
    def store(self) -> Store:
        """The core ``Store`` doing the work."""
        return self._store

    @property
    def space(self) -> VectorSpace:
        """The vector space of node embeddings and embedding-only queries."""
        return self._store.spaces[self.space_name]

    @property
    def router(self) -> Router | None:
        """The core ``Router`` nodes and queries are routed through, if given."""
        return self._router

    def _core_index(self) -> Index:
        """The core ``Index`` that routes and embeds added nodes (``router=`` only)."""
        assert self._router is not None
        if self._index is None:
            self._index = Index(self._store, self._router)
        return self._index

    def close(self) -> None:
        """Close the store's connection if this object opened it."""
        if self._owns_store:
            self._store.close()

    # -- writes ------------------------------------------------------------------------
    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Upsert nodes with their embeddings; re-adding a node id overwrites it.

        With ``router=`` the core ``Index`` routes and embeds each node instead.
        """
        if not nodes:
            return []
        if self._router is not None:
            self._core_index().add_chunks(nodes_to_chunks(nodes), tenant=self.tenant)
            return [n.node_id for n in nodes]
        missing = [n.node_id for n in nodes if n.embedding is None]
        if missing:
            raise ValueError(
                f"{len(missing)} of {len(nodes)} nodes have no embedding (first: "
                f"{missing[0]!r}); embed them first (e.g. with EmbedweaveEmbedding)"
            )
        vectors = np.asarray([n.embedding for n in nodes], dtype=np.float32)
        chunks = nodes_to_chunks(nodes)
        self._store.upsert(chunks, {self.space_name: vectors}, tenant=self.tenant)
        return [n.node_id for n in nodes]

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        """``add`` in a worker thread."""
        return await asyncio.to_thread(self.add, nodes, **kwargs)

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of one source document."""
        self._store.delete_documents([ref_doc_id], tenant=self.tenant)

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """``delete`` in a worker thread."""
        await asyncio.to_thread(self.delete, ref_doc_id, **delete_kwargs)

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete nodes by id, by metadata filter, or those ids that match the filter."""
        flt = to_filter(filters)
        if node_ids is None and flt is None:
            return
        if flt is None:
            self._store.delete(list(node_ids or []), tenant=self.tenant)
        elif node_ids is None:
            self._store.delete_where(flt, tenant=self.tenant)
        else:
            chunks = self._store.get(node_ids, tenant=self.tenant)
            doomed = [c.id for c in chunks if matches(filterable(c), flt)]
            self._store.delete(doomed, tenant=self.tenant)

    async def adelete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """``delete_nodes`` in a worker thread."""
        await asyncio.to_thread(self.delete_nodes, node_ids, filters, **delete_kwargs)

    def clear(self) -> None:
        """Delete every node; the collection and its space record are kept."""
        self._store.clear(tenant=self.tenant)

    async def aclear(self) -> None:
        """``clear`` in a worker thread."""
        await asyncio.to_thread(self.clear)

    # -- reads -------------------------------------------------------------------------
    def get_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        """Nodes by id (in the order given), by metadata filter, or both."""
        flt = to_filter(filters)
        if node_ids is not None:
            chunks = self._store.get(node_ids, tenant=self.tenant)
            chunks = [c for c in chunks if flt is None or matches(filterable(c), flt)]
        elif flt is not None:
            chunks = self._store.get_where(flt, tenant=self.tenant)
        else:
            raise ValueError("get_nodes needs node_ids or filters")
        return [chunk_to_node(c) for c in chunks]

    async def aget_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        """``get_nodes`` in a worker thread."""
        return await asyncio.to_thread(self.get_nodes, node_ids, filters)

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Vector (DEFAULT), BM25 (TEXT_SEARCH) or HYBRID search with metadata filters.

        With ``router=`` a query with ``query_str`` (DEFAULT or HYBRID) runs the core
        ``Retriever``: routed, searched per space, fused.
        """
        hits = self._search(query)
        nodes = [chunk_to_node(h.chunk) for h in hits]
        return VectorStoreQueryResult(
            nodes=nodes,
            similarities=[float(h.score) for h in hits],
            ids=[n.node_id for n in nodes],
        )

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """``query`` in a worker thread."""
        return await asyncio.to_thread(self.query, query, **kwargs)

    def _search(self, query: VectorStoreQuery) -> list[Hit]:
        mode = VectorStoreQueryMode(query.mode)
        if mode not in _MODES:
            raise ValueError(
                f"query mode {mode.value!r} is not supported; use one of "
                f"{[m.value for m in _MODES]}"
            )
        if query.node_ids:
            raise ValueError(
                "restricting a query to node_ids is not supported by embedweave stores; "
                "filter on metadata or doc_ids instead"
            )
        flt = to_filter(query.filters, doc_ids=query.doc_ids)
        k = query.similarity_top_k
        routed = self._router is not None and mode != VectorStoreQueryMode.TEXT_SEARCH
        if routed and query.query_str:
            retriever = self._routed(query, mode)
            return retriever.retrieve(query.query_str, filters=flt, tenant=self.tenant)
        if mode == VectorStoreQueryMode.TEXT_SEARCH:
            return self._store.keyword_search(
                _need_text(query, mode), k=k, filters=flt, tenant=self.tenant
            )
        vector = _need_vector(query, mode)
        if mode == VectorStoreQueryMode.HYBRID:
            alpha = self.default_alpha if query.alpha is None else query.alpha
            return self._store.hybrid_search(
                _need_text(query, mode),
                vector,
                space=self.space_name,
                alpha=alpha,
                k=query.hybrid_top_k or k,
                filters=flt,
                tenant=self.tenant,
            )
        return self._store.search(vector, space=self.space_name, k=k, filters=flt,
                                  tenant=self.tenant)

    def _routed(self, query: VectorStoreQuery, mode: VectorStoreQueryMode) -> Retriever:
        """The core ``Retriever`` for one routed text query."""
        assert self._router is not None
        if mode == VectorStoreQueryMode.HYBRID:
            alpha = self.default_alpha if query.alpha is None else query.alpha
            k = query.hybrid_top_k or query.similarity_top_k
            return Retriever(self._store, self._router, mode="hybrid", alpha=alpha, k=k)
        return Retriever(self._store, self._router, k=query.similarity_top_k)


def _resolve_space(
    store: Store | None,
    embed_model: Any,
    space: VectorSpace | None,
    dims: int | None,
    fingerprint: str | None,
    model_name: str | None,
    space_name: str | None,
    distance: Distance,
) -> VectorSpace:
    """The one space this vector store uses, from whichever description was given."""
    given = [
        name
        for name, value in (
            ("embed_model", embed_model),
            ("space", space),
            ("dims/fingerprint", dims if dims is not None else fingerprint),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise ValueError(f"describe the vector space once; got {given}")
    if embed_model is not None:
        space_of = getattr(embed_model, "space", None)
        if not callable(space_of):
            raise TypeError(
                "embed_model must be an EmbedweaveEmbedding (or have .space()); for another "
                "embedding model pass dims= and fingerprint="
            )
        resolved: VectorSpace = space_of(space_name)
        return resolved
    if space is not None:
        if space_name is not None and space_name != space.name:
            raise ValueError(f"space_name {space_name!r} differs from space.name {space.name!r}")
        return space
    if dims is not None or fingerprint is not None:
        if dims is None or not fingerprint:
            raise ValueError("a foreign embedding space needs both dims= and fingerprint=")
        return VectorSpace.external(
            space_name or "default",
            model_name or fingerprint,
            dims,
            fingerprint=fingerprint,
            distance=distance,
        )
    if store is not None:
        return store.pick_space(space_name, argument="space_name")
    raise ValueError(
        "describe the vector space: embed_model=EmbedweaveEmbedding(...), space=VectorSpace(...), "
        "or dims= and fingerprint= for a foreign embedding model"
    )


def _need_text(query: VectorStoreQuery, mode: VectorStoreQueryMode) -> str:
    if not query.query_str:
        raise ValueError(f"query mode {mode.value!r} needs query_str")
    return query.query_str


def _need_vector(query: VectorStoreQuery, mode: VectorStoreQueryMode) -> list[float]:
    if query.query_embedding is None:
        raise ValueError(f"query mode {mode.value!r} needs query_embedding")
    return query.query_embedding
