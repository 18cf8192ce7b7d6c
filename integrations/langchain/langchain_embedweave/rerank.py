"""``EmbedweaveRerank``: the core reranker as a LangChain document compressor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from embedweave.rerank import Reranker
from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, model_validator


class EmbedweaveRerank(BaseDocumentCompressor):
    """Rerank documents with a cross-encoder (or Cohere) through embedweave.

    Returns the documents the reranker keeps, best first, each a copy with the rerank
    score in ``metadata["relevance_score"]``. Use it in
    ``ContextualCompressionRetriever(base_compressor=EmbedweaveRerank(), ...)``.

    Example:
        ```python
        from langchain_embedweave import EmbedweaveRerank

        rerank = EmbedweaveRerank(top_n=3)  # cross-encoder/ms-marco-MiniLM-L6-v2
        docs = rerank.compress_documents(docs, "does vitamin D reduce fractures?")
        ```

    Args:
        model: Cross-encoder name or path, ``"scifact-minilm"`` (the SciFact cross-encoder
            built by ``embedweave train reranker``), the Cohere model for
            ``backend="cohere"``, or ``None``: ``cross-encoder/ms-marco-MiniLM-L6-v2``
            (needs Hugging Face access or its files in the HF cache).
        backend: ``cross-encoder`` (local) or ``cohere`` (HTTP API).
        top_n: Documents kept (``None`` = all).
        score_threshold: Drop documents scoring below it.
        normalize: Squash cross-encoder logits to [0, 1] with a sigmoid.
        batch_size: Pairs per model call.
        max_length: Token limit of query + document.
        device: Torch device, ``None`` picks one.
        api_key: Cohere API key.
        base_url: Cohere-compatible endpoint.
        reranker: A ready core ``Reranker``, instead of the model settings.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model: str | None = None
    backend: Literal["cross-encoder", "cohere"] = "cross-encoder"
    top_n: int | None = Field(default=3, gt=0)
    score_threshold: float | None = None
    normalize: bool = False
    batch_size: int = 32
    max_length: int = 512
    device: str | None = None
    api_key: SecretStr | None = None
    base_url: str | None = None
    reranker: Any = Field(default=None, exclude=True, description="a ready core Reranker")

    _reranker: Reranker = PrivateAttr()

    @model_validator(mode="after")
    def _build_reranker(self) -> EmbedweaveRerank:
        if self.reranker is not None:
            if not isinstance(self.reranker, Reranker):
                raise TypeError(
                    "reranker must be an embedweave.rerank.Reranker, got "
                    f"{type(self.reranker).__name__}"
                )
            if self.model is not None or self.api_key is not None or self.base_url is not None:
                raise ValueError("pass either reranker= or model settings, not both")
            self._reranker = self.reranker
            return self
        settings = self.model_dump(
            include={"backend", "normalize", "batch_size", "max_length", "device", "base_url"}
        )
        api_key = self.api_key.get_secret_value() if self.api_key is not None else None
        self._reranker = Reranker(self.model, api_key=api_key, **settings)
        return self

    @property
    def core(self) -> Reranker:
        """The wrapped ``embedweave.rerank.Reranker``."""
        return self._reranker

    def _inputs(self, documents: Sequence[Document]) -> dict[str, Any]:
        """``Reranker.rank`` arguments for these documents."""
        return {
            "texts": [doc.page_content for doc in documents],
            "top_n": self.top_n,
            "score_threshold": self.score_threshold,
        }

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Rerank ``documents`` for ``query``; keep ``top_n`` above ``score_threshold``."""
        if not documents:
            return []
        ranked = self._reranker.rank(query, **self._inputs(documents))
        return _ranked(ranked, documents)

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Async ``compress_documents`` (the model runs in a worker thread)."""
        if not documents:
            return []
        ranked = await self._reranker.arank(query, **self._inputs(documents))
        return _ranked(ranked, documents)


def _ranked(ranked: Sequence[tuple[int, float]], documents: Sequence[Document]) -> list[Document]:
    """Copies of the kept documents, best first, with ``relevance_score`` in metadata."""
    return [
        documents[i].model_copy(
            update={"metadata": {**documents[i].metadata, "relevance_score": score}}
        )
        for i, score in ranked
    ]
