"""Ranking metrics against hand-computed values, and the BEIR loader."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from embedweave.eval.beir import load_beir, load_qrels, load_scifact
from embedweave.eval.metrics import (
    evaluate,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    per_query,
    ranked_ids,
    recall_at_k,
)

L2_3 = math.log2(3)


def test_ndcg_graded_hand_computed():
    # d2 (rel 1) at rank 2, d3 (rel 2) at rank 3.
    dcg = 1 / L2_3 + 2 / 2
    idcg = 2 / 1 + 1 / L2_3
    assert ndcg_at_k(["d1", "d2", "d3"], {"d2": 1, "d3": 2}, 3) == pytest.approx(dcg / idcg)
    # Cut at 2: only d2 counts; ideal still uses the best two grades.
    assert ndcg_at_k(["d1", "d2", "d3"], {"d2": 1, "d3": 2}, 2) == pytest.approx((1 / L2_3) / idcg)
    assert ndcg_at_k(["d3", "d2"], {"d2": 1, "d3": 2}, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], {"d2": 1}, 10) == 0.0


def test_ndcg_ideal_is_capped_at_k():
    # Three relevant docs, k=1: ideal DCG is the single best grade.
    assert ndcg_at_k(["a"], {"a": 1, "b": 1, "c": 1}, 1) == pytest.approx(1.0)


def test_mrr_recall_map_hand_computed():
    ranking = ["x", "a", "y", "b", "z"]
    judged = {"a": 1, "b": 1, "c": 1, "n": 0}
    assert mrr_at_k(ranking, judged, 10) == pytest.approx(1 / 2)
    assert mrr_at_k(ranking, judged, 1) == 0.0
    assert recall_at_k(ranking, judged, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranking, judged, 5) == pytest.approx(2 / 3)
    # AP@5 = (1/2 + 2/4) / 3 relevant docs (trec_eval map_cut divides by all relevant).
    assert map_at_k(ranking, judged, 5) == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert map_at_k(ranking, judged, 3) == pytest.approx((1 / 2) / 3)


def test_zero_relevance_is_not_relevant():
    assert recall_at_k(["n"], {"n": 0, "a": 1}, 1) == 0.0
    assert mrr_at_k(["n", "a"], {"n": 0, "a": 1}, 2) == pytest.approx(0.5)


def test_score_mapping_sorted_like_trec_eval():
    # Ties broken by doc id descending.
    assert ranked_ids({"a": 1.0, "c": 1.0, "b": 2.0}) == ["b", "c", "a"]
    assert ndcg_at_k({"a": 0.1, "b": 0.9}, {"b": 1}, 1) == pytest.approx(1.0)
    with pytest.raises(TypeError):
        ranked_ids("abc")


def test_evaluate_counts_missing_queries_as_zero():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}  # q3: nothing relevant, skipped
    run = {"q1": ["a", "x"]}
    out = evaluate(run, qrels, k_values=(1, 10))
    assert out["ndcg@10"] == pytest.approx(0.5)
    assert out["mrr@1"] == pytest.approx(0.5)
    assert out["recall@10"] == pytest.approx(0.5)
    assert set(out) == {f"{m}@{k}" for m in ("ndcg", "mrr", "recall", "map") for k in (1, 10)}
    assert per_query(run, qrels, "ndcg", 10) == {"q1": 1.0, "q2": 0.0}


def test_bad_arguments():
    with pytest.raises(ValueError, match="k must be a positive"):
        ndcg_at_k(["a"], {"a": 1}, 0)
    with pytest.raises(ValueError, match="unknown metric"):
        per_query({}, {"q": {"a": 1}}, "p", 10)
    with pytest.raises(ValueError, match="no query with a relevant"):
        evaluate({}, {"q": {"a": 0}})


def _tiny_beir(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "T1", "text": "one"}\n{"_id": "d2", "title": "", "text": "two"}\n'
    )
    (root / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "first"}\n{"_id": "q2", "text": "unjudged"}\n'
    )
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\n")
    return root


def test_beir_loader(tmp_path):
    ds = load_beir(_tiny_beir(tmp_path / "tiny"), "test")
    assert ds.name == "tiny" and ds.split == "test"
    assert ds.queries == {"q1": "first"}  # only judged queries
    assert ds.qrels == {"q1": {"d2": 1}}
    assert ds.doc_text("d1") == "T1 one"
    assert ds.doc_text("d2") == "two"
    assert ds.doc_ids() == ["d1", "d2"]


def test_beir_loader_errors(tmp_path):
    root = _tiny_beir(tmp_path / "tiny")
    with pytest.raises(FileNotFoundError, match=r"train\.tsv"):
        load_beir(root, "train")
    bad = tmp_path / "bad.tsv"
    bad.write_text("q\td\ts\n")
    with pytest.raises(ValueError, match="header"):
        load_qrels(bad)
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq9\td2\t1\n")
    with pytest.raises(ValueError, match="missing from queries"):
        load_beir(root, "test")


def test_scifact_shape():
    ds = load_scifact("test")
    assert len(ds.corpus) == 5183
    assert len(ds.queries) == 300
    assert sum(len(v) for v in ds.qrels.values()) == 339
