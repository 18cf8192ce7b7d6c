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
from embedweave.store.weaviate.calibrate import DEFAULT_EFS, exact_neighbours, lower_bound
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
        # the sample mean alone: the smallest ef whose mean meets it
        plain = store.calibrate(target_recall=0.99, k=10, queries=queries, confidence=None)
        assert plain.met and plain.recall >= 0.99 and plain.recall_low == plain.recall
        assert all(r < 0.99 for _, r, _ in plain.sweep[:-1]) and plain.confidence is None
        # the default: its 95% lower bound must meet it, so never a smaller ef
        cal = store.calibrate(target_recall=0.99, k=10, queries=queries)
        assert cal.met and cal.source == "given" and cal.confidence == 0.95
        assert cal.recall_low is not None and 0.99 <= cal.recall_low <= cal.recall
        assert cal.ef >= plain.ef and cal.previous_ef == plain.ef
        assert cal.ef in DEFAULT_EFS and cal.objects == 2500 and cal.queries == 100
        tried = [ef for ef, _, _ in cal.sweep]
        assert tried == sorted(tried) and tried[-1] == cal.ef
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
        # a target that an ef's mean meets exactly, short of every query exact: its lower
        # bound is below the target, so the default must pass over that ef
        ef_r, r = max((e, r) for e, r, _ in plain.sweep if r < 1.0)
        strict = store.calibrate(target_recall=r, k=10, queries=queries)
        assert strict.ef > ef_r or not strict.met, (ef_r, r, strict.sweep)
        # re-run on its own sample after the collection grew
        store.upsert([Chunk(document_id=f"d{i}", index=0, text=texts[i])
                      for i in range(2500, N)], {"v": vecs[2500:]})
        own = store.calibrate(target_recall=0.95, k=10, sample=100)
        assert own.met and own.recall >= 0.95 and own.source == "sample"
        assert own.objects == N and own.previous_ef == strict.ef
        assert store.calibrations()["v"] == own
    finally:
        store.drop()
        store.close()


def test_the_lower_bound_holds_back_a_mean_that_only_just_meets_the_target() -> None:
    one_miss = np.array([1.0] * 199 + [0.0])  # mean 0.995 over 200 queries
    assert lower_bound(one_miss, None) == pytest.approx(0.995)
    low = lower_bound(one_miss, 0.95)  # 0.995 - 1.645 * 0.0707 / sqrt(200)
    assert low == pytest.approx(0.98677, abs=1e-4) and low < 0.99
    assert lower_bound(one_miss, 0.99) < low < lower_bound(one_miss, 0.5) == pytest.approx(0.995)
    assert lower_bound(np.ones(200), 0.95) == 1.0  # every query exact: nothing to doubt
    assert lower_bound(np.array([0.9]), 0.95) == pytest.approx(0.9)  # one query: its recall


def test_a_record_made_before_the_bound_still_reads() -> None:
    from embedweave.store.weaviate.calibrate import Calibration

    old = {"space": "v", "ef": 64, "recall": 0.991, "target_recall": 0.99, "k": 10,
           "met": True, "queries": 200, "objects": 3000, "source": "sample",
           "previous_ef": -1, "sweep": [[32, 0.98, 1.2], [64, 0.991, 1.5]],
           "measured_at": "2026-12-01T00:00:00+00:00"}
    cal = Calibration.from_dict(old)
    assert cal.ef == 64 and cal.recall_low is None and cal.confidence is None
    assert Calibration.from_dict(cal.to_dict()) == cal


