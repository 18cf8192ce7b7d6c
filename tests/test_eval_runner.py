"""The evaluation runner: pipelines through real Weaviate agree with exact computation.

Small data only: a hand-written BEIR folder, and a SciFact slice with the fast static
WordLlama model. The full SciFact reproduction is a CLI/benchmark run (docs/benchmarks.md).
"""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest

from embedweave.errors import EmbedweaveError
from embedweave.eval.beir import BeirDataset, load_beir
from embedweave.eval.metrics import evaluate
from embedweave.eval.runner import (
    EvalRunner,
    PipelineConfig,
    dataset_checksum,
    load_dataset,
    plot_results,
    resolve_dataset,
    results_table,
    sweep_configs,
    swept_field,
    write_json,
)
from embedweave.types import chunk_uuid

CORPUS = {
    "d1": ("Honey bees", "Bees dance to tell other bees where the flowers are."),
    "d2": ("Lighthouses", "A lighthouse guides ships at night with a flashing lamp."),
    "d3": ("Volcanoes", "Magma rises from the mantle and erupts as lava."),
    "d4": ("Glaciers", "Glaciers carve U-shaped valleys as the ice moves downhill."),
    "d5": ("Chess", "The knight moves in an L shape and can jump over pieces."),
    "d6": ("Tea", "Tea is brewed strong in a small pot and diluted with hot water."),
    "d7": ("Coffee", "Coffee beans are roasted at about 200 degrees."),
    "d8": ("Bicycles", "Pedals on the front wheel appeared around 1860."),
}
QUERIES = {
    "q1": "how do bees communicate the location of flowers",
    "q2": "what guides ships in the dark",
    "q3": "where does lava come from",
    "q4": "how does the knight move in chess",
    "q5": "roasting temperature of coffee beans",
}
QRELS = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 2, "d4": 1}, "q4": {"d5": 1},
         "q5": {"d7": 1}}


def write_beir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": d, "title": t, "text": x}) + "\n" for d, (t, x) in CORPUS.items()))
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"_id": q, "text": t}) + "\n" for q, t in QUERIES.items()))
    (folder / "qrels").mkdir(exist_ok=True)
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{r}\n" for q, docs in QRELS.items() for d, r in docs.items()))
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> BeirDataset:
    return load_beir(write_beir(tmp_path_factory.mktemp("beir") / "tiny"))


def runner(data: BeirDataset, server: object, **kw: object) -> EvalRunner:
    return EvalRunner(data, server=server, k_values=(1, 3, 5), show_progress=False,
                      **kw)  # type: ignore[arg-type]


def test_dense_run_through_weaviate_equals_exact_numpy(tiny, weaviate_server) -> None:
    from embedweave.embedding import Embedder

    result = runner(tiny, weaviate_server, keep=False).run(PipelineConfig(model="minilm"))
    # the same pipeline computed by hand: embed, exact cosine, rank, score
    emb = Embedder("minilm")
    ids = tiny.doc_ids()
    docs = emb.embed_documents([tiny.doc_text(d) for d in ids])
    run = {}
    for q, text in tiny.queries.items():
        sims = docs @ emb.embed_query(text)
        run[q] = [ids[j] for j in np.argsort(-sims, kind="stable")]
    expected = evaluate(run, tiny.qrels, k_values=(1, 3, 5))
    assert result.metrics == pytest.approx(expected, abs=1e-9)
    assert result.metrics["ndcg@1"] > 0.5  # the queries are easy: a broken run scores ~0
    assert result.n_docs == 8 and result.n_queries == 5
    assert result.store.startswith("weaviate 1.") and "HNSW" in result.store
    assert set(result.per_query) == set()  # per-query nDCG@10 only when 10 is a cut-off


