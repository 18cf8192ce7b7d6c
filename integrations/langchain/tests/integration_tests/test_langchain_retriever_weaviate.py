"""EmbedweaveRetriever: the core pipeline's options through LangChain, real Weaviate."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from embedweave.pipeline import Index, Retriever
from embedweave.rerank import Reranker
from embedweave.routing import Router
from embedweave.store.weaviate import WeaviateStore
from embedweave.types import Chunk
from embedweave.types import Document as CoreDocument

from langchain_embedweave import EmbedweaveEmbeddings, EmbedweaveRerank, EmbedweaveRetriever

pytestmark = pytest.mark.weaviate


@pytest.fixture(scope="module")
def store(weaviate_server: Any, minilm: Any, corpus: Any) -> Iterator[WeaviateStore]:
    st = WeaviateStore(
        "LcRt" + uuid.uuid4().hex[:12], [minilm.space()], server=weaviate_server,
        multi_tenancy=True,
    )
    # add_chunks, not add_documents: add_documents first deletes a document's old
    # chunks, which WeaviateStore refuses on a tenant that does not exist yet.
    index = Index(st, minilm)
    index.add_chunks([Chunk(i, 0, t, m) for i, t, m in corpus], tenant="acme")
    index.add_chunks(
        [Chunk("other", 0, "HNSW graphs for another tenant.", {"topic": "search"})],
        tenant="globex",
    )
    try:
        yield st
    finally:
        st.drop()
        st.close()


def test_documents_carry_scores_and_provenance(store: WeaviateStore, minilm: Any) -> None:
    r = EmbedweaveRetriever(store=store, embedder=minilm, k=3, tenant="acme")
    docs = r.invoke("graph index for nearest neighbour search")
    assert len(docs) == 3
    assert docs[0].metadata["document_id"] == "hnsw"
    meta = docs[0].metadata
    assert meta["topic"] == "search" and meta["year"] == 2016
    assert meta["chunk_index"] == 0 and meta["spaces"] == [minilm.space().name]
    assert meta["language"] == "en"
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)
    # The same hits as the core pipeline, in the same order.
    core = Retriever(store, minilm, k=3).retrieve(
        "graph index for nearest neighbour search", tenant="acme"
    )
    assert [d.id for d in docs] == [h.id for h in core]
    assert scores == pytest.approx([h.score for h in core])


def test_k_filter_and_tenant_per_call(store: WeaviateStore, minilm: Any) -> None:
    r = EmbedweaveRetriever(store=store, embedder=minilm, k=2, tenant="acme")
    assert len(r.invoke("food")) == 2
    assert len(r.invoke("food", k=5)) == 5
    cooking = r.invoke("anything at all", k=8, filter={"topic": "cooking"})
    assert {d.metadata["document_id"] for d in cooking} == {"pasta", "bread"}
    other = r.invoke("graphs", k=8, tenant="globex")
    assert [d.metadata["document_id"] for d in other] == ["other"]
    default_filter = EmbedweaveRetriever(
        store=store, embedder=minilm, k=8, tenant="acme", filter={"year": {"$lt": 2000}}
    )
    assert [d.metadata["document_id"] for d in default_filter.invoke("ranking")] == ["bm25"]


def test_keyword_and_hybrid_modes(store: WeaviateStore, minilm: Any) -> None:
    kw = EmbedweaveRetriever(store=store, embedder=minilm, mode="keyword", k=5, tenant="acme")
    assert [d.metadata["document_id"] for d in kw.invoke("pollinate")] == ["bees"]
    assert kw.invoke("pollinate")[0].metadata["spaces"] == ["bm25"]
    hy = EmbedweaveRetriever(
        store=store, embedder=minilm, mode="hybrid", alpha=0.5, k=3, tenant="acme"
    )
    docs = hy.invoke("pollinate flowers")
    assert docs[0].metadata["document_id"] == "bees"
    assert all(0.0 <= d.metadata["score"] <= 1.0 for d in docs)


def test_reranker_reorders_within_the_pipeline(
    store: WeaviateStore, minilm: Any, cross_encoder_dir: Any
) -> None:
    reranker = Reranker(cross_encoder_dir)
    r = EmbedweaveRetriever(
        store=store, embedder=minilm, k=4, candidates=8, tenant="acme",
        reranker=EmbedweaveRerank(reranker=reranker),
    )
    query = "search engines"
    docs = r.invoke(query)
    assert len(docs) == 4
    rel = [d.metadata["relevance_score"] for d in docs]
    assert rel == sorted(rel, reverse=True)
    assert all("first_stage_rank" in d.metadata for d in docs)
    expected = reranker.score(query, [d.page_content for d in docs])
    assert rel == pytest.approx(list(expected), abs=1e-5)


def test_wraps_a_ready_pipeline(store: WeaviateStore, minilm: Any) -> None:
    pipeline = Retriever(store, minilm, k=3)
    r = EmbedweaveRetriever(pipeline=pipeline)
    assert r.core is pipeline
    assert len(r.invoke("bread", tenant="acme")) == 3  # the pipeline's k
    assert len(r.invoke("bread", tenant="acme", k=1)) == 1
    with pytest.raises(ValueError, match="not both"):
        EmbedweaveRetriever(pipeline=pipeline, store=store)
    with pytest.raises(ValueError, match="store= and embedder="):
        EmbedweaveRetriever(store=store)


async def test_async_invoke(store: WeaviateStore, minilm: Any) -> None:
    r = EmbedweaveRetriever(store=store, embedder=minilm, k=2, tenant="acme")
    docs = await r.ainvoke("honey", k=1)
    assert [d.metadata["document_id"] for d in docs] == ["bees"]


def test_routing_through_embeddings(weaviate_server: Any, minilm: Any, corpus: Any) -> None:
    """A router given via EmbedweaveEmbeddings searches every space the query routes to."""
    table = {"routes": {"en": "minilm"}, "shared": "wordllama-256"}
    router = Router(table, embedders={"minilm": minilm})
    st = WeaviateStore("LcRoute" + uuid.uuid4().hex[:10], router.vector_spaces(),
                       server=weaviate_server)
    try:
        Index(st, router).add_documents([CoreDocument(i, t, m) for i, t, m in corpus])
        r = EmbedweaveRetriever(
            store=st, embedder=EmbedweaveEmbeddings(router=router), k=3
        )
        docs = r.invoke("Which insects pollinate flowers in the garden?")
        assert docs[0].metadata["document_id"] == "bees"
        assert set(docs[0].metadata["spaces"]) == {"minilm", "wordllama_256"}
    finally:
        st.drop()
        st.close()