def test_calibration_refuses_bad_input(
    weaviate_server: Any, collection_name: str, sentences: tuple[list[str], np.ndarray]
) -> None:
    texts, vecs = sentences
    store = _store(weaviate_server, collection_name, vecs[:50], texts[:50])
    try:
        with pytest.raises(ValueError, match="target_recall"):
            store.calibrate(target_recall=1.5)
        with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\) or None, got 1"):
            store.calibrate(confidence=1)
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
        assert rc == 0 and out["met"] and out["recall_low"] >= 0.98 and out["confidence"] == 0.95
        assert store.calibrations()["v"].ef == out["ef"]
        rc = cli_main(["tune", "-c", collection_name, "--url", weaviate_server.url,
                       "--grpc-port", str(weaviate_server.grpc_port), "--recall", "0.98",
                       "--sample", "50", "--confidence", "0"])
        text = capsys.readouterr().out
        assert rc == 0 and "lower bound" not in text and "target met" in text
        rc = cli_main(["tune", "-c", collection_name, "--url", weaviate_server.url,
                       "--grpc-port", str(weaviate_server.grpc_port), "--recall", "0.98",
                       "--sample", "50"])
        assert rc == 0 and "95% lower bound" in capsys.readouterr().out
        rc = cli_main(["tune", "-c", collection_name, "--url", weaviate_server.url,
                       "--grpc-port", str(weaviate_server.grpc_port), "--recall", "2"])
        assert rc == 1 and "target_recall" in capsys.readouterr().err
    finally:
        store.drop()
        store.close()


def test_tune_command_with_real_queries_embeds_them_with_the_collections_model(
    weaviate_server: Any, collection_name: str, sentences: tuple[list[str], np.ndarray],
    capsys: pytest.CaptureFixture[str], tmp_path: Any,
) -> None:
    from embedweave.eval.beir import load_scifact

    texts, vecs = sentences
    emb = Embedder("wordllama-256")
    space = emb.space()  # the space `ingest` would have made: the CLI can embed into it
    store = WeaviateStore(collection_name, [space], server=weaviate_server,
                          hnsw=HnswConfig(ef_construction=32, max_connections=8))
    claims = list(load_scifact("train").queries.values())[:60]
    plain = tmp_path / "queries.txt"
    plain.write_text("\n".join(claims[:30]) + "\n\n")
    conn = ["-c", collection_name, "--url", weaviate_server.url,
            "--grpc-port", str(weaviate_server.grpc_port), "--recall", "0.97"]
    try:
        store.upsert([Chunk(document_id=f"d{i}", index=0, text=t)
                      for i, t in enumerate(texts[:800])], {space.name: vecs[:800]})
        jsonl = tmp_path / "queries.jsonl"
        jsonl.write_text("".join(json.dumps({"_id": str(i), "text": c}) + "\n"
                                 for i, c in enumerate(claims)))
        rc = cli_main(["tune", *conn, "--queries", str(jsonl), "--json"])
        out = json.loads(capsys.readouterr().out)
        assert out["source"] == "given" and out["queries"] == len(claims)
        assert rc == (0 if out["met"] else 1)
        assert store.calibrations()[space.name].source == "given"
        # the same claims embedded here as queries measure the same sweep: the CLI used
        # the collection's model and its query side
        api = store.calibrate(0.97, 10, queries=emb.embed_queries(claims))
        assert out["ef"] == api.ef
        assert [row[1] for row in out["sweep"]] == [row[1] for row in api.sweep]
        # a plain file, one query per line (blank lines skipped), reads the same
        rc = cli_main(["tune", *conn, "--queries", str(plain), "--json"])
        assert json.loads(capsys.readouterr().out)["queries"] == 30

        bad = tmp_path / "bad.jsonl"
        bad.write_text(json.dumps({"text": "fine"}) + "\n" + json.dumps({"_id": "2"}) + "\n")
        assert cli_main(["tune", *conn, "--queries", str(bad)]) == 1
        assert 'line 2: expected an object with a non-empty "text"' in capsys.readouterr().err
        assert cli_main(["tune", *conn, "--queries", str(tmp_path / "none.txt")]) == 1
        assert "no such file" in capsys.readouterr().err
    finally:
        store.drop()
        store.close()

    # a space whose vectors came from another model (here: another fingerprint) is refused
    other = _store(weaviate_server, collection_name + "Fp", vecs[:300], texts[:300])
    try:
        name = collection_name + "Fp"
        rc = cli_main(["tune", "-c", name, "--url", weaviate_server.url, "--grpc-port",
                       str(weaviate_server.grpc_port), "--queries", str(plain)])
        err = capsys.readouterr().err
        assert rc == 1 and "fp-wl" in err
        assert other.calibrations() == {}  # nothing measured, nothing recorded
    finally:
        other.drop()
        other.close()