def test_kept_collection_is_reused_without_model_calls(tiny, weaviate_server) -> None:
    config = PipelineConfig(model="minilm", mode="hybrid", alpha=0.3)
    first = runner(tiny, weaviate_server).run(config)
    again = runner(tiny, weaviate_server)
    second = again.run(config)
    assert second.index_seconds == 0.0 < first.index_seconds
    assert second.metrics == first.metrics
    emb = again.router(config).embedder("minilm")
    assert emb.stats.embedded == 0  # queries came from the embedding cache too
    assert again.drop_collections([config]) == 1
    assert again.drop_collections([config]) == 0


def test_alpha_sweep_ends_match_keyword_and_vector_runs(tiny, weaviate_server, tmp_path) -> None:
    r = runner(tiny, weaviate_server, keep=False)
    base = PipelineConfig(model="minilm", mode="hybrid")
    configs = sweep_configs(base, alpha=[0.0, 0.5, 1.0])
    hybrid = r.sweep(configs)
    keyword = r.run(PipelineConfig(model="minilm", mode="keyword"))
    dense = r.run(PipelineConfig(model="minilm"))
    assert hybrid[0].metrics == pytest.approx(keyword.metrics)  # alpha 0 = BM25 ranking
    assert hybrid[2].metrics == pytest.approx(dense.metrics)  # alpha 1 = vector ranking
    assert swept_field(hybrid) == "alpha"
    assert swept_field([keyword, *hybrid, dense]) == "alpha"  # BM25 = 0, dense = 1 on that axis

    table = results_table([*hybrid, keyword])
    assert "minilm hybrid a=0.5" in table and "bm25" in table and "ndcg@5" not in table
    saved = write_json(hybrid, tmp_path / "out" / "results.json", per_query=True,
                       extra={"command": "test"})
    payload = json.loads(saved.read_text())
    assert payload["command"] == "test"
    assert [x["config"]["alpha"] for x in payload["results"]] == [0.0, 0.5, 1.0]
    assert payload["results"][1]["metrics"] == hybrid[1].metrics
    png = plot_results(hybrid, tmp_path / "out" / "sweep.png", metrics=("ndcg@5", "mrr@5"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    other = dataclasses.replace(dense, config=PipelineConfig(model="wordllama-256"))
    assert swept_field([dense, other]) is None  # two models: one bar per pipeline
    bars = plot_results([dense, other], tmp_path / "bars.png")
    assert bars.read_bytes()[:4] == b"\x89PNG"


def test_truncated_dims_come_from_cached_full_vectors(tiny, weaviate_server) -> None:
    from embedweave.embedding import Embedder

    r = runner(tiny, weaviate_server)
    config = PipelineConfig(model="wordllama-256", dims=64)
    r.run(config)
    store, seconds, _ = r.index(config)  # kept: opened again, not re-indexed
    try:
        assert seconds == 0.0
        ids = [chunk_uuid(d, 0) for d in tiny.doc_ids()]
        stored = store.get_vectors(ids, space="wordllama_256_d64")
        want = Embedder("wordllama-256", dimensions=64).embed_documents(
            [tiny.doc_text(d) for d in tiny.doc_ids()]
        )
        np.testing.assert_allclose(np.stack([stored[i] for i in ids]), want, atol=1e-5)
    finally:
        store.drop()
        store.close()


def test_funnel_and_memory_store(tiny, weaviate_server) -> None:
    full = PipelineConfig(model="wordllama-256")
    funnel = dataclasses.replace(full, funnel=(64, 8))
    weaviate = runner(tiny, weaviate_server, keep=False)
    exact = runner(tiny, None, store="memory")
    a, b = weaviate.run(full), weaviate.run(funnel)
    c = exact.run(full)
    # the shortlist holds the whole corpus, so the funnel rescoring equals full dims
    assert b.metrics == pytest.approx(a.metrics)
    assert c.metrics == pytest.approx(a.metrics)
    assert c.store == "memory (exact search)"
    assert funnel.label == "wordllama-256 funnel 64:8"
    with pytest.raises(ValueError, match="funnel applies to mode 'vector'"):
        PipelineConfig(mode="hybrid", funnel=(64, 8))


def test_runner_input_errors(tiny) -> None:
    with pytest.raises(ValueError, match="url= or server="):
        EvalRunner(tiny)
    with pytest.raises(ValueError, match="alpha"):
        PipelineConfig(alpha=1.5)
    with pytest.raises(ValueError, match="no field"):
        sweep_configs(PipelineConfig(), beta=[1])


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def zip_server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    buf = io.BytesIO()
    src = write_beir(tmp_path / "src" / "tinybeir")
    with zipfile.ZipFile(buf, "w") as z:
        for f in src.rglob("*"):
            if f.is_file():
                z.write(f, f.relative_to(src.parent))
    (root / "tinybeir.zip").write_bytes(buf.getvalue())
    (root / "notazip.zip").write_bytes(b"hello")
    server = HTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_beir_name_is_downloaded_once_and_cached(zip_server, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EMBEDWEAVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("EMBEDWEAVE_DATA_DIR", str(tmp_path / "nodata"))
    (tmp_path / "nodata").mkdir()
    monkeypatch.setenv("EMBEDWEAVE_BEIR_URL", zip_server)
    folder = resolve_dataset("tinybeir", show_progress=False)
    assert folder == tmp_path / "cache" / "beir" / "tinybeir"
    data = load_dataset("tinybeir", max_queries=2)
    assert list(data.queries) == ["q1", "q2"] and set(data.qrels) == {"q1", "q2"}
    assert dataset_checksum(data) == dataset_checksum(load_beir(folder))
    monkeypatch.setenv("EMBEDWEAVE_BEIR_URL", zip_server + "/missing")
    assert resolve_dataset("tinybeir") == folder  # cached: no request made
    with pytest.raises(EmbedweaveError, match="HTTP 404"):
        resolve_dataset("otherset", show_progress=False)
    monkeypatch.setenv("EMBEDWEAVE_BEIR_URL", zip_server)
    with pytest.raises(EmbedweaveError, match="not a zip"):
        resolve_dataset("notazip", show_progress=False)
    with pytest.raises(FileNotFoundError, match="not a BEIR dataset folder"):
        resolve_dataset(str(tmp_path))


def test_scifact_slice_hnsw_matches_exact_search(weaviate_server) -> None:
    """1,000 SciFact abstracts (every judged one of 100 claims included), WordLlama."""
    full = load_dataset("scifact")
    qids = list(full.queries)[:100]
    judged = {d for q in qids for d in full.qrels[q]}
    keep = [d for d in full.corpus if d in judged]
    keep += [d for d in full.corpus if d not in judged][: 1000 - len(keep)]
    data = BeirDataset("scifact-slice", "test", {d: full.corpus[d] for d in keep},
                       {q: full.queries[q] for q in qids}, {q: full.qrels[q] for q in qids})
    config = PipelineConfig(model="wordllama-256")
    k = (10, 100)
    hnsw = EvalRunner(data, server=weaviate_server, k_values=k, keep=False,
                      show_progress=False).run(config)
    exact = EvalRunner(data, store="memory", k_values=k, show_progress=False).run(config)
    assert abs(hnsw.metrics["ndcg@10"] - exact.metrics["ndcg@10"]) < 0.005
    assert exact.metrics["ndcg@10"] > 0.4  # WordLlama: 51.6 on the full corpus
    assert len(hnsw.per_query) == 100


def test_routing_config_runs_every_space(tiny, weaviate_server) -> None:
    table = {"routes": {"en": "minilm", "*": "use-multilingual"}, "shared": "use-multilingual"}
    config = PipelineConfig(routing=table)
    r = runner(tiny, weaviate_server, keep=False)
    result = r.run(config)
    assert config.label == "routing:table dense"
    assert set(r.router(config).spaces) == {"minilm", "use_multilingual"}
    assert result.metrics["ndcg@1"] > 0.5  # English queries: MiniLM + USE fused by RRF
