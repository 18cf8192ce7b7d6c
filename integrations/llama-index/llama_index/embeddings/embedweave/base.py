"""``EmbedweaveEmbedding``: LlamaIndex ``BaseEmbedding`` over the core ``Embedder``."""

from __future__ import annotations

import os
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr

from embedweave.embedding import Embedder
from embedweave.routing import Router
from embedweave.single_vector import single_vector_space
from embedweave.store.base import VectorSpace

#: Texts per model call; MiniLM-sized models batch well far beyond LlamaIndex's default 10.
DEFAULT_EMBED_BATCH_SIZE = 64


class EmbedweaveEmbedding(BaseEmbedding):
    """Sentence-transformers (and bundled offline) embeddings through embedweave.

    Model resolution, prompts, batching, normalization, Matryoshka truncation and the
    embedding cache live in the core ``embedweave.embedding.Embedder``; this class only
    turns its numpy output into the lists LlamaIndex expects. The async hooks run the
    model in a worker thread, so the event loop keeps serving other tasks.

    Example:
        ```python
        from llama_index.embeddings.embedweave import EmbedweaveEmbedding

        embed_model = EmbedweaveEmbedding(model_name="minilm", dimensions=256)
        vector = embed_model.get_query_embedding("What is HNSW?")  # 256 floats
        ```

    Args:
        model_name: Bundled name (``minilm``, ``wordllama-256``, ``use-multilingual``), a
            Hugging Face id, a local path, or an API model (``openai:<model>``,
            ``cohere:<model>``, ``voyage:<model>``; see embedweave's docs/api-models.md),
            whose async hooks await the provider's async client on the running loop.
        api_key: API models: the key (default the provider's variable); kept only by the
            core embedder, never in this object's fields or payloads.
        base_url: API models: the API root (an OpenAI-compatible server).
        dimensions: Matryoshka output dims (truncate + renormalize); ``None`` = full.
        embed_batch_size: Texts LlamaIndex hands the core per call, which is also the
            core's batch size when given; ``None``: 64 per call, and the core's batch
            size is its runtime's default (64 for PyTorch, 16 for an fp32 transformer
            on CPU and for OpenVINO).
        normalize: Unit-length output vectors.
        query_prompt: Prompt prepended to queries (``None`` = the model's own).
        document_prompt: Prompt prepended to documents (``None`` = the model's own).
        device: Torch device; ``None`` picks one.
        cache: An ``EmbeddingCache`` or a directory for cached document vectors.
        embedder: A ready core ``Embedder`` to wrap instead of building one; the
            model settings above must then be left unset.
        router: A core ``Router`` (multilingual routing): this embedding then is the
            embedder of its space ``route_space``, and ``space()`` is the router's record
            of it, so the vector store matches collections the core ``Index`` built.
            ``EmbedweaveRetriever`` given this embedding routes queries across all spaces.
        route_space: The router space to embed into; default the router's shared space
            (the one holding every text).
        **kwargs: Other ``BaseEmbedding`` fields (``callback_manager``, ``num_workers``...).
    """

    dimensions: int | None = Field(
        default=None, description="Output dims (Matryoshka truncation); None = the model's."
    )
    normalize: bool = Field(default=True, description="Unit-length output vectors.")
    query_prompt: str | None = Field(default=None, description="Prompt prepended to queries.")
    document_prompt: str | None = Field(
        default=None, description="Prompt prepended to documents."
    )
    device: str | None = Field(default=None, description="Torch device; None picks one.")
    cache_dir: str | None = Field(
        default=None, description="Directory of the document-embedding cache, if any."
    )

    route_space: str | None = Field(
        default=None, description="Router space this embedding embeds into, if routed."
    )
    base_url: str | None = Field(default=None, description="API root of an API model.")

    _embedder: Embedder = PrivateAttr()
    _router: Router | None = PrivateAttr(default=None)

    def __init__(
        self,
        model_name: str = "minilm",
        *,
        dimensions: int | None = None,
        embed_batch_size: int | None = None,
        normalize: bool = True,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        device: str | None = None,
        cache: Any = None,
        cache_dir: str | None = None,
        embedder: Embedder | None = None,
        router: Router | None = None,
        route_space: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        if router is not None:
            if not isinstance(router, Router):
                raise TypeError(
                    f"router must be an embedweave.routing.Router, got {type(router).__name__}"
                )
            if embedder is not None:
                raise ValueError("pass either router= or embedder=, not both")
            route_space = single_vector_space(router, route_space, argument="route_space")
            embedder = router.embedder(route_space)
        elif route_space is not None:
            raise ValueError("route_space= applies only with router=")
        if cache is not None and cache_dir is not None:
            raise ValueError("pass cache= or cache_dir=, not both")
        if isinstance(cache, (str, os.PathLike)):
            cache_dir, cache = os.fspath(cache), None
        if embedder is not None:
            if not isinstance(embedder, Embedder):
                raise TypeError(
                    "embedder must be an embedweave.embedding.Embedder, got "
                    f"{type(embedder).__name__}"
                )
            given = {
                "dimensions": dimensions,
                "query_prompt": query_prompt,
                "document_prompt": document_prompt,
                "device": device,
                "cache": cache if cache is not None else cache_dir,
                "api_key": api_key,
                "base_url": base_url,
            }
            clash = sorted(k for k, v in given.items() if v is not None)
            if clash:
                raise ValueError(
                    f"pass either embedder= or model settings, not both (also got {clash})"
                )
            model_name, dimensions = embedder.model_name, embedder.dims
        fields: dict[str, Any] = dict(
            model_name=model_name,
            dimensions=dimensions,
            embed_batch_size=(
                DEFAULT_EMBED_BATCH_SIZE if embed_batch_size is None else embed_batch_size
            ),
            normalize=normalize,
            query_prompt=query_prompt,
            document_prompt=document_prompt,
            device=device,
            cache_dir=cache_dir,
            route_space=route_space,
            base_url=base_url,
        )
        super().__init__(**fields, **kwargs)
        self._router = router
        self._embedder = embedder or Embedder(
            model_name,
            dimensions=dimensions,
            batch_size=embed_batch_size,
            device=device,
            normalize=normalize,
            query_prompt=query_prompt,
            document_prompt=document_prompt,
            cache=cache if cache is not None else cache_dir,
            api_key=api_key,
            base_url=base_url,
        )

    @classmethod
    def class_name(cls) -> str:
        """Name LlamaIndex records when serialising this component."""
        return "EmbedweaveEmbedding"

    @property
    def embedder(self) -> Embedder:
        """The core ``Embedder`` doing the work."""
        return self._embedder

    @property
    def dims(self) -> int:
        """Length of the vectors this model returns."""
        return int(self._embedder.dims)

    @property
    def router(self) -> Router:
        """The core router: the one given, or a single-space router over this model."""
        if self._router is not None:
            return self._router
        return Router.single(self._embedder)

    def space(self, name: str | None = None) -> VectorSpace:
        """The vector space (model fingerprint, dims, distance) these embeddings live in.

        Args:
            name: Named-vector name; defaults to the model's (or the router space's).
        """
        if self._router is not None and self.route_space is not None:
            if name is not None and name != self.route_space:
                raise ValueError(
                    f"this embedding is router space {self.route_space!r}; cannot name it {name!r}"
                )
            return self._router.vector_space(self.route_space)
        return self._embedder.space(name)

    def to_payload(self) -> dict[str, Any]:
        """Non-secret description emitted with embedding events."""
        return {
            **super().to_payload(),
            "dims": self.dims,
            "fingerprint": self._embedder.fingerprint,
        }

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._embedder.embed_query(query).tolist()

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self._embedder.aembed_query(query)).tolist()

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embedder.embed_documents([text])[0].tolist()

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._embedder.aembed_documents([text]))[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embedder.embed_documents(texts).tolist()

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return (await self._embedder.aembed_documents(texts)).tolist()
