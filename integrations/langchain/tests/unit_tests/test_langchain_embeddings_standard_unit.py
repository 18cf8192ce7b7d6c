"""LangChain's standard Embeddings unit suite for EmbedweaveEmbeddings."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import EmbeddingsUnitTests

from langchain_embedweave import EmbedweaveEmbeddings


class TestEmbedweaveEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[EmbedweaveEmbeddings]:
        return EmbedweaveEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "minilm"}
