"""``EmbedweaveVectorStore``: a LangChain ``VectorStore`` over an embedweave ``Store``."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from embedweave.filters import FilterLike, as_filter
from embedweave.pipeline import Index, Retriever, check_store_spaces
from embedweave.routing import Router, RouteTable, as_router
from embedweave.store.base import Distance, Store, VectorSpace, validate_alpha
from embedweave.store.memory import MemoryStore
from embedweave.types import Chunk, Hit
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.runnables.config import run_in_executor
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from langchain_embedweave.embeddings import EmbedweaveEmbeddings

#: Space name used for embeddings that are not ``EmbedweaveEmbeddings``.
DEFAULT_SPACE = "default"

_SEARCH_KWARGS = ("filter", "tenant", "alpha")


class EmbedweaveVectorStore(VectorStore):
    """LangChain vector store backed by embedweave's Weaviate (or in-memory) store.

    Texts are stored one chunk per LangChain document, under the id LangChain gives
    (any string; the core store maps non-UUID ids itself and returns the original id),
    so adding the same ids again overwrites instead of duplicating. Search, BM25/vector
    hybrid, filters and tenants are the core store's; this class converts
    ``Document`` <-> ``Chunk`` and ``Hit`` -> ``(Document, score)``.

    Any LangChain ``Embeddings`` works. With ``EmbedweaveEmbeddings`` the collection
    records the model's fingerprint; for other embeddings the fingerprint is derived
    from the class name, its ``model``/``model_name`` and the dims, and the dims are
    learnt from the first vectors, so the collection is created lazily.

    With ``router=`` (multilingual routing) the core ``Index`` and ``Retriever`` do the
    work: each added text is routed by language into its space plus the shared space,
    and each text query is routed and its per-space results fused (RRF), exactly as
    ``embedweave.pipeline.Retriever`` does. ``embedding`` is then
    ``EmbedweaveEmbeddings(router=router)``: its space (the shared one by default) is
    the one by-vector and MMR searches use.

    Example:
        ```python
        from langchain_embedweave import EmbedweaveEmbeddings, EmbedweaveVectorStore

        vs = EmbedweaveVectorStore(
            EmbedweaveEmbeddings(model="minilm"), collection="Docs", url="http://127.0.0.1:8080"
        )
        vs.add_texts(["HNSW is a graph index"], metadatas=[{"topic": "ann"}], ids=["a"])
        vs.similarity_search("graph index", k=1, filter={"topic": "ann"})
        ```

    Args:
        embedding: Any LangChain embeddings.
        store: A ready core ``Store`` (``WeaviateStore`` or ``MemoryStore``); when given,
            ``collection``/``url``/``server``/``store_kwargs`` must not be.
        collection: Weaviate collection name; the ``WeaviateStore`` is opened (and the
            collection created) on first use. Without ``store`` and ``collection`` an
            exact in-process ``MemoryStore`` is used.
        url: Weaviate URL (``http://host:port``), passed to ``WeaviateStore``.
        grpc_port: gRPC port of that Weaviate (default 50051).
        api_key: API key of that Weaviate, passed to ``WeaviateStore``.
        server: A started ``ManagedWeaviate`` (local, no Docker), instead of ``url``.
        space: Named vector to use; defaults to the embedder's space name, or
            ``"default"`` for non-embedweave embeddings.
        distance: Distance metric of a newly created space (default cosine).
        tenant: Default tenant for every call; each call can pass ``tenant=``.
        alpha: Default hybrid weight (0 = BM25, 1 = vector); ``None`` = vector search.
        router: A core ``Router`` (or route table) to route texts and queries by
            language; the store holds ``router.vector_spaces()``.
        store_kwargs: Extra ``WeaviateStore`` arguments, e.g. ``multi_tenancy=True``,
            ``hnsw=HnswConfig(...)``, ``client=``.
    """

    def __init__(
        self,
        embedding: Embeddings,
        *,
        store: Store | None = None,
        collection: str | None = None,
        url: str | None = None,
        grpc_port: int | None = None,
        api_key: str | None = None,
        server: Any = None,
        space: str | None = None,
        distance: Distance | None = None,
        tenant: str | None = None,
        alpha: float | None = None,
        router: Router | RouteTable | Mapping[str, Any] | None = None,
        store_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(embedding, Embeddings):
            raise TypeError(
                f"embedding must be a LangChain Embeddings, got {type(embedding).__name__}"
            )
        connection = {"url": url, "grpc_port": grpc_port, "api_key": api_key, "server": server}
        if store is not None and (
            collection is not None
            or any(v is not None for v in connection.values())
            or store_kwargs
        ):
            raise ValueError(
                "pass either store= or collection/url/grpc_port/api_key/server/store_kwargs, "
                "not both"
            )
        if collection is None and (
            any(v is not None for v in connection.values()) or store_kwargs
        ):
            raise ValueError("url/grpc_port/api_key/server/store_kwargs need collection=")
        if store is not None and not isinstance(store, Store):
            raise TypeError(f"store must be an embedweave Store, got {type(store).__name__}")
        if alpha is not None:
            validate_alpha(alpha)
        self._router = None if router is None else as_router(router)
        self._index: Index | None = None
        self._embedding = embedding
        self._collection = collection
        self._store_kwargs = {
            **dict(store_kwargs or {}),
            **{k: v for k, v in connection.items() if v is not None},
        }
        self._distance = distance
        self._tenant = tenant
        self._alpha = alpha
        self._lock = threading.RLock()
        self._owns_store = store is None
        self._store: Store | None = store
        if self._router is not None:
            self._space_name = _routed_space(embedding, self._router, space, distance)
            if store is not None:
                check_store_spaces(store, self._router)
        else:
            self._space_name = self._pick_space_name(space, store)
            if store is not None and isinstance(embedding, EmbedweaveEmbeddings):
                store.check_space(self._space_spec(store.spaces[self._space_name].dims))

    # ------------------------------------------------------------------ setup

    @property
    def embeddings(self) -> Embeddings:
        """The embeddings that turn texts and queries into vectors."""
        return self._embedding

    @property
    def space(self) -> str:
        """Name of the named vector (embedding space) this store searches."""
        return self._space_name

    @property
    def store(self) -> Store | None:
        """The core store, or ``None`` until the first call has opened it."""
        return self._store

    @property
    def router(self) -> Router | None:
        """The core ``Router`` texts and queries are routed through, if given."""
        return self._router

    def _pick_space_name(self, space: str | None, store: Store | None) -> str:
        if store is not None:
            if space is None and isinstance(self._embedding, EmbedweaveEmbeddings):
                own = self._embedding.space().name
                space = own if own in store.spaces else None
            return store.pick_space(space).name
        if space is not None:
            return space
        if isinstance(self._embedding, EmbedweaveEmbeddings):
            return self._embedding.space().name
        return DEFAULT_SPACE

    def _known_dims(self) -> int | None:
        if isinstance(self._embedding, EmbedweaveEmbeddings):
            return self._embedding.dims
        return None

    def _space_spec(self, dims: int) -> VectorSpace:
        """The space record for this store's embeddings at ``dims``."""
        if isinstance(self._embedding, EmbedweaveEmbeddings):
            spec = self._embedding.space(self._space_name)
            if self._distance is not None and self._distance != spec.distance:
                spec = dataclasses.replace(spec, distance=self._distance)
            return spec
        return VectorSpace.external(
            self._space_name,
            _embeddings_name(self._embedding),
            dims,
            distance=self._distance or "cosine",
            source="langchain",
        )

    def _open(self, dims: int | None) -> Store | None:
        """The core store, opening it once the vector dims are known.

        Returns ``None`` only for a not-yet-opened in-memory store, which is empty.
        """
        with self._lock:
            if self._store is not None:
                return self._store
            if self._router is not None:
                return self._create(self._router.vector_spaces())
            dims = dims or self._known_dims()
            if dims is None:
                if self._collection is None:
                    return None
                # A Weaviate collection may already hold data: learn the dims to open it.
                dims = len(self._embedding.embed_query("dimension probe"))
            return self._create([self._space_spec(dims)])

    def _create(self, spaces: list[VectorSpace]) -> Store:
        if self._collection is None:
            self._store = MemoryStore(spaces, name="langchain")
        else:
            from embedweave.store.weaviate import WeaviateStore

            self._store = WeaviateStore(self._collection, spaces, **self._store_kwargs)
        return self._store

    def _core_index(self) -> Index:
        """The core ``Index`` that routes and embeds added texts (``router=`` only)."""
        with self._lock:
            store = self._open(None)
            assert store is not None and self._router is not None
            if self._index is None or self._index.store is not store:
                self._index = Index(store, self._router)
            return self._index

    def _core_retriever(self, k: int, alpha: float | None) -> Retriever:
        """The core ``Retriever`` for one routed text query (``router=`` only)."""
        store = self._open(None)
        assert store is not None and self._router is not None
        if alpha is None:
            return Retriever(store, self._router, k=k)
        return Retriever(store, self._router, mode="hybrid", alpha=alpha, k=k)

    def _tenant_of(self, tenant: str | None) -> str | None:
        return tenant if tenant is not None else self._tenant

    # ------------------------------------------------------------------ writes

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        tenant: str | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed texts and upsert them; re-adding an id overwrites it.

        With ``router=`` each text is routed by language (the core ``Index``) and
        embedded into its space and the shared space.

        Args:
            texts: Texts to store.
            metadatas: One metadata dict per text (filterable).
            ids: One id per text; missing (``None``) ids get a new uuid4.
            tenant: Tenant to write to (multi-tenant collections).
            **kwargs: ``batch_size`` (sent by LangChain's indexing API; the core store
                sizes its own requests); anything else is refused, named in the error.

        Returns:
            The ids, in input order.
        """
        kwargs.pop("batch_size", None)
        _no_extra(kwargs, "add_texts")
        chunks = _to_chunks(texts, metadatas, ids)
        if not chunks:
            return []
        if self._router is not None:
            return self._core_index().add_chunks(chunks, tenant=self._tenant_of(tenant))
        vectors = np.asarray(
            self._embedding.embed_documents([c.text for c in chunks]), dtype=np.float32
        )
        return self._upsert(chunks, vectors, tenant)

    async def aadd_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        tenant: str | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Async ``add_texts``: embeds with ``aembed_documents``, writes in a thread."""
        kwargs.pop("batch_size", None)
        _no_extra(kwargs, "aadd_texts")
        chunks = _to_chunks(texts, metadatas, ids)
        if not chunks:
            return []
        if self._router is not None:
            index = await run_in_executor(None, self._core_index)
            return await index.aadd_chunks(chunks, tenant=self._tenant_of(tenant))
        vectors = np.asarray(
            await self._embedding.aembed_documents([c.text for c in chunks]), dtype=np.float32
        )
        return await run_in_executor(None, self._upsert, chunks, vectors, tenant)

    def _upsert(self, chunks: list[Chunk], vectors: np.ndarray, tenant: str | None) -> list[str]:
        if vectors.ndim != 2 or vectors.shape[0] != len(chunks):
            raise ValueError(
                f"{type(self._embedding).__name__}.embed_documents returned {vectors.shape[0]} "
                f"vectors for {len(chunks)} texts"
            )
        store = self._open(int(vectors.shape[1]))
        assert store is not None
        store.upsert(chunks, {self._space_name: vectors}, tenant=self._tenant_of(tenant))
        return [c.document_id for c in chunks]

    def delete(
        self,
        ids: list[str] | None = None,
        *,
        filter: FilterLike = None,
        tenant: str | None = None,
        **kwargs: Any,
    ) -> bool:
        """Delete by ids, or every chunk matching ``filter``; unknown ids are ignored.

        Args:
            ids: Ids to delete.
            filter: Metadata filter (dict or ``embedweave.filters.Filter``) instead of ids.
            tenant: Tenant to delete from.
            **kwargs: Not accepted; named in the error.

        Returns:
            ``True`` once the delete has run.
        """
        _no_extra(kwargs, "delete")
        if ids is None and filter is None:
            raise ValueError(
                "delete needs ids or a filter; to remove everything call delete_collection()"
            )
        if ids is not None and filter is not None:
            raise ValueError("pass ids or filter to delete, not both")
        store = self._open(None)
        if store is None:
            return True
        if ids is not None:
            if ids:
                store.delete(list(ids), tenant=self._tenant_of(tenant))
        else:
            store.delete_where(as_filter(filter), tenant=self._tenant_of(tenant))
        return True

    async def adelete(
        self,
        ids: list[str] | None = None,
        *,
        filter: FilterLike = None,
        tenant: str | None = None,
        **kwargs: Any,
    ) -> bool:
        """Async ``delete`` (runs in a worker thread)."""
        return await run_in_executor(
            None, lambda: self.delete(ids, filter=filter, tenant=tenant, **kwargs)
        )

    def delete_collection(self) -> None:
        """Drop the whole collection (all tenants); the next add creates it again."""
        with self._lock:
            store = self._store if self._store is not None else self._open(None)
            if store is None:
                return
            store.drop()
            if self._owns_store:
                store.close()
                self._store = None

    def close(self) -> None:
        """Close the store's connections if this object opened it."""
        with self._lock:
            if self._store is not None and self._owns_store:
                self._store.close()
                self._store = None

    # ------------------------------------------------------------------ reads

    def get_by_ids(self, ids: Sequence[str], /, *, tenant: str | None = None) -> list[Document]:
        """Documents by id, in the order given; unknown ids are left out."""
        store = self._open(None)
        if store is None or not ids:
            return []
        return [_chunk_to_doc(c) for c in store.get(list(ids), tenant=self._tenant_of(tenant))]

    async def aget_by_ids(
        self, ids: Sequence[str], /, *, tenant: str | None = None
    ) -> list[Document]:
        """Async ``get_by_ids`` (runs in a worker thread)."""
        return await run_in_executor(None, lambda: self.get_by_ids(ids, tenant=tenant))

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """Documents nearest to the query (hybrid when ``alpha`` is set).

        Args:
            query: Query text.
            k: Number of documents.
            **kwargs: ``filter`` (metadata filter), ``tenant``, ``alpha`` (hybrid weight,
                0 = BM25 .. 1 = vector).
        """
        return [doc for doc, _ in self.similarity_search_with_score(query, k, **kwargs)]

    async def asimilarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """Async ``similarity_search``."""
        return [doc for doc, _ in await self.asimilarity_search_with_score(query, k, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Documents with the core score: cosine similarity in [-1, 1] for vector search
        (higher is closer), relative-score fusion in [0, 1] for hybrid search; with
        ``router=``, the ``Retriever``'s score (RRF when several spaces were searched).

        Args:
            query: Query text.
            k: Number of documents.
            **kwargs: ``filter``, ``tenant``, ``alpha`` (see ``similarity_search``).
        """
        opts = _search_opts(kwargs, "similarity_search_with_score")
        if self._router is not None:
            retriever = self._routed_call(opts, k)
            return _scored(retriever.retrieve(query, **opts))
        vector = self._embedding.embed_query(query)
        return self._search(query, vector, k, opts)

    async def asimilarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Async ``similarity_search_with_score``: embeds with ``aembed_query``."""
        opts = _search_opts(kwargs, "asimilarity_search_with_score")
        if self._router is not None:
            retriever = await run_in_executor(None, self._routed_call, opts, k)
            return _scored(await retriever.aretrieve(query, **opts))
        vector = await self._embedding.aembed_query(query)
        return await run_in_executor(None, self._search, query, vector, k, opts)

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """Documents nearest to a vector (``filter``, ``tenant`` accepted)."""
        return [d for d, _ in self.similarity_search_with_score_by_vector(embedding, k, **kwargs)]

    async def asimilarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """Async ``similarity_search_by_vector``."""
        return await run_in_executor(
            None, lambda: self.similarity_search_by_vector(embedding, k, **kwargs)
        )

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Documents nearest to a vector with their similarity."""
        opts = _search_opts(kwargs, "similarity_search_by_vector")
        if opts.get("alpha") is not None:
            raise ValueError("hybrid search (alpha) needs the query text: use similarity_search")
        opts["alpha"] = None
        return self._search(None, embedding, k, opts)

    def _search(
        self, query: str | None, vector: Sequence[float], k: int, opts: dict[str, Any]
    ) -> list[tuple[Document, float]]:
        store = self._open(len(vector))
        assert store is not None
        alpha = opts.get("alpha", self._alpha)
        filters = as_filter(opts.get("filter"))
        tenant = self._tenant_of(opts.get("tenant"))
        if alpha is None or query is None:
            hits = store.search(vector, space=self._space_name, k=k, filters=filters, tenant=tenant)
        else:
            hits = store.hybrid_search(
                query,
                vector,
                space=self._space_name,
                alpha=validate_alpha(alpha),
                k=k,
                filters=filters,
                tenant=tenant,
            )
        return _scored(hits)

    def _routed_call(self, opts: dict[str, Any], k: int) -> Retriever:
        """The core retriever for a routed query; ``opts`` become its call arguments."""
        alpha = opts.pop("alpha", self._alpha)
        opts["filters"] = as_filter(opts.pop("filter", None))
        opts["tenant"] = self._tenant_of(opts.get("tenant"))
        return self._core_retriever(k, None if alpha is None else validate_alpha(alpha))

    # ------------------------------------------------------------------ relevance

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """Map the store's vector similarity to [0, 1] (1 = identical)."""
        if self._router is not None:
            raise NotImplementedError(
                "relevance scores need one space's similarity; a routed store fuses the "
                "ranks of several spaces (use similarity_search_with_score)"
            )
        distance = self._distance
        if self._store is not None:
            distance = self._store.spaces[self._space_name].distance
        elif isinstance(self._embedding, EmbedweaveEmbeddings) and distance is None:
            distance = self._embedding.space(self._space_name).distance
        return _RELEVANCE[distance or "cosine"]

    def _similarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        results = self.similarity_search_with_score(query, k, **kwargs)
        return self._to_relevance(results, kwargs)

    async def _asimilarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        results = await self.asimilarity_search_with_score(query, k, **kwargs)
        return self._to_relevance(results, kwargs)

    def _to_relevance(
        self, results: list[tuple[Document, float]], kwargs: Mapping[str, Any]
    ) -> list[tuple[Document, float]]:
        fn = self._select_relevance_score_fn()
        alpha = kwargs.get("alpha", self._alpha)
        if alpha is not None:  # relative-score fusion is already in [0, 1]
            return results
        return [(doc, fn(score)) for doc, score in results]

    # ------------------------------------------------------------------ MMR

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """Diverse results: fetch ``fetch_k`` neighbours with vectors, pick ``k`` by MMR.

        Args:
            query: Query text.
            k: Number of documents to return.
            fetch_k: Candidates fetched from the store.
            lambda_mult: 1 = pure relevance, 0 = maximum diversity.
            **kwargs: ``filter``, ``tenant``.
        """
        return self.max_marginal_relevance_search_by_vector(
            self._embedding.embed_query(query), k, fetch_k, lambda_mult, **kwargs
        )

    async def amax_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """Async ``max_marginal_relevance_search``."""
        vector = await self._embedding.aembed_query(query)
        return await self.amax_marginal_relevance_search_by_vector(
            vector, k, fetch_k, lambda_mult, **kwargs
        )

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """MMR around a query vector (see ``max_marginal_relevance_search``)."""
        opts = _search_opts(kwargs, "max_marginal_relevance_search")
        if opts.get("alpha") is not None:
            raise ValueError("max_marginal_relevance_search does not take alpha (vector only)")
        if not 0.0 <= lambda_mult <= 1.0:
            raise ValueError(f"lambda_mult must be in [0, 1], got {lambda_mult}")
        store = self._open(len(embedding))
        assert store is not None
        hits: list[Hit] = store.search(
            embedding,
            space=self._space_name,
            k=max(fetch_k, k),
            filters=as_filter(opts.get("filter")),
            tenant=self._tenant_of(opts.get("tenant")),
            include_vectors=True,
        )
        if not hits:
            return []
        vectors = [h.vectors[self._space_name] for h in hits]
        picked = maximal_marginal_relevance(
            np.asarray(embedding, dtype=np.float32), vectors, lambda_mult=lambda_mult, k=k
        )
        return [_chunk_to_doc(hits[i].chunk) for i in picked]

    async def amax_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """Async ``max_marginal_relevance_search_by_vector``."""
        return await run_in_executor(
            None,
            lambda: self.max_marginal_relevance_search_by_vector(
                embedding, k, fetch_k, lambda_mult, **kwargs
            ),
        )

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> EmbedweaveVectorStore:
        """Create a store (constructor keyword arguments in ``kwargs``) and add texts."""
        store = cls(embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    async def afrom_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> EmbedweaveVectorStore:
        """Async ``from_texts``."""
        store = cls(embedding, **kwargs)
        await store.aadd_texts(texts, metadatas, ids=ids)
        return store


# ---------------------------------------------------------------------- conversion


def _to_chunks(
    texts: Iterable[str],
    metadatas: list[dict[str, Any]] | None,
    ids: Sequence[str | None] | None,
) -> list[Chunk]:
    """LangChain texts/metadatas/ids -> one chunk per text, id kept as given."""
    texts = list(texts)
    if metadatas is not None and len(metadatas) != len(texts):
        raise ValueError(f"got {len(metadatas)} metadatas for {len(texts)} texts")
    if ids is not None and len(ids) != len(texts):
        raise ValueError(f"got {len(ids)} ids for {len(texts)} texts")
    chunks = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text at index {i} is {type(text).__name__}, not str")
        doc_id = ids[i] if ids is not None and ids[i] is not None else str(uuid.uuid4())
        if not isinstance(doc_id, str) or not doc_id:
            raise ValueError(f"id at index {i} must be a non-empty string, got {doc_id!r}")
        metadata = dict(metadatas[i]) if metadatas is not None and metadatas[i] else {}
        chunks.append(Chunk(document_id=doc_id, index=0, text=text, metadata=metadata, id=doc_id))
    return chunks


def _chunk_to_doc(chunk: Chunk) -> Document:
    return Document(id=chunk.id, page_content=chunk.text, metadata=dict(chunk.metadata))


def _scored(hits: Sequence[Hit]) -> list[tuple[Document, float]]:
    return [(_chunk_to_doc(h.chunk), float(h.score)) for h in hits]


def _search_opts(kwargs: dict[str, Any], method: str) -> dict[str, Any]:
    _no_extra({k: v for k, v in kwargs.items() if k not in _SEARCH_KWARGS}, method)
    return dict(kwargs)


def _no_extra(kwargs: Mapping[str, Any], method: str) -> None:
    if kwargs:
        raise TypeError(f"{method}() got unexpected keyword arguments {sorted(kwargs)}")


def _routed_space(
    embedding: Embeddings, router: Router, space: str | None, distance: Distance | None
) -> str:
    """The space of ``embedding`` in ``router``: where by-vector and MMR searches go."""
    if not isinstance(embedding, EmbedweaveEmbeddings) or embedding.core_router is None:
        raise TypeError(
            "router= needs embedding=EmbedweaveEmbeddings(router=<that router>): its vectors "
            "are one router space's, the one by-vector and MMR searches use"
        )
    if distance is not None:
        raise ValueError("distance comes from the router's spaces; leave it out with router=")
    own = embedding.space()
    if own.name not in router.spaces or router.vector_space(own.name) != own:
        raise ValueError(
            f"embedding space {own.name!r} is not the router's record of it: build the "
            "embeddings with router=<the same router>"
        )
    if space is not None and space != own.name:
        raise ValueError(f"space {space!r} differs from the embedding's router space {own.name!r}")
    return own.name


def _embeddings_name(embedding: Embeddings) -> str:
    cls = type(embedding)
    model = getattr(embedding, "model", None) or getattr(embedding, "model_name", None)
    base = f"{cls.__module__}.{cls.__qualname__}"
    return f"{base}:{model}" if isinstance(model, str) else base


def _cosine_relevance(similarity: float) -> float:
    return min(1.0, max(0.0, (1.0 + similarity) / 2.0))


def _l2_relevance(negative_squared_distance: float) -> float:
    return 1.0 / (1.0 + max(0.0, -negative_squared_distance))


#: Store score -> relevance in [0, 1]. Dot product assumes unit-length vectors.
_RELEVANCE: dict[str, Callable[[float], float]] = {
    "cosine": _cosine_relevance,
    "dot": _cosine_relevance,
    "l2-squared": _l2_relevance,
}
