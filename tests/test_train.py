"""Reranker training: hard-negative mining, a small real training run, the cached default."""

from __future__ import annotations

import json
import math
import random

import pytest
from sentence_transformers import CrossEncoder

from embedweave import cli
from embedweave.eval.beir import load_scifact
from embedweave.rerank import Reranker
from embedweave.train import (
    MANIFEST,
    RerankerTrainConfig,
    bm25_candidates,
    default_reranker_path,
    is_trained,
    mine_groups,
    title_dataset,
    train_reranker,
)

TINY = RerankerTrainConfig(
    negatives=2, negative_pool=5, epochs=2, groups_per_step=4, max_length=64, title_queries=6
)


@pytest.fixture(scope="module")
def train_data():
    return load_scifact("train")


def test_hard_negatives_are_uncited_bm25_candidates(train_data):
    qids = sorted(train_data.queries)[:20]
    texts = {d: train_data.doc_text(d) for d in train_data.corpus}
    queries = {q: train_data.queries[q] for q in qids}
    cands = bm25_candidates(texts, queries, 10)
    assert all(len(c) == 10 for c in cands.values())
    data = type(train_data)(train_data.name, train_data.split, train_data.corpus, queries,
                            train_data.qrels)
    groups = mine_groups(data, TINY, cands, random.Random(0))
    assert len(groups) == sum(len(train_data.qrels[q]) for q in qids)
    by_claim = {train_data.queries[q]: q for q in qids}
    for claim, pos, negs in groups:
        q = by_claim[claim]
        cited = {train_data.doc_text(d) for d in train_data.qrels[q]}
        pool = {texts[d] for d in cands[q][: TINY.negative_pool]}
        assert pos in cited
        assert len(negs) == TINY.negatives and len(set(negs)) == TINY.negatives
        assert all(n in pool and n not in cited for n in negs)
    # seeded: the same config mines the same groups
    assert mine_groups(data, TINY, cands, random.Random(0)) == groups


def test_title_pairs_hide_the_title_from_the_body(train_data):
    titles = title_dataset(train_data, 5, random.Random(0))
    assert len(titles.queries) == 5
    for qid, title in titles.queries.items():
        (did,) = titles.qrels[qid]
        assert title == train_data.corpus[did]["title"]
        assert titles.doc_text(did) == train_data.corpus[did]["text"].strip()
    assert titles.corpus.keys() == train_data.corpus.keys()


def test_small_training_run_saves_a_loadable_cross_encoder(tmp_path, train_data):
    out = tmp_path / "ce"
    qids = sorted(train_data.queries)[:8]
    assert train_reranker(out, TINY, query_ids=qids, device="cpu") == out
    assert is_trained(out)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["train_claims"] == 8 and manifest["title_groups"] == 6
    assert manifest["config"]["negatives"] == 2
    assert manifest["steps"] == 2 * math.ceil(manifest["groups"] / 4) == len(manifest["losses"])
    assert all(math.isfinite(x) for x in manifest["losses"])
    ce = CrossEncoder(str(out), device="cpu")
    assert ce.num_labels == 1
    rr = Reranker(out, device="cpu")
    assert rr.model_name == str(out)
    assert rr.max_length == 64  # capped at the length it was trained at
    with pytest.raises(FileExistsError, match="already holds"):
        train_reranker(out, TINY, query_ids=qids)
    assert not list(tmp_path.glob("*.tmp-*"))  # the temporary folder was renamed


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(ValueError, match="negative_pool"):
        RerankerTrainConfig(negatives=5, negative_pool=3)
    with pytest.raises(ValueError, match="epochs"):
        RerankerTrainConfig(epochs=0)
    with pytest.raises(ValueError, match="not in SciFact train"):
        train_reranker(tmp_path / "x", TINY, query_ids=["no-such-claim"])


def test_fingerprint_follows_the_recipe():
    assert RerankerTrainConfig().fingerprint() == RerankerTrainConfig().fingerprint()
    assert RerankerTrainConfig(seed=1).fingerprint() != RerankerTrainConfig().fingerprint()


@pytest.mark.slow
def test_default_reranker_is_trained_once_and_cached():
    path = default_reranker_path()  # trains when the cache is empty (minutes on CPU)
    assert is_trained(path)
    assert RerankerTrainConfig().fingerprint() in path.name
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["train_claims"] == 809
    # the listwise loss starts near chance (ln 4 for 1 positive + 3 negatives) and falls
    assert manifest["loss_last_50"] < manifest["loss_first_50"] - 0.3
    assert default_reranker_path() == path


@pytest.mark.slow
def test_cli_reports_the_cached_reranker(capsys):
    path = default_reranker_path()
    assert cli.main(["train", "reranker", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["path"] == str(path) and out["train_claims"] == 809
