"""EmbedweaveVectorStore conversions and options over the exact in-memory core store."""

from __future__ import annotations

from typing import Any

import pytest
from embedweave.errors import SpaceMismatchError
from embedweave.store.base import VectorSpace
from embedweave.store.memory import MemoryStore
from langchain_core.documents import Document

from langchain_embedweave import EmbedweaveVectorStore

VOCAB = ["apple", "banana", "cherry", "pie"]


@pytest.fixture()
def emb(keyword_embeddings: Any) -> Any:
    return keyword_embeddings(VOCAB)


@pytest.fixture()
def vs(emb: Any) -> EmbedweaveVectorStore:
    store = EmbedweaveVectorStore(emb)
    store.add_texts(
        ["apple apple", "apple pie", "banana", "cherry pie"],
        metadatas=[
            {"fruit": "apple", "n": 1},
            {"fruit": "apple", "n": 2},
            {"fruit": "banana", "n": 3},
            {"fruit": "cherry", "n": 4},
        ],
        ids=["a1", "a2", "b", "c"],
    )
    return store


def test_ids_and_metadata_round_trip(vs: EmbedweaveVectorStore) -> None:
    docs = vs.get_by_ids(["c", "missing", "a1"])
    assert docs == [
        Document(id="c", page_content="cherry pie", metadata={"fruit": "cherry", "n": 4}),
        Document(id="a1", page_content="apple apple", metadata={"fruit": "apple", "n": 1}),
    ]


def test_generated_ids_are_unique_strings(emb: Any) -> None:
    vs = EmbedweaveVectorStore(emb)
    ids = vs.add_texts(["apple", "banana"])
    assert len(set(ids)) == 2 and all(isinstance(i, str) and i for i in ids)
    assert {d.page_content for d in vs.get_by_ids(ids)} == {"apple", "banana"}


def test_same_ids_twice_do_not_duplicate(vs: EmbedweaveVectorStore) -> None:
    vs.add_texts(["banana banana"], metadatas=[{"fruit": "banana"}], ids=["b"])
    assert vs.store is not None and vs.store.count() == 4
    assert vs.get_by_ids(["b"])[0].page_content == "banana banana"


def test_delete_removes_only_given_ids(vs: EmbedweaveVectorStore) -> None:
    assert vs.delete(["a1", "nope"]) is True
    assert vs.store is not None and vs.store.count() == 3
    assert vs.get_by_ids(["a1"]) == []


def test_delete_by_filter(vs: EmbedweaveVectorStore) -> None:
    vs.delete(filter={"fruit": "apple"})
    assert sorted(d.id or "" for d in vs.similarity_search("apple", k=10)) == ["b", "c"]


def test_delete_without_ids_or_filter_is_an_error(vs: EmbedweaveVectorStore) -> None:
    with pytest.raises(ValueError, match="delete_collection"):
        vs.delete()


def test_similarity_order_and_scores(vs: EmbedweaveVectorStore) -> None:
    results = vs.similarity_search_with_score("apple", k=4)
    assert [d.id for d, _ in results][:2] == ["a1", "a2"]
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(1.0, abs=1e-4)  # cosine of identical directions


def test_relevance_scores_in_unit_interval(vs: EmbedweaveVectorStore) -> None:
    results = vs.similarity_search_with_relevance_scores("apple", k=4)
    rel = [s for _, s in results]
    assert all(0.0 <= s <= 1.0 for s in rel)
    assert rel[0] == pytest.approx(1.0, abs=1e-4)
    raw = [s for _, s in vs.similarity_search_with_score("apple", k=4)]
    assert rel == pytest.approx([(1 + s) / 2 for s in raw])


def test_score_threshold(vs: EmbedweaveVectorStore) -> None:
    # "apple" vs "apple pie": cosine 0.707, relevance 0.854; vs "banana": relevance 0.5.
    docs = vs.similarity_search_with_relevance_scores("apple", k=4, score_threshold=0.8)
    assert [d.id for d, _ in docs] == ["a1", "a2"]


def test_mongo_style_filters(vs: EmbedweaveVectorStore) -> None:
    docs = vs.similarity_search("apple", k=4, filter={"n": {"$gte": 3}})
    assert {d.id for d in docs} == {"b", "c"}
    docs = vs.similarity_search("pie", k=4, filter={"$or": [{"fruit": "banana"}, {"n": 2}]})
    assert [d.id for d in docs] == ["a2", "b"]


def test_hybrid_alpha_zero_is_keyword_search(vs: EmbedweaveVectorStore) -> None:
    # Pure BM25: only texts containing the word match; fused scores lie in [0, 1].
    results = vs.similarity_search_with_relevance_scores("cherry", k=4, alpha=0.0)
    assert [d.id for d, _ in results] == ["c"]
    assert results[0][1] == pytest.approx(1.0)


def test_constructor_alpha_is_the_default(emb: Any) -> None:
    vs = EmbedweaveVectorStore(emb, alpha=0.0)
    vs.add_texts(["apple", "banana"], ids=["a", "b"])
    assert [d.id for d in vs.similarity_search("banana", k=2)] == ["b"]
    assert [d.id for d in vs.similarity_search("banana", k=2, alpha=1.0)] == ["b", "a"]


def test_by_vector(vs: EmbedweaveVectorStore, emb: Any) -> None:
    docs = vs.similarity_search_by_vector(emb.embed_query("banana"), k=1)
    assert [d.id for d in docs] == ["b"]
    with pytest.raises(ValueError, match="query text"):
        vs.similarity_search_by_vector(emb.embed_query("banana"), k=1, alpha=0.5)


