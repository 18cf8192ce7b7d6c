"""What one-space callers (the framework wrappers) get from the core: the space they use,
a space record for a model the core does not load, and clearing a store."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

from embedweave.errors import SpaceMismatchError
from embedweave.routing import Router, RouteTable
from embedweave.single_vector import single_vector_space
from embedweave.store.base import Store, VectorSpace
from embedweave.store.memory import MemoryStore
from embedweave.types import Chunk

A = VectorSpace("a", "m", "fp-a", 4)
B = VectorSpace("b", "m", "fp-b", 4)


def _fill(store: Store, n: int, tenant: str | None = None) -> None:
    chunks = [Chunk(f"d{i}", 0, f"text {i}", {"n": i}) for i in range(n)]
    vecs = np.eye(4, dtype=np.float32)[[i % 4 for i in range(n)]]
    store.upsert(chunks, {s: vecs for s in store.spaces}, tenant=tenant)


def test_external_space_fingerprint_follows_model_and_dims() -> None:
    one = VectorSpace.external("default", "pkg.Embeddings:m1", 8, source="langchain")
    assert one == VectorSpace.external("default", "pkg.Embeddings:m1", 8, source="langchain")
    assert one.fingerprint != VectorSpace.external("default", "pkg.Embeddings:m2", 8).fingerprint
    assert one.fingerprint != VectorSpace.external("default", "pkg.Embeddings:m1", 16,
                                                   source="langchain").fingerprint
    given = VectorSpace.external("x", "mine", 3, fingerprint="v1", distance="dot")
    assert (given.fingerprint, given.distance, given.dims) == ("v1", "dot", 3)
    with pytest.raises(ValueError, match="fingerprint"):
        VectorSpace.external("x", "mine", 3, fingerprint="")


def test_pick_and_check_space() -> None:
    one, two = MemoryStore([A], name="one"), MemoryStore([A, B], name="two")
    assert one.pick_space() == A
    assert two.pick_space("b") == B
    with pytest.raises(ValueError, match=r"several spaces \['a', 'b'\]: pass space_name="):
        two.pick_space(argument="space_name")
    with pytest.raises(ValueError, match="no vector space 'c'"):
        two.pick_space("c")
    two.check_space(B)
    with pytest.raises(SpaceMismatchError, match="fingerprint"):
        two.check_space(VectorSpace("b", "other", "fp-x", 4))
    with pytest.raises(SpaceMismatchError, match="no space 'c'"):
        one.check_space(VectorSpace("c", "m", "fp", 4))


def test_single_vector_space_is_the_shared_one() -> None:
    shared = Router(RouteTable(routes={"en": "minilm"}, shared="wordllama-256"))
    assert single_vector_space(shared) == "wordllama_256"
    assert single_vector_space(shared, "minilm") == "minilm"
    with pytest.raises(ValueError, match="router_space 'x' is not one of the router's spaces"):
        single_vector_space(shared, "x", argument="router_space")
    # without a shared space no space holds every text: the caller must choose
    unshared = Router(RouteTable(routes={"en": "minilm", "*": "wordllama-256"}))
    with pytest.raises(ValueError, match=r"no shared space.*pass route_space="):
        single_vector_space(unshared, argument="route_space")


def test_memory_clear_keeps_spaces_and_other_tenants() -> None:
    store = MemoryStore([A, B])
    _fill(store, 5)
    _fill(store, 2, tenant="t")
    assert store.clear() == 5
    assert store.count() == 0 and store.count(tenant="t") == 2
    assert set(store.spaces) == {"a", "b"}
    _fill(store, 1)
    assert store.count() == 1
    assert store.clear(tenant="nobody") == 0


def test_weaviate_clear_keeps_the_collection(weaviate_server: Any) -> None:
    from embedweave.store.weaviate import WeaviateStore

    name = "Clear" + uuid.uuid4().hex[:10]
    store = WeaviateStore(name, [A], server=weaviate_server)
    try:
        _fill(store, 7)
        assert store.clear() == 7
        assert store.count() == 0
        reopened = WeaviateStore(name, [A], server=weaviate_server, create=False)
        assert reopened.spaces == {"a": A}
        reopened.close()
    finally:
        store.drop()
        store.close()
