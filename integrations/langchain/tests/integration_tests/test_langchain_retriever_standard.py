"""LangChain's standard Retriever suite: the core pipeline over a real Weaviate + MiniLM."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from embedweave.pipeline import Index
from embedweave.store.weaviate import WeaviateStore
from embedweave.types import Document as CoreDocument
from langchain_tests.integration_tests import RetrieversIntegrationTests

from langchain_embedweave import EmbedweaveRetriever

pytestmark = pytest.mark.weaviate


class TestEmbedweaveRetrieverStandard(RetrieversIntegrationTests):
    """Hybrid mode over an indexed collection; ``k`` in the constructor and per call."""

    _params: ClassVar[dict[str, Any]] = {}

    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _indexed(cls, weaviate_server: Any, minilm: Any, corpus: Any) -> Iterator[None]:
        store = WeaviateStore(
            "LcRet" + uuid.uuid4().hex[:12], [minilm.space()], server=weaviate_server
        )
        Index(store, minilm).add_documents(
            [CoreDocument(i, text, meta) for i, text, meta in corpus]
        )
        cls._params = {"store": store, "embedder": minilm, "mode": "hybrid"}
        try:
            yield
        finally:
            store.drop()
            store.close()

    @property
    def retriever_constructor(self) -> type[EmbedweaveRetriever]:
        return EmbedweaveRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def retriever_query_example(self) -> str:
        return "how does approximate nearest neighbour search work?"
