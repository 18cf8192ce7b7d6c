"""LangChain's indexing API (``langchain_core.indexing.index`` with a record manager)
against ``EmbedweaveVectorStore`` on a real Weaviate: unchanged documents are skipped,
a changed one replaced, and ``cleanup="full"`` removes documents no longer given."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.indexing import InMemoryRecordManager, index

from langchain_embedweave import EmbedweaveEmbeddings, EmbedweaveVectorStore

pytestmark = pytest.mark.weaviate


def _docs(corpus: list[tuple[str, str, dict[str, Any]]]) -> list[Document]:
    return [Document(page_content=t, metadata={**m, "source": f"{i}.txt"}) for i, t, m in corpus]


def test_indexing_api_incremental_and_full_cleanup(weaviate_server: Any, minilm: Any,
                                                   corpus: list[Any]) -> None:
    emb = EmbedweaveEmbeddings(embedder=minilm)
    vs = EmbedweaveVectorStore(emb, collection="LcIdx" + uuid.uuid4().hex[:10],
                               server=weaviate_server)
    records = InMemoryRecordManager(namespace="weaviate/lc-indexing")
    records.create_schema()
    docs = _docs(corpus)
    try:
        first = index(docs, records, vs, cleanup="incremental", source_id_key="source")
        assert first == {"num_added": len(docs), "num_updated": 0, "num_skipped": 0,
                         "num_deleted": 0}
        assert vs.store is not None and vs.store.count() == len(docs)

        calls = minilm.calls
        again = index(docs, records, vs, cleanup="incremental", source_id_key="source")
        assert again["num_skipped"] == len(docs) and again["num_added"] == 0
        assert minilm.calls == calls  # nothing embedded
        assert vs.store.count() == len(docs)

        changed = _docs(corpus)
        changed[0] = Document(page_content="Graph indexes link each vector to its neighbours.",
                              metadata={**changed[0].metadata})
        res = index(changed, records, vs, cleanup="incremental", source_id_key="source")
        assert (res["num_added"], res["num_deleted"], res["num_skipped"]) == (
            1, 1, len(docs) - 1)
        assert vs.store.count() == len(docs)
        top = vs.similarity_search("neighbours of each vector in a graph", k=1)[0]
        assert top.page_content.startswith("Graph indexes link")
        texts = {d.page_content for d in vs.similarity_search("graph index", k=len(docs))}
        assert docs[0].page_content not in texts  # the old version is gone

        kept = changed[:3]
        full = index(kept, records, vs, cleanup="full", source_id_key="source")
        assert full["num_deleted"] == len(docs) - 3 and full["num_skipped"] == 3
        assert vs.store.count() == 3
        assert {d.metadata["source"] for d in vs.similarity_search("anything", k=10)} == {
            d.metadata["source"] for d in kept}
    finally:
        vs.delete_collection()
        vs.close()


def test_replication_settings_pass_through_store_kwargs(weaviate_server: Any,
                                                        minilm: Any) -> None:
    vs = EmbedweaveVectorStore(
        EmbedweaveEmbeddings(embedder=minilm), collection="LcRep" + uuid.uuid4().hex[:10],
        server=weaviate_server,
        store_kwargs={"replication_factor": 1, "consistency": "ONE",
                      "write_consistency": "ALL"},
    )
    try:
        vs.add_texts(["replicated text"], ids=["r"])
        store: Any = vs.store
        assert (store.replication_factor, store.consistency, store.write_consistency) == (
            1, "ONE", "ALL")
        assert [d.page_content for d in vs.get_by_ids(["r"])] == ["replicated text"]
    finally:
        vs.delete_collection()
        vs.close()
