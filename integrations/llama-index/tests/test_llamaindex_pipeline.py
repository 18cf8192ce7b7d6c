"""LlamaIndex pipelines end to end: ingestion, index, retrievers, query engines.

Real Weaviate, real MiniLM embeddings, real cross-encoders (a seeded one for exact
order checks; embedweave's trained default, ``slow``, for relevance). The LLM is
LlamaIndex's offline ``MockLLM`` (it echoes the prompt), so answers are not checked,
source nodes are.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.llms import MockLLM
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.retrievers.embedweave import EmbedweaveRetriever
from llama_index.vector_stores.embedweave import EmbedweaveVectorStore

from embedweave.types import chunk_uuid

pytestmark = pytest.mark.weaviate

PREFIX = "LiPipeline"


def _name() -> str:
    return f"{PREFIX}{uuid.uuid4().hex[:8]}"


def stable_ids(i: int, doc: Any) -> str:
    """Node id = embedweave's chunk id of (document, position): re-ingesting overwrites."""
    return chunk_uuid(doc.doc_id, i)


def _splitter(**kw: Any) -> SentenceSplitter:
    return SentenceSplitter(chunk_size=40, chunk_overlap=0, **kw)


def _docs(corpus: list[Any]) -> list[Document]:
    return [Document(text=t, doc_id=d, metadata=dict(m)) for d, t, m in corpus]


@pytest.fixture
def vector_store(weaviate_server: Any, embed_model: Any) -> Iterator[EmbedweaveVectorStore]:
    vs = EmbedweaveVectorStore(collection=_name(), server=weaviate_server, embed_model=embed_model)
    yield vs
    vs.store.drop()
    vs.close()


@pytest.fixture(scope="module")
def built(
    weaviate_server: Any, embed_model: Any, corpus: list[Any]
) -> Iterator[tuple[VectorStoreIndex, EmbedweaveVectorStore]]:
    """``VectorStoreIndex.from_documents`` over a Weaviate-backed store (read-only tests)."""
    vs = EmbedweaveVectorStore(collection=_name(), server=weaviate_server, embed_model=embed_model)
    index = VectorStoreIndex.from_documents(
        _docs(corpus),
        storage_context=StorageContext.from_defaults(vector_store=vs),
        embed_model=embed_model,
        transformations=[_splitter()],
    )
    yield index, vs
    vs.store.drop()
    vs.close()


def test_index_retriever_returns_expected_nodes(built: Any) -> None:
    index, vs = built
    assert vs.store.count() >= 10
    nodes = index.as_retriever(similarity_top_k=3).retrieve(
        "How does a greedy search descend the graph layers?"
    )
    assert len(nodes) == 3 and nodes[0].node.ref_doc_id == "hnsw"
    assert nodes[0].score is not None and -1.0 <= nodes[0].score <= 1.0


def test_index_hybrid_retriever_alpha_zero_is_bm25(built: Any) -> None:
    index, _ = built
    query = "crema emulsion"
    bm25 = index.as_retriever(vector_store_query_mode="text_search", similarity_top_k=4)
    hybrid0 = index.as_retriever(vector_store_query_mode="hybrid", alpha=0.0, similarity_top_k=4)
    got_bm25 = [n.node.node_id for n in bm25.retrieve(query)]
    got_h0 = [n.node.node_id for n in hybrid0.retrieve(query)]
    assert got_h0 == got_bm25 and got_bm25
    assert all(n.node.ref_doc_id == "espresso" for n in hybrid0.retrieve(query))


def test_query_engine_with_rerank_and_instrumentation(
    built: Any, seeded_rerank: Any, events: Any
) -> None:
    index, _ = built
    question = "Which pigment absorbs red and blue light?"
    candidates = index.as_retriever(similarity_top_k=6).retrieve(question)
    scores = seeded_rerank.reranker.score(
        question, [c.node.get_content(metadata_mode=MetadataMode.EMBED) for c in candidates]
    )
    expected = [candidates[i].node.node_id for i in np.argsort(-scores, kind="stable")[:2]]
    events.events.clear()

    engine = index.as_query_engine(
        llm=MockLLM(), similarity_top_k=6, node_postprocessors=[seeded_rerank]
    )
    response = engine.query(question)
    sources = response.source_nodes
    assert [s.node.node_id for s in sources] == expected
    assert all("retrieval_score" in s.node.metadata for s in sources)
    assert str(response)  # MockLLM echoed a prompt built from the sources
    names = events.names()
    assert "EmbeddingStartEvent" in names and "EmbeddingEndEvent" in names
    (start,) = events.of("ReRankStartEvent")
    (end,) = events.of("ReRankEndEvent")
    assert start.top_n == 2 and len(start.nodes) == 6
    assert [n.node.node_id for n in end.nodes] == expected


@pytest.mark.asyncio
async def test_aquery_and_aretrieve_under_a_running_loop(built: Any, seeded_rerank: Any) -> None:
    index, _ = built
    nodes = await index.as_retriever(similarity_top_k=2).aretrieve("magma rising through the crust")
    assert nodes[0].node.ref_doc_id == "volcano"
    engine = index.as_query_engine(
        llm=MockLLM(), similarity_top_k=6, node_postprocessors=[seeded_rerank]
    )
    question = "How long does an espresso shot take?"
    response = await engine.aquery(question)
    sync = engine.query(question)
    assert len(response.source_nodes) == 2
    assert [n.node.node_id for n in response.source_nodes] == [
        n.node.node_id for n in sync.source_nodes
    ]


