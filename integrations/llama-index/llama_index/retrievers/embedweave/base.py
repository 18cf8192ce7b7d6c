"""``EmbedweaveRetriever``: LlamaIndex ``BaseRetriever`` running the core retrieval pipeline."""

from __future__ import annotations

from typing import Any, Literal

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.vector_stores.types import MetadataFilters
from llama_index.postprocessor.embedweave_rerank import EmbedweaveRerank
from llama_index.vector_stores.embedweave import EmbedweaveVectorStore
from llama_index.vector_stores.embedweave.convert import hit_to_node_with_score, to_filter

from embedweave.filters import Filter
from embedweave.pipeline import Retriever
from embedweave.routing import Router
from embedweave.store.base import Store


class EmbedweaveRetriever(BaseRetriever):
    """The full embedweave query path as a LlamaIndex retriever.

    Routing (language -> embedding spaces), search in each space, fusion, the optional
    Matryoshka funnel and reranking all run in the core ``embedweave.pipeline.Retriever``;
    this class converts the query and filters in and the hits out. A reranked node
    keeps its first-stage score in ``metadata["retrieval_score"]``.

    Example:
        ```python
        from llama_index.retrievers.embedweave import EmbedweaveRetriever

        retriever = EmbedweaveRetriever(
            vector_store, embed_model, mode="hybrid", alpha=0.7,
            similarity_top_k=5, reranker=EmbedweaveRerank(top_n=5),
        )
        nodes = retriever.retrieve("what does HNSW stand for?")
        ```

    Args:
        vector_store: An ``EmbedweaveVectorStore`` or a core ``Store``.
        embed_model: An ``EmbedweaveEmbedding`` (its router, if built with one), a core
            ``Embedder`` or a core ``Router`` (routes queries across language spaces).
        mode: ``"vector"``, ``"keyword"`` (BM25) or ``"hybrid"``.
        alpha: Hybrid weight: 0 = BM25 only, 1 = vector only.
        similarity_top_k: Nodes returned.
        rrf_k: Reciprocal-rank-fusion constant used across spaces.
        funnel: ``(dims, shortlist)``: Matryoshka funnel: search each space's
            ``dims``-dims companion for ``shortlist`` candidates and rescore them at full
            dims (the store needs ``router.vector_spaces(funnel_dims=dims)``), or ``None``.
        reranker: An ``EmbedweaveRerank`` or a core ``Reranker``, or ``None``.
        candidates: First-stage candidates handed to the reranker.
        filters: Metadata filters applied to every query.
        tenant: Tenant of a multi-tenant collection (default: the vector store's).
        retriever: A ready core ``pipeline.Retriever``; then leave the settings above
            (except ``similarity_top_k``, ``filters`` and ``tenant``) unset.
        callback_manager: LlamaIndex callback manager.
        verbose: LlamaIndex verbosity flag.
    """

    def __init__(
        self,
        vector_store: Any = None,
        embed_model: Any = None,
        *,
        mode: Literal["vector", "keyword", "hybrid"] = "vector",
        alpha: float = 0.5,
        similarity_top_k: int = 10,
        rrf_k: int = 60,
        funnel: tuple[int, int] | None = None,
        reranker: Any = None,
        candidates: int = 50,
        filters: MetadataFilters | None = None,
        tenant: str | None = None,
        retriever: Retriever | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        if retriever is not None:
            if vector_store is not None or embed_model is not None or reranker is not None:
                raise ValueError(
                    "pass either retriever= or vector_store/embed_model/reranker, not both"
                )
            if not isinstance(retriever, Retriever):
                raise TypeError(
                    "retriever must be an embedweave.pipeline.Retriever, got "
                    f"{type(retriever).__name__}"
                )
            core = retriever
        else:
            if vector_store is None or embed_model is None:
                raise ValueError("EmbedweaveRetriever needs vector_store and embed_model")
            core = Retriever(
                _core_store(vector_store),
                _core_router(embed_model, vector_store),
                mode=mode,
                alpha=alpha,
                k=similarity_top_k,
                rrf_k=rrf_k,
                funnel=funnel,
                reranker=_core_reranker(reranker),
                candidates=candidates,
            )
        if tenant is None and isinstance(vector_store, EmbedweaveVectorStore):
            tenant = vector_store.tenant
        self._retriever = core
        self._k = similarity_top_k
        self._filter: Filter | None = to_filter(filters)
        self._tenant = tenant
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    @property
    def core(self) -> Retriever:
        """The core ``pipeline.Retriever`` doing the work."""
        return self._retriever

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._retriever.retrieve(
            query_bundle.query_str, k=self._k, filters=self._filter, tenant=self._tenant
        )
        return [hit_to_node_with_score(h) for h in hits]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = await self._retriever.aretrieve(
            query_bundle.query_str, k=self._k, filters=self._filter, tenant=self._tenant
        )
        return [hit_to_node_with_score(h) for h in hits]


def _core_store(vector_store: Any) -> Store:
    if isinstance(vector_store, Store):
        return vector_store
    if isinstance(vector_store, EmbedweaveVectorStore):
        return vector_store.store
    raise TypeError(
        "vector_store must be an EmbedweaveVectorStore or an embedweave Store, got "
        f"{type(vector_store).__name__}"
    )


def _core_router(embed_model: Any, vector_store: Any) -> Any:
    """The core router for an embedding: its own router, or a single space named as the store's.

    A core ``Embedder`` or ``Router`` passes through unchanged.
    """
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.embeddings.embedweave import EmbedweaveEmbedding

    if isinstance(embed_model, EmbedweaveEmbedding):
        if embed_model.route_space is not None:
            return embed_model.router
        space_name = (
            vector_store.space_name if isinstance(vector_store, EmbedweaveVectorStore) else None
        )
        return Router.single(embed_model.embedder, name=space_name)
    if isinstance(embed_model, BaseEmbedding):
        raise TypeError(
            f"{type(embed_model).__name__} is not an embedweave embedding; the core pipeline "
            "needs EmbedweaveEmbedding, an embedweave Embedder or a Router"
        )
    return embed_model


def _core_reranker(reranker: Any) -> Any:
    """The core ``Reranker`` behind an ``EmbedweaveRerank``, else the object (or None)."""
    return reranker.reranker if isinstance(reranker, EmbedweaveRerank) else reranker
