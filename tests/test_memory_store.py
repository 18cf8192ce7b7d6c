"""MemoryStore: exact search semantics shared with WeaviateStore, and filter parsing."""

from __future__ import annotations

import numpy as np
import pytest

from embedweave.errors import SpaceMismatchError
from embedweave.filters import Condition, Filter, as_filter, matches
from embedweave.fusion import reciprocal_rank_fusion, relative_score_fusion
from embedweave.store import MemoryStore, VectorSpace
from embedweave.types import Chunk, Hit, chunk_uuid

SPACE = VectorSpace("v", model="m", fingerprint="f", dims=3)


def _store() -> tuple[MemoryStore, list[Chunk]]:
    s = MemoryStore([SPACE])
    chunks = [
        Chunk("a", 0, "the cat sat on the mat", {"n": 1, "tag": "x"}),
        Chunk("a", 1, "dogs chase cats", {"n": 2, "tag": "y"}),
        Chunk("b", 0, "quantum physics of cats", {"n": 3, "tag": "x"}),
    ]
    vecs = np.array([[1, 0, 0], [0.8, 0.6, 0], [0, 0, 1]], dtype=np.float32)
    s.upsert(chunks, {"v": vecs})
    return s, chunks


def test_exact_cosine_ranking_and_scores():
    s, chunks = _store()
    hits = s.search([1, 0, 0], space="v", k=3)
    assert [h.id for h in hits] == [chunks[0].id, chunks[1].id, chunks[2].id]
    assert [round(h.score, 4) for h in hits] == [1.0, 0.8, 0.0]
    assert hits[0].spaces == ("v",)


def test_upsert_overwrites_and_deletes():
    s, chunks = _store()
    s.upsert([Chunk("a", 0, "replaced")], {"v": np.array([[0, 1, 0]], np.float32)})
    assert s.count() == 3
    assert s.get([chunks[0].id])[0].text == "replaced"
    assert s.delete_documents(["a"]) == 2
    assert s.count() == 1


def test_keyword_and_hybrid_extremes():
    s, chunks = _store()
    kw = s.keyword_search("quantum cats", k=3)
    assert kw[0].id == chunks[2].id
    h0 = s.hybrid_search("quantum cats", [1, 0, 0], space="v", alpha=0.0, k=3)
    assert [h.id for h in h0] == [h.id for h in kw]
    h1 = s.hybrid_search("quantum cats", [1, 0, 0], space="v", alpha=1.0, k=3)
    assert [h.id for h in h1] == [h.id for h in s.search([1, 0, 0], space="v", k=3)]


def test_filters_and_bad_input():
    s, chunks = _store()
    assert [h.id for h in s.search([1, 0, 0], space="v", filters={"tag": "x"})] == [
        chunks[0].id, chunks[2].id]
    assert len(s.search([1, 0, 0], space="v", filters={"n": {"$gt": 1}})) == 2
    with pytest.raises(SpaceMismatchError, match="stores 3"):
        s.search([1, 0], space="v")
    with pytest.raises(ValueError, match="k must be a positive integer"):
        s.search([1, 0, 0], space="v", k=0)
    with pytest.raises(ValueError, match=r"shape \(1, 3\)"):
        s.upsert([Chunk("c", 0, "x")], {"v": np.zeros((1, 2))})
    assert s.count() == 3


def test_filter_parsing():
    f = as_filter({"a": 1, "b": [1, 2], "c": {"$lt": 5}, "$or": [{"d": "x"}, {"e": "y"}]})
    assert f is not None and f.combine == "and"
    assert Condition("a", "eq", 1) in f.conditions
    assert Condition("b", "in", [1, 2]) in f.conditions
    assert matches({"a": 1, "b": 2, "c": 4, "e": "y"}, f)
    assert not matches({"a": 1, "b": 2, "c": 4}, f)
    with pytest.raises(ValueError, match="unknown filter operator"):
        as_filter({"a": {"$near": 1}})
    with pytest.raises(ValueError, match="needs a list"):
        Condition("a", "in", 3)
    assert matches({"x": 1}, Filter((Condition("missing", "ne", 2),)))


def _hit(cid: str, score: float, space: str) -> Hit:
    return Hit(Chunk("d", 0, "t", id=cid), score, (space,))


def test_rrf_keeps_every_space_that_found_a_hit():
    a = [_hit("1", 0.9, "en"), _hit("2", 0.8, "en")]
    b = [_hit("2", 0.7, "shared"), _hit("3", 0.6, "shared")]
    fused = reciprocal_rank_fusion([a, b], k=60)
    assert fused[0].id == "2" and fused[0].spaces == ("en", "shared")
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([a], k=0)


def test_relative_score_fusion_weights():
    vec = [_hit("1", 0.9, "v"), _hit("2", 0.1, "v")]
    kw = [_hit("2", 10.0, "bm25"), _hit("1", 2.0, "bm25")]
    assert relative_score_fusion(vec, kw, 0.9)[0].id == "1"
    assert relative_score_fusion(vec, kw, 0.1)[0].id == "2"


def test_chunk_ids_are_deterministic():
    assert Chunk("doc", 3, "x").id == chunk_uuid("doc", 3) == Chunk("doc", 3, "y").id
    assert chunk_uuid("doc", 3) != chunk_uuid("doc", 4)


def test_get_where_and_contains_semantics():
    s, chunks = _store()
    assert {c.id for c in s.get_where({"tag": "x"})} == {chunks[0].id, chunks[2].id}
    # contains: list membership for lists, whole-value equality for scalars (as Weaviate).
    assert matches({"tags": ["a", "b"]}, as_filter({"tags": {"$contains": "a"}}))
    assert not matches({"tag": "xyz"}, as_filter({"tag": {"$contains": "x"}}))
    assert len(list(s.iter_chunks())) == 3