def test_mmr_prefers_diversity(emb: Any) -> None:
    vs = EmbedweaveVectorStore(emb)
    vs.add_texts(["apple", "apple apple", "apple banana"], ids=["a", "aa", "ab"])
    plain = vs.similarity_search("apple", k=2)
    assert {d.id for d in plain} == {"a", "aa"}  # same direction, both cosine 1
    diverse = vs.max_marginal_relevance_search("apple", k=2, fetch_k=3, lambda_mult=0.25)
    assert diverse[0].id in ("a", "aa")
    assert diverse[1].id == "ab"  # not the duplicate direction


def test_tenants_are_separate(emb: Any) -> None:
    vs = EmbedweaveVectorStore(emb, tenant="alice")
    vs.add_texts(["apple"], ids=["x"])
    vs.add_texts(["banana"], ids=["x"], tenant="bob")
    assert vs.get_by_ids(["x"])[0].page_content == "apple"
    assert vs.get_by_ids(["x"], tenant="bob")[0].page_content == "banana"
    assert [d.page_content for d in vs.similarity_search("apple", k=5, tenant="bob")] == [
        "banana"
    ]


def test_unknown_keyword_arguments_are_rejected(vs: EmbedweaveVectorStore) -> None:
    with pytest.raises(TypeError, match="filters"):
        vs.similarity_search("apple", filters={"fruit": "apple"})
    with pytest.raises(TypeError, match="namespace"):
        vs.add_texts(["x"], namespace="y")


def test_bad_input_is_named(emb: Any) -> None:
    vs = EmbedweaveVectorStore(emb)
    with pytest.raises(ValueError, match="2 metadatas for 1 texts"):
        vs.add_texts(["a"], metadatas=[{}, {}])
    with pytest.raises(ValueError, match="alpha"):
        vs.similarity_search("apple", alpha=2.0)
    with pytest.raises(TypeError, match="LangChain Embeddings"):
        EmbedweaveVectorStore("not embeddings")  # type: ignore[arg-type]


def test_does_not_mutate_input_metadata(emb: Any) -> None:
    vs = EmbedweaveVectorStore(emb)
    meta = {"fruit": "apple"}
    vs.add_texts(["apple"], metadatas=[meta], ids=["a"])
    vs.get_by_ids(["a"])[0].metadata["fruit"] = "changed"
    assert meta == {"fruit": "apple"}
    assert vs.get_by_ids(["a"])[0].metadata == {"fruit": "apple"}


def test_given_store_space_and_dims_are_checked(emb: Any) -> None:
    wrong = MemoryStore([VectorSpace("default", "x", "f", dims=3)])
    vs = EmbedweaveVectorStore(emb, store=wrong)
    with pytest.raises(ValueError, match="shape"):
        vs.add_texts(["apple"])
    two = MemoryStore([VectorSpace("a", "x", "f", 5), VectorSpace("b", "x", "f", 5)])
    with pytest.raises(ValueError, match="space="):
        EmbedweaveVectorStore(emb, store=two)
    assert EmbedweaveVectorStore(emb, store=two, space="b").space == "b"


def test_connection_arguments_need_a_collection(emb: Any) -> None:
    with pytest.raises(ValueError, match="need collection="):
        EmbedweaveVectorStore(emb, url="http://127.0.0.1:8080")
    with pytest.raises(ValueError, match="not both"):
        EmbedweaveVectorStore(
            emb, store=MemoryStore([VectorSpace("default", "x", "f", 5)]), collection="Docs"
        )


def test_foreign_fingerprint_depends_on_class_and_dims(keyword_embeddings: Any) -> None:
    a = EmbedweaveVectorStore(keyword_embeddings(["x"]))
    b = EmbedweaveVectorStore(keyword_embeddings(["x", "y"]))
    a.add_texts(["x"])
    b.add_texts(["x"])
    assert a.store is not None and b.store is not None
    sa, sb = a.store.spaces["default"], b.store.spaces["default"]
    assert sa.dims == 2 and sb.dims == 3
    assert sa.fingerprint != sb.fingerprint
    assert "_KeywordEmbeddings" in sa.model
    with pytest.raises(SpaceMismatchError):
        sb.check_compatible(sa, "c")


def test_from_texts_and_as_retriever(emb: Any) -> None:
    vs = EmbedweaveVectorStore.from_texts(
        ["apple", "banana", "cherry"], emb, metadatas=[{"i": 0}, {"i": 1}, {"i": 2}]
    )
    retriever = vs.as_retriever(search_kwargs={"k": 1, "filter": {"i": {"$gt": 0}}})
    assert [d.page_content for d in retriever.invoke("apple banana")] == ["banana"]
    mmr = vs.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 3})
    assert len(mmr.invoke("apple")) == 2
    thr = vs.as_retriever(
        search_type="similarity_score_threshold", search_kwargs={"score_threshold": 0.99}
    )
    assert [d.page_content for d in thr.invoke("cherry")] == ["cherry"]


async def test_async_variants(emb: Any) -> None:
    vs = await EmbedweaveVectorStore.afrom_texts(
        ["apple", "banana"], emb, metadatas=[{"f": "a"}, {"f": "b"}], ids=["a", "b"]
    )
    assert [d.id for d in await vs.asimilarity_search("banana", k=1)] == ["b"]
    scored = await vs.asimilarity_search_with_relevance_scores("banana", k=2)
    assert scored[0][1] == pytest.approx(1.0, abs=1e-4)
    assert [d.id for d in await vs.asimilarity_search_by_vector(emb.embed_query("a"), k=1)]
    assert len(await vs.amax_marginal_relevance_search("apple", k=2, fetch_k=2)) == 2
    assert [d.id for d in await vs.aget_by_ids(["b"])] == ["b"]
    await vs.adelete(["b"])
    assert await vs.aget_by_ids(["b"]) == []
