"""EmbedweaveVectorStore on a real Weaviate with real MiniLM embeddings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from embedweave.errors import SpaceMismatchError
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from langchain_embedweave import EmbedweaveEmbeddings, EmbedweaveVectorStore

pytestmark = pytest.mark.weaviate


@pytest.fixture(scope="module")
def emb(minilm: Any) -> EmbedweaveEmbeddings:
    return EmbedweaveEmbeddings(embedder=minilm)


def _name() -> str:
    return "LcVs" + uuid.uuid4().hex[:12]


@pytest.fixture()
def vs(
    emb: EmbedweaveEmbeddings, weaviate_server: Any, corpus: Any
) -> Iterator[EmbedweaveVectorStore]:
    store = EmbedweaveVectorStore(emb, collection=_name(), server=weaviate_server)
    store.add_texts(
        [t for _, t, _ in corpus],
        metadatas=[m for _, _, m in corpus],
        ids=[i for i, _, _ in corpus],
    )
    try:
        yield store
    finally:
        store.delete_collection()


def test_semantic_search_and_relevance(vs: EmbedweaveVectorStore) -> None:
    results = vs.similarity_search_with_relevance_scores("graph based vector index", k=8)
    assert results[0][0].id == "hnsw"
    assert results[0][0].metadata == {"topic": "search", "year": 2016}
    rel = [s for _, s in results]
    assert all(0.0 <= s <= 1.0 for s in rel)
    assert rel == sorted(rel, reverse=True)
    raw = [s for _, s in vs.similarity_search_with_score("graph based vector index", k=8)]
    assert rel == pytest.approx([(1 + s) / 2 for s in raw], abs=1e-6)


def test_the_collection_records_the_model(vs: EmbedweaveVectorStore, minilm: Any) -> None:
    assert vs.store is not None
    assert vs.store.spaces[vs.space] == minilm.space()


def test_metadata_filters(vs: EmbedweaveVectorStore) -> None:
    docs = vs.similarity_search("how to cook", k=8, filter={"topic": "cooking"})
    assert {d.id for d in docs} == {"pasta", "bread"}
    docs = vs.similarity_search("anything", k=8, filter={"year": {"$gte": 2020}})
    assert {d.id for d in docs} == {"pasta", "bread", "matryoshka"}
    docs = vs.similarity_search(
        "anything", k=8, filter={"$or": [{"topic": "garden"}, {"year": {"$lt": 2000}}]}
    )
    assert {d.id for d in docs} == {"tomato", "bees", "bm25"}


def test_hybrid_alpha(vs: EmbedweaveVectorStore) -> None:
    keyword = vs.similarity_search_with_relevance_scores("pollinate", k=3, alpha=0.0)
    assert [d.id for d, _ in keyword] == ["bees"]  # only one text has the word
    assert all(0.0 <= s <= 1.0 for _, s in keyword)
    vector_only = vs.similarity_search("pollinate", k=3, alpha=1.0)
    assert [d.id for d in vector_only] == [d.id for d in vs.similarity_search("pollinate", k=3)]


def test_same_ids_overwrite_and_delete_removes(vs: EmbedweaveVectorStore, corpus: Any) -> None:
    assert vs.store is not None and vs.store.count() == len(corpus)
    vs.add_texts(["Bees make honey."], metadatas=[{"topic": "garden"}], ids=["bees"])
    assert vs.store.count() == len(corpus)
    assert vs.get_by_ids(["bees"])[0].page_content == "Bees make honey."
    vs.delete(["bees", "tomato", "never-added"])
    assert vs.store.count() == len(corpus) - 2
    assert vs.get_by_ids(["bees", "tomato", "pasta"])[0].id == "pasta"
    vs.delete(filter={"topic": "cooking"})
    assert vs.get_by_ids(["pasta", "bread"]) == []


def test_uuid_and_arbitrary_ids_round_trip(vs: EmbedweaveVectorStore) -> None:
    uid = str(uuid.uuid4())
    ids = vs.add_texts(["a uuid id", "a path-like id"], ids=[uid, "docs/a b.txt#3"])
    assert ids == [uid, "docs/a b.txt#3"]
    assert [d.id for d in vs.get_by_ids(ids)] == ids


def test_mmr_skips_a_duplicate(vs: EmbedweaveVectorStore, emb: EmbedweaveEmbeddings) -> None:
    hnsw_text = vs.get_by_ids(["hnsw"])[0].page_content
    vs.add_texts([hnsw_text], ids=["hnsw-copy"])
    query = "graph index for nearest neighbour search"
    assert {d.id for d in vs.similarity_search(query, k=2)} == {"hnsw", "hnsw-copy"}
    mmr = vs.max_marginal_relevance_search(query, k=2, fetch_k=8, lambda_mult=0.5)
    assert len(mmr) == 2 and mmr[0].id in ("hnsw", "hnsw-copy")
    assert mmr[1].id not in ("hnsw", "hnsw-copy")
    # Same pick as LangChain's MMR over the stored vectors of the top fetch_k.
    top = vs.similarity_search(query, k=8)
    assert vs.store is not None
    stored = vs.store.get_vectors([d.id or "" for d in top], space=vs.space)
    picked = maximal_marginal_relevance(
        np.asarray(emb.embed_query(query)), [stored[d.id or ""].tolist() for d in top], 0.5, 2
    )
    assert [top[i].id for i in picked] == [d.id for d in mmr]


def test_tenant_per_call(emb: EmbedweaveEmbeddings, weaviate_server: Any) -> None:
    vs = EmbedweaveVectorStore(
        emb, collection=_name(), server=weaviate_server, store_kwargs={"multi_tenancy": True}
    )
    try:
        vs.add_texts(["Alice likes graph indexes."], ids=["x"], tenant="alice")
        vs.add_texts(["Bob bakes bread."], ids=["x"], tenant="bob")
        assert vs.get_by_ids(["x"], tenant="alice")[0].page_content.startswith("Alice")
        assert [d.page_content for d in vs.similarity_search("graph", k=5, tenant="bob")] == [
            "Bob bakes bread."
        ]
        vs.delete(["x"], tenant="bob")
        assert vs.get_by_ids(["x"], tenant="bob") == []
        assert len(vs.get_by_ids(["x"], tenant="alice")) == 1
        with pytest.raises(ValueError, match="multi-tenant"):
            vs.similarity_search("graph", k=1)
    finally:
        vs.delete_collection()


def test_reopen_checks_the_model(
    vs: EmbedweaveVectorStore, weaviate_server: Any, keyword_embeddings: Any
) -> None:
    assert vs.store is not None
    name = vs.store.name  # type: ignore[attr-defined]
    again = EmbedweaveVectorStore(vs.embeddings, collection=name, server=weaviate_server)
    assert again.get_by_ids(["bread"])[0].metadata["topic"] == "cooking"
    again.close()
    other = EmbedweaveVectorStore(
        keyword_embeddings(["x"] * 383), collection=name, server=weaviate_server, space=vs.space
    )
    with pytest.raises(SpaceMismatchError, match="fingerprint"):
        other.similarity_search("x", k=1)


async def test_async_variants(vs: EmbedweaveVectorStore) -> None:
    ids = await vs.aadd_texts(["Sourdough needs a starter."], [{"topic": "cooking"}], ids=["sd"])
    assert ids == ["sd"]
    docs = await vs.asimilarity_search("baking bread", k=3, filter={"topic": "cooking"})
    assert {d.id for d in docs} == {"bread", "sd", "pasta"}
    scored = await vs.asimilarity_search_with_relevance_scores("honey bees", k=1)
    assert scored[0][0].id == "bees" and 0.5 < scored[0][1] <= 1.0
    mmr = await vs.amax_marginal_relevance_search("garden", k=2, fetch_k=5)
    assert len(mmr) == 2
    assert [d.id for d in await vs.aget_by_ids(["sd"])] == ["sd"]
    await vs.adelete(["sd"])
    assert await vs.aget_by_ids(["sd"]) == []


def test_from_texts_and_as_retriever(emb: EmbedweaveEmbeddings, weaviate_server: Any) -> None:
    vs = EmbedweaveVectorStore.from_texts(
        ["Rust has a borrow checker.", "Python has a garbage collector."],
        emb,
        metadatas=[{"lang": "rust"}, {"lang": "python"}],
        ids=["r", "p"],
        collection=_name(),
        server=weaviate_server,
    )
    try:
        retriever = vs.as_retriever(search_kwargs={"k": 1})
        assert [d.id for d in retriever.invoke("ownership rules of the Rust compiler")] == ["r"]
        hybrid = vs.as_retriever(search_kwargs={"k": 2, "alpha": 0.0})
        assert [d.id for d in hybrid.invoke("garbage")] == ["p"]
    finally:
        vs.delete_collection()
