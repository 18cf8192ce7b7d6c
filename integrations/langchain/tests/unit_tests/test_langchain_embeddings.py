"""EmbedweaveEmbeddings: plain floats, the core's vectors, settings passed through."""

from __future__ import annotations

import numpy as np
import pytest
from embedweave.embedding import Embedder

from langchain_embedweave import EmbedweaveEmbeddings


@pytest.fixture(scope="module")
def core() -> Embedder:
    return Embedder("wordllama-256", dimensions=64)


def test_returns_the_core_vectors_as_python_floats(core: Embedder) -> None:
    emb = EmbedweaveEmbeddings(embedder=core)
    docs = emb.embed_documents(["a graph index", "a hash table"])
    assert type(docs) is list and type(docs[0]) is list and type(docs[0][0]) is float
    np.testing.assert_allclose(docs, core.embed_documents(["a graph index", "a hash table"]))
    query = emb.embed_query("graph")
    assert type(query[0]) is float and len(query) == 64 == emb.dims
    np.testing.assert_allclose(query, core.embed_query("graph"))


def test_dimensions_and_space(core: Embedder) -> None:
    emb = EmbedweaveEmbeddings(model="wordllama-256", dimensions=64)
    assert emb.dims == 64
    assert len(emb.embed_query("x y z")) == 64
    assert emb.space() == core.space()
    assert emb.space("custom").name == "custom"


async def test_async_matches_sync(core: Embedder) -> None:
    emb = EmbedweaveEmbeddings(embedder=core)
    assert await emb.aembed_documents(["one", "two"]) == emb.embed_documents(["one", "two"])
    assert await emb.aembed_query("one") == emb.embed_query("one")


def test_routing_picks_one_space_and_its_record() -> None:
    table = {"routes": {"en": "wordllama-256"}, "shared": "wordllama-256"}
    emb = EmbedweaveEmbeddings(router=table)
    assert emb.router_space == "wordllama_256"
    assert emb.core_router is not None
    assert emb.space() == emb.core_router.vector_space("wordllama_256")
    with pytest.raises(ValueError, match="router space"):
        emb.space("other")
    with pytest.raises(ValueError, match="not one of the router's spaces"):
        EmbedweaveEmbeddings(router=table, router_space="nope")


def test_conflicting_settings_are_errors(core: Embedder) -> None:
    with pytest.raises(ValueError, match="model settings"):
        EmbedweaveEmbeddings(embedder=core, dimensions=32)
    with pytest.raises(TypeError, match="Embedder"):
        EmbedweaveEmbeddings(embedder="minilm")
    with pytest.raises(ValueError, match="router_space"):
        EmbedweaveEmbeddings(router_space="x")


def test_bad_input_comes_from_the_core(core: Embedder) -> None:
    emb = EmbedweaveEmbeddings(embedder=core)
    with pytest.raises(ValueError, match="empty"):
        emb.embed_documents(["ok", "  "])


def test_batch_size_defaults_to_the_cores_runtime_default(
    core: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the core's own default for the same settings (the rule is the core's, tested there)
    assert EmbedweaveEmbeddings(model="minilm").batch_size == Embedder("minilm").batch_size
    assert EmbedweaveEmbeddings(embedder=core).batch_size == core.batch_size
    assert EmbedweaveEmbeddings(model="minilm", batch_size=8).core.batch_size == 8
    monkeypatch.setenv("EMBEDWEAVE_RUNTIME", "openvino")
    ov = EmbedweaveEmbeddings(model="minilm")
    assert ov.core.runtime == "openvino"
    assert ov.batch_size == ov.core.batch_size == 16
