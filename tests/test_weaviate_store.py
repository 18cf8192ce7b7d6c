"""WeaviateStore against a real Weaviate server (no mocks)."""

from __future__ import annotations

import numpy as np
import pytest

from embedweave.errors import BatchWriteError, SpaceMismatchError
from embedweave.filters import Condition, Filter
from embedweave.store import MemoryStore, VectorSpace
from embedweave.store.config import HnswConfig
from embedweave.store.weaviate import WeaviateStore
from embedweave.types import Chunk

DIMS = 16
SPACE = VectorSpace("dense", model="test-model", fingerprint="fp-a", dims=DIMS)

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


def _unit(rng: np.random.Generator, n: int, dims: int = DIMS) -> np.ndarray:
    v = rng.normal(size=(n, dims)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _corpus(n: int = 40, seed: int = 0) -> tuple[list[Chunk], np.ndarray]:
    rng = np.random.default_rng(seed)
    chunks = []
    for i in range(n):
        words = rng.choice(WORDS, size=6).tolist()
        chunks.append(Chunk(
            document_id=f"doc{i % 8}", index=i // 8, text=" ".join(words),
            metadata={"year": 2000 + i % 5, "topic": ["a", "b"][i % 2], "score": i / 10},
        ))
    return chunks, _unit(rng, n)


@pytest.fixture
def store(weaviate_server, collection_name):
    s = WeaviateStore(collection_name, [SPACE], server=weaviate_server)
    yield s
    s.drop()
    s.close()


def test_reingest_is_idempotent(store):
    chunks, vecs = _corpus()
    store.upsert(chunks, {"dense": vecs})
    assert store.count() == len(chunks)
    # Same ids, new text: overwritten, not duplicated.
    changed = [Chunk(c.document_id, c.index, c.text + " omega", c.metadata) for c in chunks]
    store.upsert(changed, {"dense": vecs})
    assert store.count() == len(chunks)
    got = store.get([changed[3].id])
    assert got[0].text.endswith("omega")


def test_vector_search_scores_are_cosine_and_match_exact(store):
    chunks, vecs = _corpus()
    store.upsert(chunks, {"dense": vecs})
    exact = MemoryStore([SPACE])
    exact.upsert(chunks, {"dense": vecs})
    q = _unit(np.random.default_rng(9), 1)[0]
    hits = store.search(q, space="dense", k=5)
    ref = exact.search(q, space="dense", k=5)
    assert [h.id for h in hits] == [h.id for h in ref]
    for h, r in zip(hits, ref, strict=True):
        assert -1.0 <= h.score <= 1.0
        assert h.score == pytest.approx(r.score, abs=1e-4)
    # The query itself as a stored vector scores ~1.
    top = store.search(vecs[7], space="dense", k=1)[0]
    assert top.id == chunks[7].id and top.score == pytest.approx(1.0, abs=1e-4)


def test_filters(store):
    chunks, vecs = _corpus()
    store.upsert(chunks, {"dense": vecs})
    q = vecs[0]
    hits = store.search(q, space="dense", k=40, filters={"topic": "a"})
    assert hits and all(h.chunk.metadata["topic"] == "a" for h in hits)
    assert len(hits) == 20
    hits = store.search(q, space="dense", k=40, filters={"year": {"$gte": 2003}})
    assert {h.chunk.metadata["year"] for h in hits} == {2003, 2004}
    flt = Filter((Condition("year", "eq", 2001), Condition("topic", "eq", "a")), combine="or")
    hits = store.search(q, space="dense", k=40, filters=flt)
    assert all(h.chunk.metadata["year"] == 2001 or h.chunk.metadata["topic"] == "a"
               for h in hits)
    assert len(hits) == 20 + 4
    hits = store.keyword_search("alpha", k=40, filters={"document_id": ["doc1", "doc2"]})
    assert hits and {h.chunk.document_id for h in hits} <= {"doc1", "doc2"}
    assert store.search(q, space="dense", k=5, filters={"nokey": "x"}) == []
    hits = store.search(q, space="dense", k=40, filters={"score": {"$lt": 1}})
    assert len(hits) == 10
    # The same filter selects the same chunks in the exact store.
    exact = MemoryStore([SPACE])
    exact.upsert(chunks, {"dense": vecs})
    for flt in ({"topic": "b", "year": {"$lte": 2002}}, {"topic": {"$contains": "a"}}):
        assert {c.id for c in store.get_where(flt)} == {c.id for c in exact.get_where(flt)}


def test_properties_are_indexed_only_for_what_reads_them(store):
    # every inverted index is server work per write: text is searchable only, the ids
    # and hashes that are only read back are not indexed; filtered fields stay filterable
    props = {p.name: p for p in store._collection.config.get().properties}
    assert props["text"].index_searchable and not props["text"].index_filterable
    for name in ("chunk_id", "content_hash", "metadata_json"):
        assert not props[name].index_filterable and not props[name].index_searchable
    for name in ("document_id", "language", "chunk_index"):
        assert props[name].index_filterable
    chunks, vecs = _corpus()
    store.upsert(chunks, {"dense": vecs})
    assert store.keyword_search("alpha", k=1)  # BM25 over text still works
    listed = store.document_chunks(["doc1"])["doc1"]
    assert set(listed) == {c.id for c in chunks if c.document_id == "doc1"}
    hits = store.search(vecs[0], space="dense", k=40,
                        filters={"document_id": "doc1", "chunk_index": {"$gte": 1}})
    assert hits and all(h.chunk.document_id == "doc1" and h.chunk.index >= 1 for h in hits)


def test_hybrid_alpha_extremes_match_pure_rankings(store):
    chunks, vecs = _corpus()
    store.upsert(chunks, {"dense": vecs})
    q = _unit(np.random.default_rng(3), 1)[0]
    kw = store.keyword_search("gamma delta", k=40)
    bm25 = {h.id: round(h.score, 4) for h in kw}
    h0 = store.hybrid_search("gamma delta", q, space="dense", alpha=0.0, k=10)
    # Same ranking as pure BM25 (equal BM25 scores may swap places).
    assert [bm25[h.id] for h in h0] == [round(h.score, 4) for h in kw[:10]]
    assert len({h.score for h in kw[:10]}) > 3  # the check above is not vacuous
    vec = store.search(q, space="dense", k=10)
    h1 = store.hybrid_search("gamma delta", q, space="dense", alpha=1.0, k=10)
    assert [h.id for h in h1] == [h.id for h in vec]
    with pytest.raises(ValueError, match="alpha"):
        store.hybrid_search("x", q, space="dense", alpha=1.5)


def test_failed_objects_are_all_reported(store):
    from weaviate.classes.data import DataObject

    good = DataObject(properties={"text": "fine", "document_id": "d", "chunk_index": 0,
                                  "chunk_id": "ok"}, vector={"dense": [0.1] * DIMS})
    bad = [DataObject(properties={"text": "x", "document_id": "d", "chunk_index": "nope",
                                  "chunk_id": f"bad{i}"}, vector={"dense": [0.1] * DIMS})
           for i in range(3)]
    with pytest.raises(BatchWriteError) as err:
        store._write([good, *bad], None)
    assert [f.id for f in err.value.failures] == ["bad0", "bad1", "bad2"]
    assert "3 of 4 objects failed" in str(err.value)
    assert all(f.message for f in err.value.failures)


def test_bad_input_writes_nothing(store):
    chunks, vecs = _corpus(4)
    with pytest.raises(ValueError, match=r"shape \(4, 16\)"):
        store.upsert(chunks, {"dense": vecs[:, :8]})
    vecs[2, 0] = np.nan
    with pytest.raises(ValueError, match="index 2"):
        store.upsert(chunks, {"dense": vecs})
    with pytest.raises(ValueError, match="unknown vector space"):
        store.upsert(chunks, {"other": vecs})
    assert store.count() == 0


def test_space_mismatch_names_both_models(weaviate_server, collection_name):
    s = WeaviateStore(collection_name, [SPACE], server=weaviate_server)
    try:
        other = VectorSpace("dense", model="other-model", fingerprint="fp-b", dims=DIMS)
        with pytest.raises(SpaceMismatchError, match=r"test-model.*other-model"):
            WeaviateStore(collection_name, [other], server=weaviate_server)
        wrong_dims = VectorSpace("dense", model="test-model", fingerprint="fp-a", dims=8)
        with pytest.raises(SpaceMismatchError, match="dims"):
            WeaviateStore(collection_name, [wrong_dims], server=weaviate_server)
        # Same space reopens; no space given adopts the recorded one.
        again = WeaviateStore(collection_name, [], server=weaviate_server)
        assert again.spaces["dense"] == SPACE
        again.close()
        with pytest.raises(SpaceMismatchError, match="8 dims"):
            s.search(np.ones(8), space="dense")
    finally:
        s.drop()
        s.close()


def test_delete_document_past_server_cap(store):
    n = 12_000
    rng = np.random.default_rng(1)
    big = [Chunk("big", i, f"chunk {i}") for i in range(n)]
    small = [Chunk("small", i, f"other {i}") for i in range(5)]
    store.batch_size = 1000
    store.upsert(big + small, {"dense": _unit(rng, n + 5)})
    assert store.count() == n + 5
    assert store.delete_documents(["big"]) == n
    assert store.count() == 5


def test_get_delete_by_arbitrary_ids(store):
    rng = np.random.default_rng(2)
    chunks = [Chunk("d", i, f"text {i}", id=f"my-id-{i}") for i in range(3)]
    store.upsert(chunks, {"dense": _unit(rng, 3)})
    got = store.get(["my-id-2", "missing", "my-id-0"])
    assert [c.id for c in got] == ["my-id-2", "my-id-0"]
    vecs = store.get_vectors(["my-id-1"], space="dense")
    assert vecs["my-id-1"].shape == (DIMS,)
    assert store.delete(["my-id-1"]) == 1
    assert store.count() == 2
    assert store.delete_where({"document_id": "d"}) == 2
    with pytest.raises(ValueError, match="same id"):
        store.upsert(chunks[:1] * 2, {"dense": _unit(rng, 2)})


def test_multi_tenancy(weaviate_server, collection_name):
    s = WeaviateStore(collection_name, [SPACE], server=weaviate_server, multi_tenancy=True)
    try:
        chunks, vecs = _corpus(6)
        s.upsert(chunks[:4], {"dense": vecs[:4]}, tenant="acme")
        s.upsert(chunks[4:], {"dense": vecs[4:]}, tenant="globex")
        assert s.count(tenant="acme") == 4 and s.count(tenant="globex") == 2
        hits = s.search(vecs[5], space="dense", k=10, tenant="acme")
        assert chunks[5].id not in {h.id for h in hits}
        with pytest.raises(ValueError, match="multi-tenant"):
            s.count()
        # A tenant never written to reads as empty, not as a server error.
        assert s.count(tenant="initech") == 0
        assert s.search(vecs[0], space="dense", k=3, tenant="initech") == []
        assert s.delete_documents(["doc1"], tenant="initech") == 0
        assert s.get([chunks[0].id], tenant="initech") == []
    finally:
        s.drop()
        s.close()


@pytest.mark.parametrize("quant", ["bq", "sq", "rq", "pq"])
def test_quantized_indexes_search(weaviate_server, collection_name, quant):
    s = WeaviateStore(collection_name, [SPACE], server=weaviate_server,
                      hnsw=HnswConfig(quantization=quant))
    try:
        chunks, vecs = _corpus(20)
        s.upsert(chunks, {"dense": vecs})
        assert s.search(vecs[4], space="dense", k=1)[0].id == chunks[4].id
        cfg = s._collection.config.get().vector_config["dense"].vector_index_config
        assert cfg.quantizer is not None
    finally:
        s.drop()
        s.close()


def test_named_vector_per_space(weaviate_server, collection_name):
    a = VectorSpace("small", model="m1", fingerprint="f1", dims=4)
    b = VectorSpace("large", model="m2", fingerprint="f2", dims=8)
    s = WeaviateStore(collection_name, [a, b], server=weaviate_server)
    try:
        rng = np.random.default_rng(5)
        chunks = [Chunk("d", i, f"t{i}") for i in range(5)]
        s.upsert(chunks, {"small": _unit(rng, 5, 4), "large": _unit(rng, 5, 8)})
        assert len(s.search(_unit(rng, 1, 4)[0], space="small", k=5)) == 5
        assert len(s.search(_unit(rng, 1, 8)[0], space="large", k=5)) == 5
        with pytest.raises(SpaceMismatchError):
            s.search(_unit(rng, 1, 4)[0], space="large", k=5)
    finally:
        s.drop()
        s.close()


def test_flat_space_beside_hnsw_for_funnel(weaviate_server, collection_name):
    full = VectorSpace("full", model="m", fingerprint="f", dims=8)
    low = VectorSpace("full_d4", model="m", fingerprint="f:4", dims=4)
    s = WeaviateStore(collection_name, [full, low], server=weaviate_server,
                      flat_spaces=["full"])
    try:
        cfg = s._collection.config.get().vector_config
        assert type(cfg["full"].vector_index_config).__name__.endswith("Flat")
        assert type(cfg["full_d4"].vector_index_config).__name__.endswith("HNSW")
        rng = np.random.default_rng(4)
        vecs = _unit(rng, 10, 8)
        chunks = [Chunk("d", i, f"t{i}") for i in range(10)]
        s.upsert(chunks, {"full": vecs, "full_d4": vecs[:, :4]})
        assert s.search(vecs[3], space="full", k=1)[0].id == chunks[3].id
        with pytest.raises(ValueError, match="not among the given spaces"):
            WeaviateStore(collection_name, [full], server=weaviate_server, flat_spaces=["x"])
    finally:
        s.drop()
        s.close()


@pytest.mark.parametrize("hnsw", [
    HnswConfig(),
    HnswConfig(ef_construction=48, max_connections=20, dynamic_ef_min=64,
               dynamic_ef_max=300, dynamic_ef_factor=5),
], ids=["defaults", "custom"])
def test_hnsw_settings_reach_the_live_collection(weaviate_server, collection_name, hnsw):
    """What ``HnswConfig`` says (defaults included) is what the server builds with."""
    s = WeaviateStore(collection_name, [SPACE], server=weaviate_server, hnsw=hnsw)
    try:
        cfg = s._collection.config.get().vector_config["dense"].vector_index_config
        got = (cfg.ef, cfg.ef_construction, cfg.max_connections, cfg.dynamic_ef_min,
               cfg.dynamic_ef_max, cfg.dynamic_ef_factor)
        assert got == (hnsw.ef, hnsw.ef_construction, hnsw.max_connections,
                       hnsw.dynamic_ef_min, hnsw.dynamic_ef_max, hnsw.dynamic_ef_factor)
    finally:
        s.drop()
        s.close()
