"""``EmbedweaveEmbeddings``: LangChain ``Embeddings`` over the core ``Embedder``."""

from __future__ import annotations

from typing import Any

from embedweave.embedding import Embedder
from embedweave.routing import Router, as_router
from embedweave.single_vector import single_vector_space
from embedweave.store.base import VectorSpace
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

#: Fields passed unchanged to the core ``Embedder`` (same names there).
_EMBEDDER_SETTINGS = {
    "dimensions", "batch_size", "device", "normalize", "query_prompt", "document_prompt",
    "base_url",
}


class EmbedweaveEmbeddings(BaseModel, Embeddings):
    """Sentence-transformers (and bundled offline) embeddings through embedweave.

    Model resolution, prompts, batching, normalization, Matryoshka truncation and the
    embedding cache all live in the core ``embedweave.embedding.Embedder``; this class
    only converts its numpy output to the plain Python floats LangChain expects.

    Example:
        ```python
        from langchain_embedweave import EmbedweaveEmbeddings

        emb = EmbedweaveEmbeddings(model="minilm", dimensions=256)
        vector = emb.embed_query("What is HNSW?")  # list of 256 floats
        ```

    Args:
        model: Bundled name (``minilm``, ``wordllama-256``, ``use-multilingual``), a
            Hugging Face id, a local path, or an API model (``openai:<model>``,
            ``cohere:<model>``, ``voyage:<model>``; see embedweave's docs/api-models.md).
        dimensions: Matryoshka output dims (truncate + renormalize); ``None`` = full.
        api_key: API models: the key (default the provider's variable); never shown.
        base_url: API models: the API root (an OpenAI-compatible server).
        batch_size: Texts per model call; ``None``: the runtime's default (64 for
            PyTorch, 16 for an fp32 transformer on CPU and for OpenVINO). Set to the
            core's value once built.
        device: Torch device, ``None`` picks one.
        normalize: Unit-length output vectors.
        query_prompt: Prompt prepended to queries (``None`` = the model's own).
        document_prompt: Prompt prepended to documents (``None`` = the model's own).
        cache: An ``EmbeddingCache`` or a directory for cached document vectors.
        embedder: A ready ``Embedder`` to wrap; when given, the model settings must be
            left at their defaults.
        router: A ``Router`` (or route table) for multilingual collections. LangChain
            embeds every text into one space, so this picks ``router_space``'s embedder
            and its store record; ``EmbedweaveRetriever`` given these embeddings routes
            each query through the whole router.
        router_space: Space of ``router`` to embed into; default its shared space (the
            one holding every text).

    Example (routing):
        ```python
        emb = EmbedweaveEmbeddings(
            router={"routes": {"en": "minilm", "*": "use-multilingual"}},
            router_space="use_multilingual",
        )
        ```
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model: str = "minilm"
    dimensions: int | None = None
    batch_size: int | None = None
    device: str | None = None
    normalize: bool = True
    query_prompt: str | None = None
    document_prompt: str | None = None
    cache: Any = Field(default=None, description="EmbeddingCache, directory or None")
    embedder: Any = Field(default=None, exclude=True, description="a ready core Embedder")
    router: Any = Field(default=None, exclude=True, description="a core Router or route table")
    router_space: str | None = None
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    base_url: str | None = None

    _embedder: Embedder = PrivateAttr()
    _router: Router | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build_embedder(self) -> EmbedweaveEmbeddings:
        if self.embedder is not None and self.router is not None:
            raise ValueError("pass either embedder= or router=, not both")
        if self.router_space is not None and self.router is None:
            raise ValueError("router_space applies only with router=")
        if self.embedder is not None or self.router is not None:
            changed = [
                name
                for name in (
                    "dimensions", "device", "query_prompt", "document_prompt", "cache",
                    "api_key", "base_url",
                )
                if getattr(self, name) is not None
            ]
            if changed:
                raise ValueError(
                    "model settings apply only without embedder= / router= "
                    f"(also got {changed})"
                )
        if self.embedder is not None:
            if not isinstance(self.embedder, Embedder):
                raise TypeError(
                    "embedder must be an embedweave.embedding.Embedder, got "
                    f"{type(self.embedder).__name__}"
                )
            self._embedder = self.embedder
            self.model = self.embedder.model_name
        elif self.router is not None:
            router = as_router(self.router)
            space = single_vector_space(router, self.router_space, argument="router_space")
            self._router = router
            self.router_space = space
            self._embedder = router.embedder(space)
            self.model = self._embedder.model_name
        else:
            settings = self.model_dump(include=_EMBEDDER_SETTINGS)
            api_key = self.api_key.get_secret_value() if self.api_key else None
            self._embedder = Embedder(self.model, cache=self.cache, api_key=api_key, **settings)
        self.batch_size = self._embedder.batch_size
        return self

    @property
    def core(self) -> Embedder:
        """The wrapped core ``Embedder`` (of ``router_space`` when routing)."""
        return self._embedder

    @property
    def core_router(self) -> Router | None:
        """The core ``Router`` when built with ``router=``, else ``None``."""
        return self._router

    @property
    def dims(self) -> int:
        """Output vector length."""
        return int(self._embedder.dims)

    def space(self, name: str | None = None) -> VectorSpace:
        """The store space (model fingerprint, dims, distance) these vectors live in.

        Args:
            name: Named-vector name; default the embedder's (or ``router_space``). With a
                router the name is fixed, since the router's record names its space.
        """
        if self._router is not None:
            assert self.router_space is not None
            if name is not None and name != self.router_space:
                raise ValueError(
                    f"these embeddings embed into router space {self.router_space!r}, "
                    f"not {name!r}"
                )
            return self._router.vector_space(self.router_space)
        return self._embedder.space(name)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents with the document prompt; one list of floats per text."""
        return self._embedder.embed_documents(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one query with the query prompt."""
        return self._embedder.embed_query(text).tolist()

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Like ``embed_documents``, in a worker thread so the event loop keeps running."""
        return (await self._embedder.aembed_documents(list(texts))).tolist()

    async def aembed_query(self, text: str) -> list[float]:
        """Like ``embed_query``, in a worker thread."""
        return (await self._embedder.aembed_query(text)).tolist()
