"""``EmbedweaveVectorStore`` against the real Weaviate server and the real MiniLM."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import BaseNode, MetadataMode, NodeRelationship, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from llama_index.vector_stores.embedweave import EmbedweaveVectorStore

from embedweave.errors import SpaceMismatchError
from embedweave.store import MemoryStore

pytestmark = pytest.mark.weaviate

PREFIX = "LiVectorStore"


def _name() -> str:
    return f"{PREFIX}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def embedded_nodes(embed_model: Any, corpus: list[Any]) -> list[BaseNode]:
    """The corpus split into ~2-3 nodes per document, embedded once for the module."""
    docs = [Document(text=t, doc_id=d, metadata=dict(m)) for d, t, m in corpus]
    nodes = SentenceSplitter(chunk_size=40, chunk_overlap=0).get_nodes_from_documents(docs)
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    vecs = embed_model.get_text_embedding_batch(texts)
    for n, v in zip(nodes, vecs, strict=True):
        n.embedding = v
    return nodes


def _copies(nodes: list[BaseNode]) -> list[BaseNode]:
    return [n.model_copy(deep=True) for n in nodes]


@pytest.fixture
def fresh(weaviate_server: Any, embed_model: Any) -> Iterator[EmbedweaveVectorStore]:
    """An empty vector store on a new collection."""
    vs = EmbedweaveVectorStore(collection=_name(), server=weaviate_server, embed_model=embed_model)
    yield vs
    vs.store.drop()
    vs.close()


@pytest.fixture(scope="module")
def loaded(
    weaviate_server: Any, embed_model: Any, embedded_nodes: list[BaseNode]
) -> Iterator[EmbedweaveVectorStore]:
    """A vector store holding the whole corpus (read-only tests)."""
    vs = EmbedweaveVectorStore(collection=_name(), server=weaviate_server, embed_model=embed_model)
    vs.add(_copies(embedded_nodes))
    yield vs
    vs.store.drop()
    vs.close()


def _query(embed_model: Any, text: str, **kw: Any) -> VectorStoreQuery:
    return VectorStoreQuery(
        query_embedding=embed_model.get_query_embedding(text), query_str=text, **kw
    )


def test_add_is_idempotent_and_round_trips_nodes(
    loaded: EmbedweaveVectorStore, embedded_nodes: list[BaseNode]
) -> None:
    assert loaded.store.count() == len(embedded_nodes) >= 10
    loaded.add(_copies(embedded_nodes))  # same node ids: overwritten, not duplicated
    assert loaded.store.count() == len(embedded_nodes)
    original = embedded_nodes[1]
    (got,) = loaded.get_nodes([original.node_id])
    assert isinstance(got, TextNode)
    assert got.node_id == original.node_id and got.get_content() == original.get_content()
    assert got.metadata == original.metadata and got.ref_doc_id == original.ref_doc_id
    for rel in (NodeRelationship.PREVIOUS, NodeRelationship.NEXT):
        if rel in original.relationships:
            assert got.relationships[rel].node_id == original.relationships[rel].node_id


def test_vector_query_scores_are_cosine_similarities(
    loaded: EmbedweaveVectorStore, embed_model: Any, embedded_nodes: list[BaseNode]
) -> None:
    q = _query(embed_model, "How do volcanoes erupt?", similarity_top_k=4)
    res = loaded.query(q)
    assert res.nodes and res.nodes[0].ref_doc_id == "volcano"
    by_id = {n.node_id: np.asarray(n.embedding) for n in embedded_nodes}
    qv = np.asarray(q.query_embedding)
    for node_id, score in zip(res.ids, res.similarities, strict=True):
        assert score == pytest.approx(float(by_id[node_id] @ qv), abs=1e-4)
    assert res.similarities == sorted(res.similarities, reverse=True)


def test_text_search_is_bm25(loaded: EmbedweaveVectorStore, embed_model: Any) -> None:
    q = _query(embed_model, "saturation and length normalisation", similarity_top_k=3,
               mode=VectorStoreQueryMode.TEXT_SEARCH)
    res = loaded.query(q)
    assert res.nodes and res.nodes[0].ref_doc_id == "bm25"
    assert all(s > 0 for s in res.similarities)


def test_hybrid_alpha_is_honoured_exactly(loaded: EmbedweaveVectorStore, embed_model: Any) -> None:
    text = "pressure"  # one word that only the espresso text contains
    bm25 = loaded.query(_query(embed_model, text, similarity_top_k=5,
                               mode=VectorStoreQueryMode.TEXT_SEARCH))
    vector = loaded.query(_query(embed_model, text, similarity_top_k=5))
    alpha0 = loaded.query(_query(embed_model, text, similarity_top_k=5,
                                 mode=VectorStoreQueryMode.HYBRID, alpha=0.0))
    alpha1 = loaded.query(_query(embed_model, text, similarity_top_k=5,
                                 mode=VectorStoreQueryMode.HYBRID, alpha=1.0))
    half = loaded.query(_query(embed_model, text, similarity_top_k=5,
                               mode=VectorStoreQueryMode.HYBRID))  # alpha unset: default 0.5
    # alpha=0 is pure BM25: only the nodes containing the word, nothing from the vector side.
    assert alpha0.ids == bm25.ids and len(bm25.ids) < 5
    assert all("pressure" in n.get_content() for n in alpha0.nodes)
    assert alpha1.ids == vector.ids
    assert len(half.ids) == 5 and set(bm25.ids) <= set(half.ids)
    for res in (alpha0, alpha1, half):
        assert all(0.0 <= s <= 1.0 + 1e-6 for s in res.similarities)
        assert res.similarities[0] == pytest.approx(max(res.similarities))


def test_metadata_filters_and_doc_ids(loaded: EmbedweaveVectorStore, embed_model: Any) -> None:
    def run(filters: MetadataFilters | None = None, **kw: Any) -> list[BaseNode]:
        q = _query(embed_model, "energy and pressure", similarity_top_k=20, filters=filters, **kw)
        return list(loaded.query(q).nodes or [])

    biology = run(MetadataFilters(filters=[MetadataFilter(key="topic", value="biology")]))
    assert biology and {n.metadata["topic"] for n in biology} == {"biology"}
    either = run(MetadataFilters(
        filters=[MetadataFilter(key="topic", value="food"),
                 MetadataFilter(key="topic", value="geology")],
        condition=FilterCondition.OR,
    ))
    assert {n.ref_doc_id for n in either} == {"espresso", "volcano"}
    recent = run(MetadataFilters(filters=[
        MetadataFilter(key="year", value=1990, operator=FilterOperator.GT),
        MetadataFilter(key="topic", value=["search"], operator=FilterOperator.IN),
    ]))
    assert {n.ref_doc_id for n in recent} == {"hnsw", "bm25"}
    by_doc = run(doc_ids=["hnsw"])
    assert by_doc and {n.ref_doc_id for n in by_doc} == {"hnsw"}
    by_key = run(MetadataFilters(filters=[MetadataFilter(key="ref_doc_id", value="bm25")]))
    assert by_key and {n.ref_doc_id for n in by_key} == {"bm25"}
    filtered = loaded.get_nodes(filters=MetadataFilters(
        filters=[MetadataFilter(key="topic", value="biology")]))
    assert {n.node_id for n in filtered} == {n.node_id for n in biology}


def test_deletes_and_clear(fresh: EmbedweaveVectorStore, embedded_nodes: list[BaseNode]) -> None:
    fresh.add(_copies(embedded_nodes))
    total = len(embedded_nodes)
    volcano = [n.node_id for n in embedded_nodes if n.ref_doc_id == "volcano"]
    assert len(volcano) >= 2
    fresh.delete("volcano")
    assert fresh.store.count() == total - len(volcano)
    assert fresh.get_nodes(volcano) == []

    hnsw = [n.node_id for n in embedded_nodes if n.ref_doc_id == "hnsw"]
    fresh.delete_nodes([hnsw[0]])
    assert [n.node_id for n in fresh.get_nodes(hnsw)] == hnsw[1:]

    # ids and filter together: only the ids that match the filter go.
    bio = [n.node_id for n in embedded_nodes if n.ref_doc_id == "photosynthesis"]
    food = [n.node_id for n in embedded_nodes if n.ref_doc_id == "espresso"]
    fresh.delete_nodes(bio + food, filters=MetadataFilters(
        filters=[MetadataFilter(key="topic", value="biology")]))
    assert fresh.get_nodes(bio) == [] and len(fresh.get_nodes(food)) == len(food)

    fresh.delete_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="topic", value="food")]))
    assert fresh.get_nodes(food) == []

    fresh.clear()
    assert fresh.store.count() == 0
    fresh.add(_copies(embedded_nodes[:2]))  # still usable after clear
    assert fresh.store.count() == 2


@pytest.mark.asyncio
async def test_async_variants(
    fresh: EmbedweaveVectorStore, embedded_nodes: list[BaseNode], embed_model: Any
) -> None:
    ids = await fresh.async_add(_copies(embedded_nodes))
    assert ids == [n.node_id for n in embedded_nodes]
    q = VectorStoreQuery(
        query_embedding=await embed_model.aget_query_embedding("light energy in chloroplasts"),
        similarity_top_k=2,
    )
    res = await fresh.aquery(q)
    assert res.nodes and res.nodes[0].ref_doc_id == "photosynthesis"
    got = await fresh.aget_nodes(ids[:2])
    assert [n.node_id for n in got] == ids[:2]
    await fresh.adelete_nodes(ids[:1])
    assert fresh.store.count() == len(ids) - 1
    await fresh.adelete("photosynthesis")
    assert not any(n.ref_doc_id == "photosynthesis"
                   for n in await fresh.aget_nodes(ids))
    await fresh.aclear()
    assert fresh.store.count() == 0


def test_space_is_recorded_and_enforced(weaviate_server: Any, embed_model: Any) -> None:
    name = _name()
    vs = EmbedweaveVectorStore(collection=name, server=weaviate_server, embed_model=embed_model)
    try:
        data = vs.to_dict()
        assert (data["url"], data["grpc_port"]) == (weaviate_server.url, weaviate_server.grpc_port)
        assert (data["space_name"], data["dims"]) == ("minilm", 384)
        assert data["fingerprint"] == embed_model.embedder.fingerprint
        with pytest.raises(SpaceMismatchError, match="fingerprint"):
            EmbedweaveVectorStore(
                collection=name, server=weaviate_server, space_name="minilm",
                dims=384, fingerprint="another-model",
            )
        node = TextNode(text="x", embedding=[0.1] * 128)
        with pytest.raises(ValueError, match="384"):
            vs.add([node])
        with pytest.raises(ValueError, match="no embedding"):
            vs.add([TextNode(text="y")])
    finally:
        vs.store.drop()
        vs.close()


def test_foreign_embedding_space_over_url(weaviate_server: Any) -> None:
    vs = EmbedweaveVectorStore(
        collection=_name(), url=weaviate_server.url, grpc_port=weaviate_server.grpc_port,
        dims=4, fingerprint="toy-4d-v1", model_name="toy",
    )
    try:
        data = vs.to_dict()
        assert data["url"] == weaviate_server.url and data["dims"] == 4
        assert "api_key" not in data
        basis = np.eye(4, dtype=np.float32).tolist()
        nodes = [TextNode(id_=f"n{i}", text=f"axis {i}", embedding=basis[i]) for i in range(4)]
        vs.add(nodes)
        res = vs.query(VectorStoreQuery(query_embedding=[0.1, 0.0, 0.9, 0.1], similarity_top_k=1))
        assert res.ids == ["n2"]
        reopened = EmbedweaveVectorStore.from_dict(data)  # settings alone reconnect
        try:
            assert reopened.space == vs.space
            again = reopened.query(VectorStoreQuery(query_embedding=basis[3], similarity_top_k=1))
            assert again.ids == ["n3"]
        finally:
            reopened.close()
        with pytest.raises(ValueError, match="not supported"):
            vs.query(VectorStoreQuery(query_embedding=basis[0], mode=VectorStoreQueryMode.MMR))
        with pytest.raises(ValueError, match="node_ids"):
            vs.query(VectorStoreQuery(query_embedding=basis[0], node_ids=["n1"]))
    finally:
        vs.store.drop()
        vs.close()


def test_works_over_a_memory_store(embed_model: Any, embedded_nodes: list[BaseNode]) -> None:
    store = MemoryStore([embed_model.space()])
    vs = EmbedweaveVectorStore(store, embed_model=embed_model)
    vs.add(_copies(embedded_nodes))
    res = vs.query(_query(embed_model, "grind size of coffee", similarity_top_k=1))
    assert res.nodes and res.nodes[0].ref_doc_id == "espresso"
    vs.clear()
    assert store.count() == 0
    with pytest.raises(ValueError, match="not both"):
        EmbedweaveVectorStore(store, embed_model=embed_model, url="http://127.0.0.1:1")
