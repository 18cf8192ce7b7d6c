"""Embedder fine-tuning on a tiny authored task: data, mining, training, loading, refusal.

The task: six product parts, each with an invented support-desk alias the base model has
never seen ("blorf" = battery, ...). Documents name the part and a topic; queries use the
alias and the topic. The base model can match the topic but not the alias, so it cannot
tell the six parts apart; fine-tuning on five topics must teach the aliases well enough
to rank held-out topics' positives first. ``wordllama-256`` (a static model) trains in
seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embedweave.embedding import Embedder
from embedweave.errors import SpaceMismatchError
from embedweave.eval.beir import load_beir
from embedweave.train.data import (
    TrainingDataWarning,
    from_beir,
    from_jsonl,
    load_training_data,
    synthetic_pairs,
)
from embedweave.train.embedder import (
    EMBEDDER_MANIFEST,
    EmbedderTrainConfig,
    is_trained_embedder,
    train_embedder,
)
from embedweave.train.mining import mine_negatives

PARTS = [("blorf", "battery"), ("quzz", "screen"), ("snerk", "keyboard"),
         ("vamp", "speaker"), ("drell", "camera"), ("yotz", "charger")]
TOPICS = ["overheating", "cracked", "water damage", "warranty", "replacement",
          "firmware", "noise", "shipping"]
TRAIN_TOPICS = 5
BASE = "wordllama-256"
TINY = EmbedderTrainConfig(dims=(256, 64), epochs=3, batch_size=8, learning_rate=5e-2,
                           pool=5, seed=1)


def write_task(root: Path) -> Path:
    """The tiny task as a BEIR folder: train qrels on five topics, test on three others."""
    (root / "qrels").mkdir(parents=True)
    with open(root / "corpus.jsonl", "w") as f:
        for p, (_alias, part) in enumerate(PARTS):
            for t, topic in enumerate(TOPICS):
                f.write(json.dumps({"_id": f"d{p}-{t}", "title": topic,
                                    "text": f"notes about the {part}"}) + "\n")
    with open(root / "queries.jsonl", "w") as f:
        for p, (alias, _part) in enumerate(PARTS):
            for t, topic in enumerate(TOPICS):
                f.write(json.dumps({"_id": f"q{p}-{t}", "text": f"{alias} {topic}"}) + "\n")
    for split, topics in (("train", range(TRAIN_TOPICS)),
                          ("test", range(TRAIN_TOPICS, len(TOPICS)))):
        lines = ["query-id\tcorpus-id\tscore"]
        lines += [f"q{p}-{t}\td{p}-{t}\t1" for p in range(len(PARTS)) for t in topics]
        (root / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return root


def first_hit_rate(model: str, root: Path, dims: int | None = None) -> float:
    """Share of held-out queries whose positive is ranked first (exact cosine)."""
    test = load_beir(root, "test")
    emb = Embedder(model, dimensions=dims)
    ids = test.doc_ids()
    docs = emb.embed_documents([test.doc_text(d) for d in ids])
    qids = list(test.queries)
    top = np.argmax(emb.embed_queries([test.queries[q] for q in qids]) @ docs.T, axis=1)
    return float(np.mean([test.qrels[q].get(ids[j], 0) > 0 for q, j in zip(qids, top,
                                                                           strict=True)]))


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_task(tmp_path_factory.mktemp("tiny-task"))


@pytest.fixture(scope="module")
def tuned(task: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("tuned") / "model"
    return train_embedder(from_beir(task), out, TINY, base=BASE,
                          eval_data=load_beir(task, "test"))


def test_fine_tuning_moves_held_out_positives_first(task, tuned):
    assert first_hit_rate(BASE, task) <= 0.5  # the base cannot read the aliases
    assert first_hit_rate(str(tuned.path), task) >= 0.9
    rep = tuned.report
    assert rep.queries == 3 * len(PARTS)  # held-out topics only
    assert rep.tuned[256]["ndcg@10"] > rep.base[256]["ndcg@10"] + 0.2


def test_matryoshka_output_beats_base_at_its_lowest_dims(task, tuned):
    assert first_hit_rate(str(tuned.path), task, dims=64) > first_hit_rate(BASE, task, dims=64)
    assert tuned.report.tuned[64]["ndcg@10"] > tuned.report.base[64]["ndcg@10"]
    assert Embedder(str(tuned.path)).spec.matryoshka_dims == (64, 256)  # read from the card


def test_output_folder_has_card_manifest_and_report(task, tuned):
    card = (tuned.path / "README.md").read_text()
    assert "Base model: `wordllama-256`" in card and "MatryoshkaLoss" in card
    assert "| 64 |" in card  # the before/after table
    m = json.loads((tuned.path / EMBEDDER_MANIFEST).read_text())
    assert m["dims"] == [256, 64] and m["steps"] > 0 and m["data"]["pairs"] == 30
    for name in ("before_after.json", "before_after.md", "before_after.png"):
        assert (tuned.path / name).stat().st_size > 0
    assert is_trained_embedder(tuned.path)
    with pytest.raises(FileExistsError, match="already holds"):
        train_embedder(load_training_data(task), tuned.path, TINY, base=BASE)


def test_fine_tuned_folder_differs_from_base_and_loads_through_wrappers(tuned):
    from langchain_embedweave import EmbedweaveEmbeddings
    from llama_index.embeddings.embedweave import EmbedweaveEmbedding

    from embedweave.routing import Router, RouteTable

    base, ft = Embedder(BASE), Embedder(str(tuned.path))
    assert ft.fingerprint != base.fingerprint and ft.dims == 256
    want = ft.embed_query("blorf warranty")
    li = EmbedweaveEmbedding(model_name=str(tuned.path))
    lc = EmbedweaveEmbeddings(model=str(tuned.path))
    np.testing.assert_allclose(li.get_query_embedding("blorf warranty"), want, atol=1e-5)
    np.testing.assert_allclose(lc.embed_query("blorf warranty"), want, atol=1e-5)
    router = Router(RouteTable.from_dict({"routes": {"*": str(tuned.path)}}))
    (space,) = router.spaces
    np.testing.assert_allclose(router.embedder(space).embed_query("blorf warranty"), want,
                               atol=1e-5)
    base_router = Router(RouteTable.from_dict({"routes": {"*": BASE}}))
    (base_space,) = base_router.spaces
    assert (router.vector_space(space).fingerprint
            != base_router.vector_space(base_space).fingerprint)


def test_store_built_with_base_refuses_fine_tuned(tuned, weaviate_server, collection_name):
    from embedweave.store.weaviate import WeaviateStore
    from embedweave.types import Chunk

    base, ft = Embedder(BASE), Embedder(str(tuned.path))
    store = WeaviateStore(collection_name, [base.space("v")], server=weaviate_server)
    try:
        store.upsert([Chunk(document_id="a", index=0, text="blorf")],
                     {"v": base.embed_documents(["blorf"])})
        with pytest.raises(SpaceMismatchError, match="fingerprint"):
            WeaviateStore(collection_name, [ft.space("v")], server=weaviate_server)
        assert store.count() == 1  # refusing touched nothing
    finally:
        store.drop()
        store.close()


@pytest.mark.slow  # two CLI processes, each importing torch and training
def test_cli_trains_loads_and_evaluates(task, tmp_path):
    out = tmp_path / "cli-model"
    env_cmd = [sys.executable, "-m", "embedweave.cli"]
    run = subprocess.run(
        [*env_cmd, "train", "embedder", "--data", str(task), "--base", BASE, "--dims", "256,64",
         "--epochs", "3", "--batch-size", "8", "--lr", "0.05", "--output", str(out)],
        capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"embedder: {out}" in run.stdout and "| 64 |" in run.stdout
    assert "the test split (18 queries)" in run.stdout
    ev = subprocess.run(
        [*env_cmd, "eval", "--data", str(task), "--model", str(out), "--store", "memory",
         "--json", "--no-cache"], capture_output=True, text=True, timeout=600)
    assert ev.returncode == 0, ev.stderr[-2000:]
    assert str(out) in ev.stdout


def test_mining_never_returns_positives_and_guard_drops_near_duplicates():
    emb = Embedder(BASE)

    def encode(texts, kind):
        return emb.embed_queries(list(texts)) if kind == "query" else \
            emb.embed_documents(list(texts))

    corpus = {"pos": "the battery overheats when charging overnight",
              "dup": "the battery overheats when charging over night",  # unlabelled copy
              "other": "the screen cracked after a fall",
              "far": "shipping took three weeks to arrive"}
    for i in range(20):
        corpus[f"x{i}"] = f"note {i} about keyboard firmware and speaker noise"
    queries = {"q": "battery overheats while charging"}
    positives = {"q": ["pos"]}
    for miners in (("bm25",), ("dense",), ("random",), ("bm25", "dense", "random")):
        off = mine_negatives(corpus, queries, positives, miners=miners, k=30, encode=encode,
                             guard=None)
        assert "pos" not in off.pools["q"] and off.positives_removed >= 1
        assert off.guard_removed == 0
    off = mine_negatives(corpus, queries, positives, k=30, encode=encode, guard=None)
    on = mine_negatives(corpus, queries, positives, k=30, encode=encode, guard=0.95)
    assert "dup" in off.pools["q"] and "dup" not in on.pools["q"]
    assert on.guard_removed >= 1 and "other" in on.pools["q"]
    with pytest.raises(ValueError, match="not in the corpus"):
        mine_negatives(corpus, queries, {"q": ["missing"]}, miners=("bm25",), guard=None)


def test_beir_bad_rows_are_counted_not_silently_dropped(task, tmp_path):
    root = tmp_path / "bad"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "t", "text": "a document"}\n'
        '{"_id": "d2", "title": "", "text": "  "}\n'
        "not json\n")
    (root / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "good query"}\n{"_id": "q2", "text": ""}\n'
        '{"_id": "q3", "text": "cites nothing known"}\n{"_id": "q4", "text": "only zero"}\n')
    (root / "qrels" / "train.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td1\t1\nq3\tzz\t1\nq4\td1\t0\nq9\td1\t1\n")
    with pytest.warns(TrainingDataWarning, match="unknown document id"):
        data = from_beir(root)
    assert data.pairs() == [("q1", "d1")]
    p = data.report.problems
    assert p == {"empty document text": 1, "line not JSON": 1, "empty query text": 1,
                 "unknown document id": 1, "query with no positive": 2,
                 "unknown query id": 1}
    assert "q3 -> doc zz" in data.report.summary()


def test_jsonl_and_synthetic_pairs(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join([
        json.dumps({"query": "what is blorf", "positive": "blorf is the battery",
                    "negatives": ["quzz is the screen", ""]}),
        json.dumps({"query": "what is blorf", "positive": "the battery, called blorf"}),
        json.dumps({"query": "", "positive": "x"}),
        json.dumps({"query": "no positive"}),
        json.dumps(["not", "an", "object"]),
    ]) + "\n")
    with pytest.warns(TrainingDataWarning) as caught:
        data = from_jsonl(path)
    assert len(caught) == 1
    assert len(data.queries) == 1 and len(data.pairs()) == 2
    (qid,) = data.queries
    assert [data.corpus[d] for d in data.negatives[qid]] == ["quzz is the screen"]
    assert data.report.problems == {"empty negative": 1, "empty query or positive": 1,
                                    "missing query or positive": 1,
                                    "line not a JSON object": 1}
    corpus = {"a": {"title": "Blorf overheating", "text": "The battery runs hot."},
              "b": {"title": "", "text": "Screens crack. Use a case to protect them."},
              "c": {"title": "", "text": "one sentence only"}}
    with pytest.warns(TrainingDataWarning, match="one sentence"):
        syn = synthetic_pairs(corpus)
    assert sorted(syn.queries.values()) == ["Blorf overheating", "Screens crack."]
    assert syn.corpus["b"] == "Use a case to protect them."
    with pytest.warns(TrainingDataWarning), pytest.raises(ValueError, match="no usable"):
        synthetic_pairs({"c": corpus["c"]})


def test_held_out_split_and_bad_eval_data(task):
    data = from_beir(task)
    train, held = data.split(6, seed=3)
    assert len(held.queries) == 6 and not set(train.queries) & set(held.queries)
    with pytest.raises(ValueError, match="shares 6 queries"):
        train_embedder(data, None, TINY, base=BASE, eval_data=held)
    with pytest.raises(ValueError, match="exceed"):
        EmbedderTrainConfig(dims=(512,)).dims_for(256)
    with pytest.raises(ValueError, match="miners"):
        EmbedderTrainConfig(miners=("bm42",))


def test_cache_folder_by_recipe_is_trained_once(task, tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDWEAVE_CACHE_DIR", str(tmp_path))
    cfg = EmbedderTrainConfig(dims=(256, 64), epochs=1, batch_size=8, pool=5, guard=None,
                              miners=("bm25",))
    first = train_embedder(from_beir(task), None, cfg, base=BASE)
    assert first.path.parent == tmp_path / "embedders" and is_trained_embedder(first.path)
    stamp = (first.path / EMBEDDER_MANIFEST).stat().st_mtime_ns
    again = train_embedder(from_beir(task), None, cfg, base=BASE)
    assert again.path == first.path and again.manifest["seconds"] == first.manifest["seconds"]
    assert (first.path / EMBEDDER_MANIFEST).stat().st_mtime_ns == stamp  # not retrained
    other = EmbedderTrainConfig(dims=(256, 64), epochs=2, batch_size=8, pool=5, guard=None,
                                miners=("bm25",))
    from embedweave.models import resolve_model
    from embedweave.train.embedder import embedder_cache_path

    data = from_beir(task)
    assert embedder_cache_path(resolve_model(BASE), data, other) != first.path


def test_reranker_recipe_and_its_cache_key_are_unchanged():
    from embedweave.train import DEFAULT_CONFIG, RECIPE_VERSION

    # scifact-minilm is cached under this fingerprint; shared mining must not move it
    assert RECIPE_VERSION == 2 and DEFAULT_CONFIG.fingerprint() == "b296f186f823"