@pytest.mark.slow
@pytest.mark.asyncio
async def test_query_engine_with_default_reranker_returns_expected_sources(
    built: Any, rerank: Any
) -> None:
    index, _ = built
    engine = index.as_query_engine(llm=MockLLM(), similarity_top_k=6, node_postprocessors=[rerank])
    response = engine.query("Which pigment absorbs red and blue light?")
    assert response.source_nodes[0].node.ref_doc_id == "photosynthesis"
    assert "chlorophyll" in response.source_nodes[0].node.get_content().lower()
    response = await engine.aquery("How long does an espresso shot take?")
    assert response.source_nodes[0].node.ref_doc_id == "espresso"


def test_reingesting_does_not_duplicate_and_delete_ref_doc_removes_all(
    vector_store: EmbedweaveVectorStore, embed_model: Any, corpus: list[Any]
) -> None:
    pipeline = IngestionPipeline(
        transformations=[_splitter(id_func=stable_ids), embed_model], vector_store=vector_store
    )
    first = pipeline.run(documents=_docs(corpus))
    count = vector_store.store.count()
    assert count == len(first) >= 10
    second = pipeline.run(documents=_docs(corpus))
    assert [n.node_id for n in second] == [n.node_id for n in first]
    assert vector_store.store.count() == count

    index = VectorStoreIndex.from_vector_store(vector_store, embed_model=embed_model)
    volcano = [n.node_id for n in first if n.ref_doc_id == "volcano"]
    assert len(volcano) >= 2
    index.delete_ref_doc("volcano")
    assert vector_store.store.count() == count - len(volcano)
    assert vector_store.get_nodes(volcano) == []
    hits = index.as_retriever(similarity_top_k=5).retrieve("volcanic eruption of lava")
    assert hits and all(h.node.ref_doc_id != "volcano" for h in hits)


def test_docstore_upserts_replace_a_changed_document(
    vector_store: EmbedweaveVectorStore, embed_model: Any, corpus: list[Any]
) -> None:
    # Random node ids (LlamaIndex's default): the docstore strategy deletes the old
    # version of a changed document from the vector store before adding the new one.
    pipeline = IngestionPipeline(
        transformations=[_splitter(), embed_model],
        vector_store=vector_store,
        docstore=SimpleDocumentStore(),
    )
    first = pipeline.run(documents=_docs(corpus))
    count = vector_store.store.count()
    assert count == len(first)
    changed = _docs(corpus)
    changed[3] = Document(text="Volcanoes are mountains.", doc_id="volcano", metadata={})
    second = pipeline.run(documents=changed)
    old_volcano = [n for n in first if n.ref_doc_id == "volcano"]
    assert [n.ref_doc_id for n in second] == ["volcano"]  # unchanged documents skipped
    assert vector_store.store.count() == count - len(old_volcano) + 1
    assert vector_store.get_nodes([n.node_id for n in old_volcano]) == []


def test_embedweave_retriever_runs_the_core_pipeline(
    built: Any, embed_model: Any, seeded_rerank: Any
) -> None:
    _, vs = built
    plain = EmbedweaveRetriever(vs, embed_model, similarity_top_k=3)
    nodes = plain.retrieve("layers of a proximity graph for nearest neighbours")
    assert len(nodes) == 3 and nodes[0].node.ref_doc_id == "hnsw"

    keyword = EmbedweaveRetriever(vs, embed_model, mode="keyword", similarity_top_k=2)
    assert keyword.retrieve("baristas grind size")[0].node.ref_doc_id == "espresso"

    reranked = EmbedweaveRetriever(
        vs, embed_model, mode="hybrid", alpha=0.5, similarity_top_k=2, reranker=seeded_rerank,
        candidates=8,
    )
    question = "Which pigment absorbs red and blue light?"
    got = reranked.retrieve(question)
    core_hits = reranked.core.retrieve(question, k=2)
    assert [n.node.node_id for n in got] == [h.id for h in core_hits]
    assert [n.score for n in got] == pytest.approx([h.score for h in core_hits])
    assert [n.node.metadata["retrieval_score"] for n in got] == pytest.approx(
        [h.first_stage_score for h in core_hits]
    )

    engine = RetrieverQueryEngine.from_args(plain, llm=MockLLM())
    response = engine.query("What does efConstruction trade off?")
    assert response.source_nodes[0].node.ref_doc_id == "hnsw"


@pytest.mark.slow
def test_embedweave_retriever_with_default_reranker(
    built: Any, embed_model: Any, rerank: Any
) -> None:
    _, vs = built
    retriever = EmbedweaveRetriever(
        vs, embed_model, mode="hybrid", similarity_top_k=2, reranker=rerank, candidates=8
    )
    got = retriever.retrieve("Which pigment absorbs red and blue light?")
    assert got[0].node.ref_doc_id == "photosynthesis"


@pytest.mark.asyncio
async def test_embedweave_retriever_async(built: Any, embed_model: Any) -> None:
    _, vs = built
    retriever = EmbedweaveRetriever(vs, embed_model, similarity_top_k=2)
    nodes = await retriever.aretrieve("carbon dioxide and water become glucose")
    assert nodes[0].node.ref_doc_id == "photosynthesis"
