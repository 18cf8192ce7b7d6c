"""LlamaIndex ``IngestionPipeline`` with a docstore, ``UPSERTS_AND_DELETE``, against
``EmbedweaveVectorStore`` on a real Weaviate: unchanged documents are neither embedded
nor written, a changed one is replaced, and a document no longer given is deleted."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from llama_index.core import Document
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.vector_stores.embedweave import EmbedweaveVectorStore

pytestmark = pytest.mark.weaviate


def _docs(corpus: list[Any]) -> list[Document]:
    return [Document(text=t, doc_id=d, metadata=dict(m)) for d, t, m in corpus]


def test_docstore_upserts_and_deletes_sync_the_collection(weaviate_server: Any,
                                                          embed_model: Any,
                                                          corpus: list[Any]) -> None:
    vs = EmbedweaveVectorStore(collection="LiSync" + uuid.uuid4().hex[:8],
                               server=weaviate_server, embed_model=embed_model)
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=40, chunk_overlap=0), embed_model],
        vector_store=vs, docstore=SimpleDocumentStore(),
        docstore_strategy=DocstoreStrategy.UPSERTS_AND_DELETE,
    )
    try:
        first = pipeline.run(documents=_docs(corpus))
        count = vs.store.count()
        assert count == len(first) > len(corpus)
        stored = {c.document_id for c in vs.store.iter_chunks()}
        assert stored == {d for d, _, _ in corpus}

        assert pipeline.run(documents=_docs(corpus)) == []  # nothing embedded or written
        assert vs.store.count() == count

        changed = _docs(corpus)
        gone = changed.pop(0).doc_id
        edited = changed[0].doc_id
        changed[0] = Document(text="A short replacement text.", doc_id=edited, metadata={})
        second = pipeline.run(documents=changed)
        assert [n.ref_doc_id for n in second] == [edited]
        by_doc: dict[str, list[str]] = {}
        for c in vs.store.iter_chunks():
            by_doc.setdefault(c.document_id, []).append(c.text)
        assert gone not in by_doc  # deleted from Weaviate, not only from the docstore
        assert by_doc[edited] == ["A short replacement text."]
        assert set(by_doc) == {d.doc_id for d in changed}
    finally:
        vs.store.drop()
        vs.close()


def test_replication_settings_pass_through_store_kwargs(weaviate_server: Any,
                                                        embed_model: Any) -> None:
    vs = EmbedweaveVectorStore(
        collection="LiRep" + uuid.uuid4().hex[:8], server=weaviate_server,
        embed_model=embed_model,
        store_kwargs={"replication_factor": 1, "consistency": "QUORUM"},
    )
    try:
        store: Any = vs.store
        assert (store.replication_factor, store.consistency) == (1, "QUORUM")
        config = store._collection.config.get()
        assert config.replication_config.factor == 1
    finally:
        vs.store.drop()
        vs.close()
