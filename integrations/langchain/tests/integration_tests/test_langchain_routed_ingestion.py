"""Multilingual routing through LangChain's own flows, on Weaviate.

``EmbedweaveVectorStore.from_documents(..., router=...)`` writes each text into its
language's space plus the shared space (the core ``Index``); ``as_retriever()`` routes
each question and fuses per-space results (the core ``Retriever``). Corpus: the
multilingual example (six languages; each question in another language than its passage).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from embedweave.errors import SpaceMismatchError
from embedweave.pipeline import Retriever
from embedweave.routing import Router
from embedweave.store.memory import MemoryStore
from langchain_core.documents import Document

from langchain_embedweave import EmbedweaveEmbeddings, EmbedweaveVectorStore

pytestmark = pytest.mark.weaviate

Example = dict[str, Any]


def _documents(corpus: list[dict[str, Any]]) -> list[Document]:
    return [
        Document(id=p["id"], page_content=f"{p['title']}. {p['text']}",
                 metadata={"title": p["title"]})
        for p in corpus
    ]


@pytest.fixture(scope="module")
def router(minilm: Any, multilingual: Example) -> Router:
    return Router.from_yaml(multilingual["routes"], embedders={"minilm": minilm})


@pytest.fixture(scope="module")
def vs(
    router: Router, weaviate_server: Any, multilingual: Example
) -> Iterator[EmbedweaveVectorStore]:
    store = EmbedweaveVectorStore.from_documents(
        _documents(multilingual["corpus"]),
        EmbedweaveEmbeddings(router=router),
        router=router,
        collection="LcRouted" + uuid.uuid4().hex[:8],
        server=weaviate_server,
    )
    try:
        yield store
    finally:
        store.delete_collection()


def test_from_documents_routes_each_text(
    vs: EmbedweaveVectorStore, multilingual: Example
) -> None:
    store = vs.store
    assert store is not None and vs.space == "use_multilingual"
    lang = {p["id"]: p["language"] for p in multilingual["corpus"]}
    ids = list(lang)
    assert [d.id for d in vs.get_by_ids(ids)] == ids  # LangChain's ids, kept
    assert set(store.get_vectors(ids, space="use_multilingual")) == set(ids)
    assert set(store.get_vectors(ids, space="minilm")) == {i for i in ids if lang[i] == "en"}
    assert {c.id: c.language for c in store.get(ids)} == lang


def test_as_retriever_is_the_core_routed_retrieval(
    vs: EmbedweaveVectorStore, router: Router, multilingual: Example
) -> None:
    questions = multilingual["questions"]
    assert vs.store is not None
    retriever = vs.as_retriever(search_kwargs={"k": 3})
    core = Retriever(vs.store, router, k=3)
    found = 0
    for q in questions:
        ids = [d.id for d in retriever.invoke(q["query"])]
        assert ids == [h.chunk.id for h in core.retrieve(q["query"])]
        found += q["relevant"] in ids
    assert found == len(questions) == 12


async def test_async_filters_and_hybrid(
    vs: EmbedweaveVectorStore, router: Router, multilingual: Example
) -> None:
    corpus, questions = multilingual["corpus"], multilingual["questions"]
    assert vs.store is not None
    retriever = vs.as_retriever(search_kwargs={"k": 3})
    for q in questions[:4]:
        docs = await retriever.ainvoke(q["query"])
        assert [d.id for d in docs] == [d.id for d in retriever.invoke(q["query"])]
    q, other = questions[0], questions[1]["relevant"]
    title = next(p["title"] for p in corpus if p["id"] == other)
    docs = vs.similarity_search(q["query"], k=3, filter={"title": title})
    assert [d.id for d in docs] == [other]
    hybrid = await vs.asimilarity_search_with_score(q["query"], k=3, alpha=0.7)
    core = Retriever(vs.store, router, mode="hybrid", alpha=0.7, k=3).retrieve(q["query"])
    assert [d.id for d, _ in hybrid] == [h.chunk.id for h in core]
    assert [s for _, s in hybrid] == pytest.approx([h.score for h in core])
    with pytest.raises(NotImplementedError, match="fuses the ranks"):
        vs.similarity_search_with_relevance_scores(q["query"], k=3)


async def test_async_add_and_delete(router: Router, multilingual: Example) -> None:
    corpus, questions = multilingual["corpus"], multilingual["questions"]
    emb = EmbedweaveEmbeddings(router=router)
    vs = await EmbedweaveVectorStore.afrom_documents(_documents(corpus[:3]), emb, router=router)
    assert vs.store is not None and vs.store.count() == 3
    assert set(vs.store.get_vectors([corpus[0]["id"]], space="minilm")) == {corpus[0]["id"]}
    vs.delete([corpus[0]["id"]])
    assert vs.store.count() == 2
    # by-vector search uses the embeddings' space, the shared one
    vec = emb.embed_query(questions[0]["query"])
    assert len(vs.similarity_search_by_vector(vec, k=2)) == 2


def test_router_needs_its_own_embeddings(router: Router, minilm: Any) -> None:
    with pytest.raises(TypeError, match="EmbedweaveEmbeddings"):
        EmbedweaveVectorStore(EmbedweaveEmbeddings(embedder=minilm), router=router)
    with pytest.raises(ValueError, match="distance"):
        EmbedweaveVectorStore(EmbedweaveEmbeddings(router=router), router=router,
                              distance="dot")
    other = Router({"routes": {"en": "minilm"}, "shared": "wordllama-256"})
    with pytest.raises(ValueError, match="router's record"):
        EmbedweaveVectorStore(EmbedweaveEmbeddings(router=other), router=router)
    with pytest.raises(SpaceMismatchError, match="no space"):
        EmbedweaveVectorStore(
            EmbedweaveEmbeddings(router=router), router=router,
            store=MemoryStore([router.vector_space("minilm")]),
        )
