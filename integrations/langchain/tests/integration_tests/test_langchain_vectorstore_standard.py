"""LangChain's standard VectorStore suite against a real Weaviate (``WeaviateStore``).

The suite embeds with its own ``DeterministicFakeEmbedding`` (6 dims): the wrapper
derives the space fingerprint from it and creates each collection on first use.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests.vectorstores import VectorStoreIntegrationTests

from langchain_embedweave import EmbedweaveVectorStore

pytestmark = pytest.mark.weaviate


class TestEmbedweaveVectorStoreWeaviate(VectorStoreIntegrationTests):
    """Sync and async suites with ``has_get_by_ids=True`` (the default)."""

    @pytest.fixture()
    def vectorstore(self, weaviate_server: Any) -> Iterator[VectorStore]:
        store = EmbedweaveVectorStore(
            self.get_embeddings(),
            collection="LcStd" + uuid.uuid4().hex[:12],
            server=weaviate_server,
        )
        try:
            yield store
        finally:
            store.delete_collection()
