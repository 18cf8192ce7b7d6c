"""Multilingual routing through LlamaIndex's own ingestion and query flows, on Weaviate.

``VectorStoreIndex.from_documents`` / ``IngestionPipeline`` write into
``EmbedweaveVectorStore(router=...)``; ``as_retriever()`` / ``as_query_engine()`` query it.
The corpus is the multilingual example (six languages, examples/data/multilingual): each
question is asked in another language than its passage, routed like the example's
``routes.yaml`` (English -> MiniLM, others -> USE, all also into the shared USE space).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.llms import MockLLM
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.vector_stores.types import MetadataFilters
from llama_index.embeddings.embedweave import EmbedweaveEmbedding
from llama_index.vector_stores.embedweave import EmbedweaveVectorStore

from embedweave.pipeline import Retriever
from embedweave.routing import Router

pytestmark = pytest.mark.weaviate

Example = dict[str, Any]


@pytest.fixture(scope="module")
def router(embed_model: Any, multilingual: Example) -> Router:
    return Router.from_yaml(multilingual["routes"], embedders={"minilm": embed_model.embedder})


def _documents(corpus: list[dict[str, Any]]) -> list[Document]:
    return [
        Document(text=f"{p['title']}. {p['text']}", doc_id=p["id"], metadata={"title": p["title"]})
        for p in corpus
    ]


@pytest.fixture(scope="module")
def built(
    router: Router, weaviate_server: Any, multilingual: Example
) -> Iterator[tuple[VectorStoreIndex, Any]]:
    """The corpus indexed by ``VectorStoreIndex.from_documents`` into a routed store."""
    vs = EmbedweaveVectorStore(
        router=router, collection="LiRouted" + uuid.uuid4().hex[:8], server=weaviate_server
    )
    index = VectorStoreIndex.from_documents(
        _documents(multilingual["corpus"]),
        storage_context=StorageContext.from_defaults(vector_store=vs),
        embed_model=EmbedweaveEmbedding(router=router),
    )
    try:
        yield index, vs
    finally:
        vs.store.drop()
        vs.close()


def test_add_routes_each_node_by_language(
    built: tuple[VectorStoreIndex, Any], multilingual: Example
) -> None:
    corpus = multilingual["corpus"]
    _, vs = built
    store = vs.store
    assert vs.space_name == "use_multilingual"  # single-vector space: the shared one
    assert vs.is_embedding_query is False  # LlamaIndex hands the store the query text
    chunks = list(store.iter_chunks())
    assert sorted(c.document_id for c in chunks) == sorted(p["id"] for p in corpus)
    lang = {p["id"]: p["language"] for p in corpus}
    ids = [c.id for c in chunks]
    in_minilm = set(store.get_vectors(ids, space="minilm"))
    in_use = set(store.get_vectors(ids, space="use_multilingual"))
    assert in_use == set(ids)  # every node is in the shared space
    assert in_minilm == {c.id for c in chunks if lang[c.document_id] == "en"}
    assert all(c.language == lang[c.document_id] for c in chunks)
    # node ids are LlamaIndex's: nodes come back by id
    got = vs.get_nodes(node_ids=ids[:2])
    assert [n.node_id for n in got] == ids[:2]


def test_as_retriever_is_the_core_routed_retrieval(
    built: tuple[VectorStoreIndex, Any], router: Router, multilingual: Example
) -> None:
    questions = multilingual["questions"]
    index, vs = built
    retriever = index.as_retriever(similarity_top_k=3)
    core = Retriever(vs.store, router, k=3)
    found = 0
    for q in questions:
        nodes = retriever.retrieve(q["query"])
        ids = [n.node.ref_doc_id for n in nodes]
        assert ids == [h.chunk.document_id for h in core.retrieve(q["query"])]
        assert [n.score for n in nodes] == pytest.approx(
            [h.score for h in core.retrieve(q["query"])]
        )
        found += q["relevant"] in ids
    assert found == len(questions) == 12


@pytest.mark.asyncio
async def test_query_engine_and_async_retrieval(
    built: tuple[VectorStoreIndex, Any], multilingual: Example
) -> None:
    questions = multilingual["questions"]
    index, _ = built
    engine = index.as_query_engine(llm=MockLLM(), similarity_top_k=3)
    retriever = index.as_retriever(similarity_top_k=3)
    for q in questions:
        response = engine.query(q["query"])
        ids = [n.node.ref_doc_id for n in response.source_nodes]
        assert q["relevant"] in ids
        anodes = await retriever.aretrieve(q["query"])
        assert [n.node.ref_doc_id for n in anodes] == ids
    response = await engine.aquery(questions[0]["query"])
    assert questions[0]["relevant"] in [n.node.ref_doc_id for n in response.source_nodes]


def test_filters_and_hybrid_through_the_router(
    built: tuple[VectorStoreIndex, Any], router: Router, multilingual: Example
) -> None:
    corpus, questions = multilingual["corpus"], multilingual["questions"]
    index, vs = built
    q = questions[0]
    title = next(p["title"] for p in corpus if p["id"] == questions[1]["relevant"])
    flt = MetadataFilters.from_dicts([{"key": "title", "value": title}])
    nodes = index.as_retriever(similarity_top_k=3, filters=flt).retrieve(q["query"])
    assert [n.node.ref_doc_id for n in nodes] == [questions[1]["relevant"]]
    hybrid = index.as_retriever(
        similarity_top_k=3, vector_store_query_mode="hybrid", alpha=0.7
    ).retrieve(q["query"])
    core = Retriever(vs.store, router, mode="hybrid", alpha=0.7, k=3).retrieve(q["query"])
    assert [n.node.ref_doc_id for n in hybrid] == [h.chunk.document_id for h in core]


@pytest.mark.asyncio
async def test_ingestion_pipeline_writes_routed(
    router: Router, weaviate_server: Any, multilingual: Example
) -> None:
    corpus, questions = multilingual["corpus"], multilingual["questions"]
    vs = EmbedweaveVectorStore(
        router=router, collection="LiPipe" + uuid.uuid4().hex[:8], server=weaviate_server
    )
    try:
        pipeline = IngestionPipeline(
            transformations=[SentenceSplitter(chunk_size=512), EmbedweaveEmbedding(router=router)],
            vector_store=vs,
        )
        nodes = await pipeline.arun(documents=_documents(corpus))
        assert vs.store.count() == len(nodes) >= len(corpus)
        embed_model = EmbedweaveEmbedding(router=router)
        index = VectorStoreIndex.from_vector_store(vs, embed_model=embed_model)
        retriever = index.as_retriever(similarity_top_k=3)
        found = sum(
            q["relevant"] in [n.node.ref_doc_id for n in retriever.retrieve(q["query"])]
            for q in questions
        )
        assert found == len(questions)
        vs.delete(corpus[0]["id"])  # deletes by document, as without routing
        assert {c.document_id for c in vs.store.iter_chunks()} == {p["id"] for p in corpus[1:]}
    finally:
        vs.store.drop()
        vs.close()


def test_router_settings_are_checked(router: Router) -> None:
    from embedweave.store.memory import MemoryStore

    with pytest.raises(ValueError, match="spaces are the router's"):
        EmbedweaveVectorStore(MemoryStore(router.vector_spaces()), router=router, dims=3,
                              fingerprint="x")
    vs = EmbedweaveVectorStore(
        MemoryStore(router.vector_spaces()), router=router, space_name="minilm"
    )
    assert vs.space == router.vector_space("minilm")
    with pytest.raises(ValueError, match="space_name 'nope' is not one of the router's spaces"):
        EmbedweaveVectorStore(MemoryStore(router.vector_spaces()), router=router,
                              space_name="nope")
