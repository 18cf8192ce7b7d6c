"""Hostile input, fuzzed against the real server: every document, metadata value, query,
filter and tenant name is either stored and read back exactly (text, values, types) or
refused with a ``ValueError``/``TypeError`` naming the item, with nothing written.

Vectors are given directly (4 dims) so the server, not a model, is what is exercised;
one property goes through ``Index`` with a real model. Example counts are modest so the
module runs in well under a minute.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from embedweave.filters import as_filter, matches
from embedweave.store.base import VectorSpace, filterable
from embedweave.store.weaviate import WeaviateStore
from embedweave.types import Chunk, Document

pytestmark = pytest.mark.weaviate

SPACE = VectorSpace("v", "fuzz", "fuzz-fp", 4)
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
#: Text with the characters a server chokes on mixed in: NUL and lone surrogates.
HOSTILE = st.lists(
    st.one_of(st.text(max_size=12), st.text(max_size=12), st.text(max_size=12),
              st.sampled_from(["\x00", "\ud800", "\udfff", "🦦", "é"])),
    max_size=4,
).map("".join)
KEYS = st.one_of(st.sampled_from(["tag", "n", "score", "x-y", "é", "flag"]), HOSTILE)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), HOSTILE,
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                     st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=6,
)
METADATA = st.dictionaries(KEYS, VALUES, max_size=4)


@pytest.fixture(scope="module")
def store(weaviate_server: Any) -> Iterator[WeaviateStore]:
    s = WeaviateStore("Fuzz" + uuid.uuid4().hex[:8], [SPACE], server=weaviate_server)
    yield s
    s.drop()
    s.close()


@pytest.fixture(scope="module")
def tenants(weaviate_server: Any) -> Iterator[WeaviateStore]:
    s = WeaviateStore("FuzzMt" + uuid.uuid4().hex[:8], [SPACE], server=weaviate_server,
                      multi_tenancy=True)
    yield s
    s.drop()
    s.close()


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types, recursively (1 == 1.0 == True do not pass)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def vector(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(1, 4)).astype(np.float32)


@FUZZ
@given(doc_id=HOSTILE, text=HOSTILE, metadata=METADATA, language=st.none() | HOSTILE)
def test_chunks_round_trip_exactly_or_are_refused(store: WeaviateStore, doc_id: str, text: str,
                                                   metadata: dict[str, Any],
                                                   language: str | None) -> None:
    doc_id = doc_id or "empty-id"
    cid = f"{doc_id}#{uuid.uuid4().hex[:6]}"
    chunk = Chunk(doc_id, 0, text, metadata, language, id=cid)
    before = store.count()
    try:
        store.upsert([chunk], {"v": vector(len(text))})
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        assert "chunk 0" in msg or "metadata" in msg, msg
        assert store.count() == before  # nothing written
        event("refused")
        return
    event("stored and read back")
    [back] = store.get([cid])
    assert back.id == cid and back.document_id == doc_id and back.text == text
    assert back.language == language
    assert same(back.metadata, metadata), (back.metadata, metadata)
    store.delete([cid])


@FUZZ
@given(query=HOSTILE, k=st.integers(min_value=-2, max_value=120_000))
def test_queries_answer_or_are_refused(store: WeaviateStore, query: str, k: int) -> None:
    try:
        hits = store.keyword_search(query, k=k)
    except ValueError as exc:
        assert "query" in str(exc) or "k" in str(exc)
        return
    assert len(hits) <= k


FIELDS = st.sampled_from(["tag", "n", "score", "flag", "document_id", "language", "missing"])
OPS = st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$like",
                       "$contains", "$bogus"])
OPERANDS = st.one_of(st.integers(-5, 5), st.floats(-5, 5), st.booleans(), st.text(max_size=3),
                     st.lists(st.integers(-3, 3), max_size=3), st.none())


@FUZZ
@given(field=FIELDS, op=OPS, operand=OPERANDS)
def test_filters_match_exactly_or_are_refused(store: WeaviateStore, field: str, op: str,
                                              operand: Any) -> None:
    if not getattr(store, "_seeded", False):
        rows = [Chunk(f"f{i}", 0, f"fuzz row {i}", {"tag": ["a", "b", "c"][i % 3], "n": i,
                                                      "score": i / 2, "flag": i % 2 == 0})
                for i in range(12)]
        store.upsert(rows, {"v": np.random.default_rng(0).normal(size=(12, 4))})
        store._seeded = True  # type: ignore[attr-defined]
    spec = {field: {op: operand}}
    try:
        flt = as_filter(spec)
        hits = store.search([1.0, 0.0, 0.0, 0.0], space="v", k=50, filters=flt)
    except (ValueError, TypeError) as exc:
        assert field in str(exc) or op.strip("$") in str(exc) or "filter" in str(exc), str(exc)
        event("refused")
        return
    event("answered")
    for h in hits:  # whatever the server returns satisfies the filter
        assert matches(filterable(h.chunk), flt), (spec, h.chunk.metadata)


@FUZZ
@given(tenant=st.one_of(HOSTILE, st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)))
def test_tenant_names_are_used_or_refused(tenants: WeaviateStore, tenant: str) -> None:
    chunk = Chunk("t", 0, "tenant text")
    try:
        tenants.upsert([chunk], {"v": vector(1)}, tenant=tenant)
    except ValueError as exc:
        assert "tenant" in str(exc)
        event("refused")
        return
    event("stored and read back")
    assert [c.text for c in tenants.get([chunk.id], tenant=tenant)] == ["tenant text"]


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(doc_id=st.one_of(st.text(min_size=1, max_size=12), HOSTILE),
       text=st.one_of(st.text(min_size=1, max_size=80), HOSTILE),
       metadata=st.one_of(st.dictionaries(st.sampled_from(["tag", "n", "score"]), SCALARS,
                                          max_size=3), METADATA))
def test_documents_through_index_round_trip_or_are_refused(
    store: WeaviateStore, wordllama_index: Any, doc_id: str, text: str, metadata: dict[str, Any]
) -> None:
    index, index_store = wordllama_index
    doc = Document(doc_id, text, metadata)
    before = index_store.count()
    try:
        result = index.add_documents([doc])
    except (ValueError, TypeError) as exc:
        assert "document" in str(exc), str(exc)
        assert index_store.count() == before
        event("refused")
        return
    event("stored and read back")
    chunks = index_store.get(list(result))
    assert len(chunks) == len(result)
    for c in chunks:
        assert c.document_id == doc_id and c.text in text and same(c.metadata, metadata)
    index.delete_documents([doc_id])


@pytest.fixture(scope="module")
def wordllama_index(weaviate_server: Any) -> Iterator[Any]:
    from embedweave.chunking import Chunker
    from embedweave.embedding import Embedder
    from embedweave.pipeline import Index

    emb = Embedder("wordllama-256", dimensions=64)
    s = WeaviateStore("FuzzIdx" + uuid.uuid4().hex[:8], [emb.space()], server=weaviate_server)
    yield Index(s, emb, Chunker(16, 8, 0)), s
    s.drop()
    s.close()
