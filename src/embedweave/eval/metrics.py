"""Ranking metrics with BEIR / trec_eval semantics: nDCG@k, MRR@k, Recall@k, MAP@k.

A *run* maps each query id to its retrieved documents: either a ranked list of ids
(best first) or ``{doc_id: score}`` (sorted by score, ties broken by doc id descending,
as trec_eval does). *Qrels* map query id -> ``{doc_id: relevance}``; relevance >= 1
counts as relevant, and nDCG uses the grade as a linear gain (as pytrec_eval, which
BEIR and MTEB report). Every query in the qrels counts: one missing from the run
scores 0. Values are in [0, 1]; multiply by 100 for the usual tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias

Ranking: TypeAlias = Sequence[str] | Mapping[str, float]
Run = Mapping[str, Ranking]
Qrels = Mapping[str, Mapping[str, int]]


def ranked_ids(ranking: Ranking) -> list[str]:
    """Doc ids best first; a score mapping is sorted like trec_eval (score, then id desc)."""
    if isinstance(ranking, Mapping):
        by_id_desc = sorted(ranking, reverse=True)
        return sorted(by_id_desc, key=lambda d: -float(ranking[d]))
    if isinstance(ranking, str):
        raise TypeError("a ranking must be a list of doc ids or a {doc_id: score} mapping")
    return list(ranking)


def _check_k(k: int) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return k


def _relevant(judged: Mapping[str, int]) -> set[str]:
    return {d for d, rel in judged.items() if rel >= 1}


def ndcg_at_k(ranking: Ranking, judged: Mapping[str, int], k: int) -> float:
    """nDCG@k of one query: sum(rel_i / log2(i + 1)) over the top k, / ideal."""
    _check_k(k)
    ids = ranked_ids(ranking)[:k]
    dcg = sum(max(judged.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(ids))
    gains = sorted((r for r in judged.values() if r > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    return dcg / idcg if idcg > 0 else 0.0


def mrr_at_k(ranking: Ranking, judged: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant doc within the top k (0 if none)."""
    _check_k(k)
    rel = _relevant(judged)
    for i, d in enumerate(ranked_ids(ranking)[:k]):
        if d in rel:
            return 1.0 / (i + 1)
    return 0.0


def recall_at_k(ranking: Ranking, judged: Mapping[str, int], k: int) -> float:
    """Share of the relevant docs found in the top k."""
    _check_k(k)
    rel = _relevant(judged)
    if not rel:
        return 0.0
    return len(rel.intersection(ranked_ids(ranking)[:k])) / len(rel)


def map_at_k(ranking: Ranking, judged: Mapping[str, int], k: int) -> float:
    """Average precision over the top k, divided by all relevant docs (trec_eval map_cut)."""
    _check_k(k)
    rel = _relevant(judged)
    if not rel:
        return 0.0
    hits, total = 0, 0.0
    for i, d in enumerate(ranked_ids(ranking)[:k]):
        if d in rel:
            hits += 1
            total += hits / (i + 1)
    return total / len(rel)


METRICS = {"ndcg": ndcg_at_k, "mrr": mrr_at_k, "recall": recall_at_k, "map": map_at_k}


def per_query(run: Run, qrels: Qrels, metric: str, k: int) -> dict[str, float]:
    """One metric for every query with at least one relevant doc in the qrels."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)}")
    fn = METRICS[metric]
    return {
        qid: fn(run.get(qid, ()), judged, k) for qid, judged in qrels.items() if _relevant(judged)
    }


def evaluate(
    run: Run,
    qrels: Qrels,
    k_values: Iterable[int] = (1, 3, 5, 10, 100),
    metrics: Iterable[str] = ("ndcg", "mrr", "recall", "map"),
) -> dict[str, float]:
    """Mean of each metric at each k over the judged queries, keyed ``"ndcg@10"`` etc.

    Raises:
        ValueError: the qrels hold no query with a relevant document.
    """
    out: dict[str, float] = {}
    for metric in metrics:
        for k in k_values:
            scores = per_query(run, qrels, metric, k)
            if not scores:
                raise ValueError("qrels hold no query with a relevant document")
            out[f"{metric}@{k}"] = sum(scores.values()) / len(scores)
    return out
