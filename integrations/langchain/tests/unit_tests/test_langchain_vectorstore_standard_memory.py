"""LangChain's standard VectorStore suite against the exact in-memory core store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests.vectorstores import VectorStoreIntegrationTests

from langchain_embedweave import EmbedweaveVectorStore


class TestEmbedweaveVectorStoreMemory(VectorStoreIntegrationTests):
    """Sync and async suites, ``has_get_by_ids=True`` (the default)."""

    @pytest.fixture()
    def vectorstore(self) -> Iterator[VectorStore]:
        store = EmbedweaveVectorStore(self.get_embeddings())
        try:
            yield store
        finally:
            store.delete_collection()
