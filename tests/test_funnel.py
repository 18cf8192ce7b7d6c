"""Funnel search over the Store interface: MemoryStore, and WeaviateStore when available."""

from __future__ import annotations

import numpy as np
import pytest

from embedweave.embedding import Embedder
from embedweave.errors import SpaceMismatchError
from embedweave.funnel import (
    funnel_memory,
    funnel_search,
    low_space,
    low_vectors,
    with_low_vectors,
)
from embedweave.matryoshka import truncate
from embedweave.store import MemoryStore, VectorSpace
from embedweave.types import Chunk

FULL = VectorSpace("dense", model="test", fingerprint="fp-full", dims=32)


def _data(n: int = 200, seed: int = 0) -> tuple[list[Chunk], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, FULL.dims)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    chunks = [Chunk(f"doc{i}", 0, f"text {i}", {"even": i % 2 == 0}) for i in range(n)]
    q = rng.normal(size=FULL.dims).astype(np.float32)
    return chunks, vecs, q / np.linalg.norm(q)


def _store(chunks, vecs, dims=8):
    low = low_space(FULL, dims)
    store = MemoryStore([FULL, low])
    store.upsert(chunks, with_low_vectors({"dense": vecs}, FULL, dims))
    return store


def _exact(vecs, q, k):
    return list(np.argsort(-(vecs @ q), kind="stable")[:k])


def test_low_space_and_vectors():
    low = low_space(FULL, 8)
    assert (low.name, low.dims, low.model, low.distance) == ("dense_d8", 8, "test", "cosine")
    assert low.fingerprint == "fp-full>d8"
    assert low_space(FULL, 8, layer_norm=True).fingerprint == "fp-full>ln-d8"
    _, vecs, _ = _data(5)
    np.testing.assert_allclose(low_vectors(vecs, 8), truncate(vecs, 8))
    out = with_low_vectors({"dense": vecs}, FULL, 8)
    assert set(out) == {"dense", "dense_d8"} and out["dense_d8"].shape == (5, 8)


def test_full_shortlist_equals_exact_full_search():
    chunks, vecs, q = _data()
    store = _store(chunks, vecs)
    hits = funnel_search(store, q, space="dense", funnel=(8, len(chunks)), k=10)
    assert [h.chunk.text for h in hits] == [f"text {i}" for i in _exact(vecs, q, 10)]
    np.testing.assert_allclose([h.score for h in hits], np.sort(vecs @ q)[::-1][:10], rtol=1e-5)
    assert all(h.spaces == ("dense",) for h in hits)


def test_shortlist_is_rescored_at_full_dims():
    chunks, vecs, q = _data()
    store = _store(chunks, vecs)
    shortlist = store.search(low_vectors(q, 8), space="dense_d8", k=20)
    hits = funnel_search(store, q, space="dense", funnel=(8, 20), k=5)
    # The result is the shortlist reordered by exact full-dims cosine.
    ids = {h.id for h in shortlist}
    assert {h.id for h in hits} <= ids
    by_full = sorted(shortlist, key=lambda h: -float(vecs[int(h.chunk.text.split()[1])] @ q))
    assert [h.id for h in hits] == [h.id for h in by_full[:5]]
    # The low-dims ranking differs from the full one here, so the rescoring mattered.
    assert [h.id for h in hits] != [h.id for h in shortlist[:5]]
    for h in hits:
        assert h.first_stage_score == pytest.approx(shortlist[h.first_stage_rank].score)


def test_filters_pass_through():
    chunks, vecs, q = _data()
    store = _store(chunks, vecs)
    hits = funnel_search(store, q, space="dense", funnel=(8, 50), k=10, filters={"even": True})
    assert hits and all(h.chunk.metadata["even"] for h in hits)


