"""``EmbedweaveEmbedding`` with the real bundled models."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import numpy as np
import pytest
from llama_index.embeddings.embedweave import EmbedweaveEmbedding

from embedweave.embedding import Embedder

TEXTS = [
    "HNSW is a graph index for approximate nearest neighbour search.",
    "Photosynthesis turns light into chemical energy.",
    "Espresso is brewed at nine bars of pressure.",
]


def test_sync_hooks_return_the_core_embedder_vectors(embed_model: EmbedweaveEmbedding) -> None:
    core = embed_model.embedder
    q = embed_model.get_query_embedding("what is HNSW?")
    assert len(q) == 384 and all(isinstance(x, float) for x in q)
    np.testing.assert_allclose(q, core.embed_query("what is HNSW?"), atol=1e-6)
    one = embed_model.get_text_embedding(TEXTS[0])
    batch = embed_model.get_text_embedding_batch(TEXTS)
    ref = core.embed_documents(TEXTS)
    np.testing.assert_allclose(batch, ref, atol=1e-5)
    # the same call to the core (under bf16 a text's vector moves with its batch's padding)
    np.testing.assert_allclose(one, core.embed_documents(TEXTS[:1])[0], atol=1e-5)
    assert np.linalg.norm(batch[1]) == pytest.approx(1.0, abs=1e-4)
    # The query is closest to the HNSW text.
    assert int(np.argmax(np.asarray(batch) @ np.asarray(q))) == 0


def test_realistic_batch_size_reaches_the_core(embed_model: EmbedweaveEmbedding) -> None:
    assert embed_model.embed_batch_size == 64
    # the core keeps its own default (the rule is the core's, tested there)
    assert embed_model.embedder.batch_size == Embedder("minilm").batch_size
    calls = embed_model.embedder.calls
    embed_model.get_text_embedding_batch([f"sentence number {i}" for i in range(64)])
    # 64 texts in one LlamaIndex batch: one model call, not 7 as with batches of 10.
    assert embed_model.embedder.calls - calls == 1


def test_core_batch_size_follows_the_runtime_unless_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EMBEDWEAVE_RUNTIME", "openvino")
    ov = EmbedweaveEmbedding("minilm")
    assert ov.embedder.runtime == "openvino"
    # LlamaIndex hands over 64 texts per call; OpenVINO runs them as batches of 16
    assert ov.embed_batch_size == 64 and ov.embedder.batch_size == 16
    given = EmbedweaveEmbedding("minilm", embed_batch_size=32)
    assert given.embed_batch_size == 32 and given.embedder.batch_size == 32


def test_serialisation_has_no_model_and_no_secrets(embed_model: EmbedweaveEmbedding) -> None:
    data = embed_model.to_dict()
    assert data["class_name"] == "EmbedweaveEmbedding"
    assert data["model_name"] == "minilm" and data["embed_batch_size"] == 64
    assert not any("key" in k.lower() or "secret" in k.lower() for k in data)
    assert "_embedder" not in data and "embedder" not in data
    json.dumps(data)  # plain JSON
    payload = embed_model.to_payload()
    assert payload["dims"] == 384 and payload["fingerprint"] == embed_model.embedder.fingerprint
    assert set(payload) == {"class_name", "model_name", "embed_batch_size", "dims", "fingerprint"}


def test_wraps_a_ready_embedder_and_refuses_mixed_settings(
    embed_model: EmbedweaveEmbedding,
) -> None:
    wrapped = EmbedweaveEmbedding(embedder=embed_model.embedder)
    assert wrapped.embedder is embed_model.embedder
    assert wrapped.model_name == "minilm" and wrapped.dimensions == 384
    assert wrapped.space() == embed_model.space()
    with pytest.raises(ValueError, match="not both"):
        EmbedweaveEmbedding(embedder=embed_model.embedder, dimensions=128)
    with pytest.raises(TypeError, match="Embedder"):
        EmbedweaveEmbedding(embedder="minilm")  # type: ignore[arg-type]


def test_dims_are_configurable_with_a_matryoshka_model() -> None:
    small = EmbedweaveEmbedding("wordllama-256", dimensions=64)
    vec = small.get_query_embedding("a short query")
    assert len(vec) == 64 == small.dims
    assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-4)
    space = small.space()
    assert space.dims == 64 and space.fingerprint == small.embedder.fingerprint
    assert small.to_dict()["dimensions"] == 64
    rebuilt = EmbedweaveEmbedding.from_dict(small.to_dict())
    assert rebuilt.space() == space
    np.testing.assert_allclose(rebuilt.get_query_embedding("a short query"), vec, atol=1e-6)


@pytest.mark.asyncio
async def test_async_hooks_match_sync(embed_model: EmbedweaveEmbedding) -> None:
    q = await embed_model.aget_query_embedding("what is HNSW?")
    np.testing.assert_allclose(q, embed_model.get_query_embedding("what is HNSW?"), atol=1e-5)
    one = await embed_model.aget_text_embedding(TEXTS[1])
    batch = await embed_model.aget_text_embedding_batch(TEXTS)
    ref = embed_model.embedder.embed_documents(TEXTS)
    np.testing.assert_allclose(batch, ref, atol=1e-5)
    np.testing.assert_allclose(one, embed_model.embedder.embed_documents(TEXTS[1:2])[0],
                               atol=1e-5)


@pytest.mark.asyncio
async def test_event_loop_keeps_running_while_embedding(embed_model: EmbedweaveEmbedding) -> None:
    texts = [f"{TEXTS[i % 3]} Variant number {i}." for i in range(192)]
    ticks: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # let the ticker start
    start = time.perf_counter()
    vectors = await embed_model.aget_text_embedding_batch(texts)
    end = time.perf_counter()
    done.set()
    await task
    assert len(vectors) == len(texts)
    during = [t for t in ticks if start < t < end]
    # Blocking the loop would allow no tick at all while the model runs.
    assert end - start > 0.05, "embedding finished too fast to observe the loop"
    assert len(during) >= 5, f"only {len(during)} ticks in {end - start:.2f}s of embedding"


def test_embedding_events_reach_a_registered_handler(
    embed_model: EmbedweaveEmbedding, events: Any
) -> None:
    embed_model.get_query_embedding("instrumented query")
    embed_model.get_text_embedding_batch(TEXTS)
    starts = events.of("EmbeddingStartEvent")
    ends = events.of("EmbeddingEndEvent")
    assert len(starts) == 2 and len(ends) == 2
    assert starts[0].model_dict["class_name"] == "EmbedweaveEmbedding"
    assert starts[0].model_dict["fingerprint"] == embed_model.embedder.fingerprint
    assert ends[0].chunks == ["instrumented query"]
    assert ends[1].chunks == TEXTS and len(ends[1].embeddings) == 3


def test_embedder_built_from_settings_matches_core() -> None:
    via_wrapper = EmbedweaveEmbedding("wordllama-256", dimensions=128, embed_batch_size=16)
    core = Embedder("wordllama-256", dimensions=128, batch_size=16)
    assert via_wrapper.embedder.fingerprint == core.fingerprint
    np.testing.assert_allclose(
        via_wrapper.get_text_embedding(TEXTS[2]), core.embed_documents([TEXTS[2]])[0], atol=1e-6
    )
