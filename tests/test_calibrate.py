"""HNSW calibration on a real collection of real text vectors (WordLlama, SciFact)."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from embedweave.cli import main as cli_main
from embedweave.embedding import Embedder
from embedweave.paths import data_dir
from embedweave.store.config import HnswConfig
from embedweave.store.weaviate import WeaviateStore
from embedweave.store.weaviate.calibrate import DEFAULT_EFS, exact_neighbours
from embedweave.types import Chunk

N = 3000


@pytest.fixture(scope="module")
def sentences() -> tuple[list[str], np.ndarray]:
    path = data_dir() / "scifact" / "corpus.jsonl"
    if not path.exists():
        from conftest import unavailable

        unavailable(f"SciFact data not found at {path}")
    out: list[str] = []
    with path.open() as fh:
        for line in fh:
            for s in re.split(r"(?<=[.!?])\s+", json.loads(line)["text"]):
                if len(s) > 20:
                    out.append(s)
            if len(out) >= N:
                break
    emb = Embedder("wordllama-256")
    return out[:N], emb.embed_documents(out[:N])


def _store(server: Any, name: str, vecs: np.ndarray, texts: list[str],
           hnsw: HnswConfig | None = None) -> WeaviateStore:
    from embedweave.store import VectorSpace

    space = VectorSpace("v", "wordllama-256", "fp-wl", vecs.shape[1], "cosine")
    store = WeaviateStore(name, [space], server=server, hnsw=hnsw or HnswConfig(
        ef_construction=32, max_connections=8))  # a weak graph: ef matters
    chunks = [Chunk(document_id=f"d{i}", index=0, text=t) for i, t in enumerate(texts)]
    store.upsert(chunks, {"v": vecs})
    return store


def _recall(store: WeaviateStore, queries: np.ndarray, base: np.ndarray, k: int,
            ids: list[str]) -> float:
    truth = exact_neighbours(base, queries, k, "cosine")
    got = 0.0
    for q, row in zip(queries, truth, strict=True):
        found = {h.id for h in store.search(q, space="v", k=k)}
        got += len(found & {ids[j] for j in row}) / k
    return got / len(queries)


def test_calibration_meets_the_target_applies_and_records_it(
    weaviate_server: Any, collection_name: str, sentences: tuple[list[str], np.ndarray]
) -> None:
    texts, vecs = sentences
    store = _store(weaviate_server, collection_name, vecs[:2500], texts[:2500])
    try:
        ids = [Chunk(document_id=f"d{i}", index=0, text="x").id for i in range(2500)]
        assert store.get([ids[0]])[0].text == texts[0]
        rng = np.random.default_rng(7)
        queries = vecs[2500:2600] + rng.normal(scale=0.01, size=(100, vecs.shape[1]))
        cal = store.calibrate(target_recall=0.99, k=10, queries=queries)
        assert cal.met and cal.recall >= 0.99 and cal.source == "given"
        assert cal.ef in DEFAULT_EFS and cal.objects == 2500 and cal.queries == 100
        tried = [ef for ef, _, _ in cal.sweep]
        assert tried == sorted(tried) and tried[-1] == cal.ef
        assert all(r < 0.99 for _, r, _ in cal.sweep[:-1])  # the smallest that meets it
        # applied to the live index, and an independent search at that ef agrees
        live = store._collection.config.get().vector_config["v"].vector_index_config.ef
        assert live == cal.ef
        assert _recall(store, queries.astype(np.float32), vecs[:2500], 10, ids) >= 0.99
        # recorded in the collection, beside the space record, and seen on reopening
        again = WeaviateStore(collection_name, [], server=weaviate_server)
        try:
            assert again.calibrations()["v"] == cal
            assert again.spaces == store.spaces
        finally:
            again.close()
        # re-run on its own sample after the collection grew
        store.upsert([Chunk(document_id=f"d{i}", index=0, text=texts[i])
                      for i in range(2500, N)], {"v": vecs[2500:]})
        own = store.calibrate(target_recall=0.95, k=10, sample=100)
        assert own.met and own.recall >= 0.95 and own.source == "sample"
        assert own.objects == N and own.previous_ef == cal.ef
        assert store.calibrations()["v"] == own
    finally:
        store.drop()
        store.close()


def test_calibration_refuses_bad_input(
    weaviate_server: Any, collection_name: str, sentences: tuple[list[str], np.ndarray]
) -> None:
    texts, vecs = sentences
    store = _store(weaviate_server, collection_name, vecs[:50], texts[:50])
    try:
        with pytest.raises(ValueError, match="target_recall"):
            store.calibrate(target_recall=1.5)
        with pytest.raises(ValueError, match=r"\(n, 256\)"):
            store.calibrate(queries=np.zeros((3, 8)))
        with pytest.raises(ValueError, match="unknown vector space"):
            store.calibrate(space="nope")
        assert store.calibrations() == {}
    finally:
        store.drop()
        store.close()


def test_tune_command(
    weaviate_server: Any, collection_name: str, sentences: tuple[list[str], np.ndarray],
    capsys: pytest.CaptureFixture[str],
) -> None:
    texts, vecs = sentences
    store = _store(weaviate_server, collection_name, vecs[:800], texts[:800])
    try:
        rc = cli_main(["tune", "-c", collection_name, "--url", weaviate_server.url,
                       "--grpc-port", str(weaviate_server.grpc_port), "--recall", "0.98",
                       "--sample", "50", "--json"])
        out = json.loads(capsys.readouterr().out)
        assert rc == 0 and out["met"] and out["recall"] >= 0.98
        assert store.calibrations()["v"].ef == out["ef"]
        rc = cli_main(["tune", "-c", collection_name, "--url", weaviate_server.url,
                       "--grpc-port", str(weaviate_server.grpc_port), "--recall", "2"])
        assert rc == 1 and "target_recall" in capsys.readouterr().err
    finally:
        store.drop()
        store.close()