def test_errors():
    chunks, vecs, q = _data(30)
    store = _store(chunks, vecs)
    with pytest.raises(ValueError, match=r"shortlist \(5\) must be >= k \(10\)"):
        funnel_search(store, q, space="dense", funnel=(8, 5), k=10)
    with pytest.raises(ValueError, match="must be below the full dims"):
        funnel_search(store, q, space="dense", funnel=(32, 50))
    with pytest.raises(ValueError, match="exceeds"):
        funnel_search(store, q, space="dense", funnel=(64, 50))
    with pytest.raises(ValueError, match="low-dim space 'dense_d16'"):
        funnel_search(store, q, space="dense", funnel=(16, 50))
    with pytest.raises(ValueError, match=r"\(dims, shortlist\)"):
        funnel_search(store, q, space="dense", funnel=8)  # type: ignore[arg-type]
    with pytest.raises(SpaceMismatchError, match="query vector has 8 dims"):
        funnel_search(store, q[:8], space="dense", funnel=(8, 50))
    # A low space that was not derived from this full space is refused.
    other = VectorSpace("dense_d8", model="test", fingerprint="something-else", dims=8)
    wrong = MemoryStore([FULL, other])
    wrong.upsert(chunks, {"dense": vecs, "dense_d8": low_vectors(vecs, 8)})
    with pytest.raises(SpaceMismatchError, match="fingerprint"):
        funnel_search(wrong, q, space="dense", funnel=(8, 20))
    # A shortlisted chunk without a full vector cannot be rescored: an error, not a gap.
    partial = MemoryStore([FULL, low_space(FULL, 8)])
    partial.upsert(chunks, {"dense_d8": low_vectors(vecs, 8)})
    with pytest.raises(ValueError, match="no 'dense' vector to rescore"):
        funnel_search(partial, q, space="dense", funnel=(8, 20))


def test_memory_report_by_hand():
    mem = funnel_memory(1000, 384, 64, max_connections=32, bytes_per_link=10)
    assert (mem.full_vector_bytes, mem.low_vector_bytes, mem.link_bytes) == (1536, 256, 640)
    assert mem.hnsw_full_bytes == 1000 * (1536 + 640)
    assert mem.hnsw_low_bytes == 1000 * (256 + 640)
    assert mem.saved_bytes == 1000 * 1280
    assert mem.saved_fraction == pytest.approx(1280 / 2176)
    assert "59% saved" in mem.summary()
    with pytest.raises(ValueError):
        funnel_memory(10, 64, 128)


def test_with_a_real_matryoshka_model():
    emb = Embedder("wordllama-256", device="cpu")
    docs = [
        "Aspirin reduces the risk of myocardial infarction.",
        "Galaxies collide over billions of years.",
        "Low vitamin D is linked to bone fractures.",
        "Neural networks learn representations from data.",
        "Statins reduce cholesterol and cardiovascular events.",
    ]
    full = emb.space()
    store = MemoryStore([full, low_space(full, 64)])
    chunks = [Chunk(f"d{i}", 0, t) for i, t in enumerate(docs)]
    store.upsert(chunks, with_low_vectors({full.name: emb.embed_documents(docs)}, full, 64))
    q = emb.embed_query("heart attack prevention drugs")
    funnel = funnel_search(store, q, space=full.name, funnel=(64, 5), k=3)
    exact = store.search(q, space=full.name, k=3)
    assert [h.id for h in funnel] == [h.id for h in exact]
    np.testing.assert_allclose([h.score for h in funnel], [h.score for h in exact], rtol=1e-5)
    # The derived 64-d vectors equal what a 64-d embedder produces.
    np.testing.assert_allclose(
        store.get_vectors([chunks[0].id], space=f"{full.name}_d64")[chunks[0].id],
        Embedder("wordllama-256", dimensions=64, device="cpu").embed_documents(docs[:1])[0],
        atol=1e-6,
    )


@pytest.mark.weaviate
def test_weaviate_store_matches_memory_store(request, collection_name):
    server = request.getfixturevalue("weaviate_server")
    from embedweave.store.weaviate import WeaviateStore

    chunks, vecs, q = _data(120, seed=3)
    low = low_space(FULL, 8)
    store = WeaviateStore(collection_name, [FULL, low], server=server)
    try:
        store.upsert(chunks, with_low_vectors({"dense": vecs}, FULL, 8))
        got = funnel_search(store, q, space="dense", funnel=(8, 40), k=10)
        ref = funnel_search(_store(chunks, vecs), q, space="dense", funnel=(8, 40), k=10)
        assert [h.id for h in got] == [h.id for h in ref]
        np.testing.assert_allclose([h.score for h in got], [h.score for h in ref], rtol=1e-4)
        # Reopening the low space from another full space is refused by the store itself.
        bad_low = VectorSpace("dense_d8", model="test", fingerprint="other>d8", dims=8)
        with pytest.raises(SpaceMismatchError):
            WeaviateStore(collection_name, [FULL, bad_low], server=server)
    finally:
        store.drop()
        store.close()
