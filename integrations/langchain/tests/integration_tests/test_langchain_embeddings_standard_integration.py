"""LangChain's standard Embeddings integration suite with real bundled models."""

from __future__ import annotations

from typing import Any

from langchain_tests.integration_tests import EmbeddingsIntegrationTests

from langchain_embedweave import EmbedweaveEmbeddings


class TestEmbedweaveEmbeddingsMiniLM(EmbeddingsIntegrationTests):
    """all-MiniLM-L6-v2 (sentence-transformers), full 384 dims."""

    @property
    def embeddings_class(self) -> type[EmbedweaveEmbeddings]:
        return EmbedweaveEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "minilm"}


class TestEmbedweaveEmbeddingsWordLlamaTruncated(EmbeddingsIntegrationTests):
    """WordLlama (Matryoshka-trained static embeddings) truncated to 64 dims."""

    @property
    def embeddings_class(self) -> type[EmbedweaveEmbeddings]:
        return EmbedweaveEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "wordllama-256", "dimensions": 64}
