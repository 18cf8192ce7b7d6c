"""``EmbedweaveRetriever``: the core retrieval pipeline as a LangChain retriever."""

from __future__ import annotations

from typing import Any, Literal

from embedweave.filters import as_filter
from embedweave.pipeline import Retriever
from embedweave.types import Hit
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from langchain_embedweave.embeddings import EmbedweaveEmbeddings
from langchain_embedweave.rerank import EmbedweaveRerank


class EmbedweaveRetriever(BaseRetriever):
    """Routing -> search per space -> fusion -> funnel rescore -> rerank, as one retriever.

    Everything happens in ``embedweave.pipeline.Retriever``; this class turns each
    ``Hit`` into a ``Document`` whose metadata is the chunk's metadata plus
    ``document_id``, ``chunk_index``, ``language``, ``spaces``, ``score`` and, after
    reranking, ``relevance_score`` (= ``score``) and ``first_stage_score`` /
    ``first_stage_rank``.

    Example:
        ```python
        from embedweave.embedding import Embedder
        from embedweave.store.weaviate import WeaviateStore
        from langchain_embedweave import EmbedweaveRetriever

        embedder = Embedder("minilm")
        store = WeaviateStore("Docs", [embedder.space()], url="http://127.0.0.1:8080")
        retriever = EmbedweaveRetriever(store=store, embedder=embedder, mode="hybrid", k=5)
        docs = retriever.invoke("what is HNSW?", k=3)
        ```

    Args:
        store: Core ``Store`` holding the indexed chunks (e.g. built with
            ``embedweave.pipeline.Index``).
        embedder: Core ``Embedder``, ``Router`` (or route table), or an
            ``EmbedweaveEmbeddings`` (its router when it has one).
        mode: ``vector``, ``keyword`` (BM25) or ``hybrid``.
        alpha: Hybrid weight, 0 = BM25, 1 = vector.
        k: Documents returned (default: the pipeline's, 10); ``invoke(query, k=...)``
            overrides it per call.
        rrf_k: Reciprocal-rank-fusion constant for multi-space queries.
        funnel: ``(dims, shortlist)`` Matryoshka funnel: search each space's
            ``dims``-dims companion for ``shortlist`` candidates and rescore them at full
            dims (the store needs ``router.vector_spaces(funnel_dims=dims)``), or ``None``.
        reranker: Core ``Reranker`` (or an ``EmbedweaveRerank``, whose model is used)
            applied last; it keeps ``k`` hits.
        candidates: First-stage candidates fetched before reranking.
        filter: Default metadata filter (Mongo-style dict or ``embedweave.filters.Filter``);
            per call ``filter=`` replaces it.
        tenant: Default tenant; per call ``tenant=``.
        pipeline: A ready ``embedweave.pipeline.Retriever``, instead of the settings above.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any = None
    embedder: Any = None
    mode: Literal["vector", "keyword", "hybrid"] = "vector"
    alpha: float = 0.5
    k: int | None = Field(default=None, gt=0)
    rrf_k: int = 60
    funnel: tuple[int, int] | None = None
    reranker: Any = None
    candidates: int = 50
    filter: Any = None
    tenant: str | None = None
    pipeline: Any = None

    _pipeline: Retriever = PrivateAttr()

    @model_validator(mode="after")
    def _build_pipeline(self) -> EmbedweaveRetriever:
        if self.pipeline is not None:
            if not isinstance(self.pipeline, Retriever):
                raise TypeError(
                    "pipeline must be an embedweave.pipeline.Retriever, got "
                    f"{type(self.pipeline).__name__}"
                )
            if self.store is not None or self.embedder is not None or self.reranker is not None:
                raise ValueError("pass either pipeline= or store/embedder/reranker, not both")
            self._pipeline = self.pipeline
            return self
        if self.store is None or self.embedder is None:
            raise ValueError("EmbedweaveRetriever needs store= and embedder= (or pipeline=)")
        embedder = self.embedder
        if isinstance(embedder, EmbedweaveEmbeddings):
            embedder = embedder.core_router or embedder.core
        reranker = self.reranker
        if isinstance(reranker, EmbedweaveRerank):
            reranker = reranker.core
        self._pipeline = Retriever(
            self.store,
            embedder,
            mode=self.mode,
            alpha=self.alpha,
            k=10 if self.k is None else self.k,
            rrf_k=self.rrf_k,
            funnel=self.funnel,
            reranker=reranker,
            candidates=self.candidates,
        )
        return self

    @property
    def core(self) -> Retriever:
        """The wrapped ``embedweave.pipeline.Retriever``."""
        return self._pipeline

    def _call_args(
        self, k: int | None, filter: Any, tenant: str | None
    ) -> dict[str, Any]:
        return {
            "k": self.k if k is None else k,
            "filters": as_filter(self.filter if filter is None else filter),
            "tenant": self.tenant if tenant is None else tenant,
        }

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filter: Any = None,
        tenant: str | None = None,
    ) -> list[Document]:
        hits = self._pipeline.retrieve(query, **self._call_args(k, filter, tenant))
        return [hit_to_document(h) for h in hits]

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        filter: Any = None,
        tenant: str | None = None,
    ) -> list[Document]:
        hits = await self._pipeline.aretrieve(query, **self._call_args(k, filter, tenant))
        return [hit_to_document(h) for h in hits]


def hit_to_document(hit: Hit) -> Document:
    """A core ``Hit`` as a LangChain ``Document``, scores and provenance in metadata."""
    chunk = hit.chunk
    metadata: dict[str, Any] = {
        **chunk.metadata,
        "document_id": chunk.document_id,
        "chunk_index": chunk.index,
        "spaces": list(hit.spaces),
        "score": float(hit.score),
    }
    if chunk.language is not None:
        metadata["language"] = chunk.language
    if hit.first_stage_score is not None:
        metadata["relevance_score"] = float(hit.score)
        metadata["first_stage_score"] = float(hit.first_stage_score)
    if hit.first_stage_rank is not None:
        metadata["first_stage_rank"] = int(hit.first_stage_rank)
    return Document(id=chunk.id, page_content=chunk.text, metadata=metadata)
