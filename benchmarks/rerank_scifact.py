"""SciFact: dense, BM25 and hybrid first stages, each alone and reranked.

All systems run in this process on the same candidates. First stages (exact search, so
the numbers isolate the reranker rather than HNSW):

- dense: MiniLM (all-MiniLM-L6-v2) cosine;
- bm25: the project's BM25 (bm25s, k1=1.2, b=0.75, as Weaviate);
- hybrid: Weaviate's relative-score fusion of both at alpha 0.5.

Each takes its top ``--candidates`` (100) abstracts per claim, and the cross-encoder
trained here rescores them: ``+rerank`` orders by its score alone, ``+rerank blend w``
by ``Reranker(blend=w)`` (min-max-normalised rerank and first-stage scores mixed, the
default reranker's setting being ``embedweave.train.DEFAULT_BLEND``). Prints nDCG@10 /
MRR@10 / Recall@10 with the ratio to the first stage, pairs/second, and p50 latency of
reranking 20 and 100 candidates for one query.

Default: the SciFact *test* claims (300) and the default reranker, trained on SciFact
*train* only. ``--heldout N`` instead trains the same recipe without N seeded train
claims and scores those N: this is how the blend weight was chosen without the test set.

Reproduce:
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/rerank_scifact.py                # test
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/rerank_scifact.py --heldout 100 \\
        --blend 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9                              # tuning
"""

from __future__ import annotations

import argparse
import platform
import random
import shlex
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from embedweave.cache import EmbeddingCache
from embedweave.embedding import Embedder
from embedweave.eval.beir import load_scifact
from embedweave.eval.metrics import evaluate
from embedweave.paths import cache_dir
from embedweave.rerank import Reranker, TruncationWarning
from embedweave.rerank.blend import blend_scores
from embedweave.store.memory import MemoryStore
from embedweave.train import DEFAULT_BLEND, DEFAULT_CONFIG, is_trained, train_reranker
from embedweave.types import Chunk, Hit

METRICS = ("ndcg@10", "mrr@10", "recall@10")


def first_stages(
    texts: dict[str, str], queries: dict[str, str], k: int
) -> dict[str, dict[str, list[Hit]]]:
    """Top-``k`` hits per query of dense, bm25 and hybrid (alpha 0.5)."""
    doc_ids = list(texts)
    emb = Embedder("minilm", cache=EmbeddingCache())
    space = emb.space()
    store = MemoryStore([space], name="scifact")
    chunks = [Chunk(document_id=d, index=0, text=texts[d]) for d in doc_ids]
    with warnings.catch_warnings():  # long abstracts are cut, as in BEIR/MTEB
        warnings.simplefilter("ignore")
        vecs = emb.embed_documents([texts[d] for d in doc_ids])
    store.upsert(chunks, {space.name: vecs})
    qids = list(queries)
    qvecs = emb.embed_queries([queries[q] for q in qids])
    out: dict[str, dict[str, list[Hit]]] = {"dense": {}, "bm25": {}, "hybrid": {}}
    for q, qv in zip(qids, qvecs, strict=True):
        dense = store.search(qv, space=space.name, k=k)
        bm25 = store.keyword_search(queries[q], k=k)
        out["dense"][q] = dense
        out["bm25"][q] = bm25
        out["hybrid"][q] = store.hybrid_search(queries[q], qv, space=space.name, alpha=0.5,
                                               k=k)
    return out


def heldout_claims(n: int) -> tuple[list[str], Path]:
    """``n`` seeded SciFact train claims, and a reranker trained without them (cached)."""
    qids = sorted(load_scifact("train").queries)
    held = sorted(random.Random(0).sample(qids, n))
    path = (cache_dir() / "rerankers"
            / f"scifact-minilm-ce-{DEFAULT_CONFIG.fingerprint()}-heldout{n}")
    if not is_trained(path):
        print(f"training the held-out reranker into {path} (minutes on CPU)", flush=True)
        keep = set(held)
        train_reranker(path, DEFAULT_CONFIG, query_ids=[q for q in qids if q not in keep])
    return held, path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=0, help="first N claims (0 = all)")
    ap.add_argument("--heldout", type=int, default=0,
                    help="score N held-out train claims with a reranker trained without them")
    ap.add_argument("--candidates", type=int, default=100, help="first-stage hits reranked")
    ap.add_argument("--model", default=None, help="cross-encoder folder/id (default: trained here)")
    ap.add_argument("--blend", type=float, nargs="+", default=[DEFAULT_BLEND],
                    help="blend weights to report (weight of the rerank score)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    ap.add_argument("--latency-queries", type=int, default=20, help="queries timed per size")
    ap.add_argument("--compare-precision", action="store_true",
                    help="also time fp32 against the chosen precision on 100 candidates")
    args = ap.parse_args(argv)

    model = args.model
    if args.heldout:
        qids, trained = heldout_claims(args.heldout)
        model = model or str(trained)
        data = load_scifact("train")
        split = f"train (held-out {len(qids)})"
    else:
        data = load_scifact("test")
        qids = sorted(data.queries)
        split = "test"
    if args.queries:
        qids = qids[: args.queries]
    texts = {d: data.doc_text(d) for d in data.corpus}
    queries = {q: data.queries[q] for q in qids}
    qrels = {q: data.qrels[q] for q in qids}

    stages = first_stages(texts, queries, args.candidates)
    reranker = Reranker(model, batch_size=args.batch_size, precision=args.precision,
                        blend=None)

    # One cross-encoder pass per distinct (claim, abstract): the stages share candidates.
    ce: dict[str, dict[str, float]] = {}
    pairs = truncated = 0
    started = time.perf_counter()
    for q in qids:
        docs = {h.id: h.chunk.text for s in stages.values() for h in s[q]}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TruncationWarning)
            scores = reranker.score(queries[q], list(docs.values()))
        truncated += sum(int(str(w.message).split(" of ")[0]) for w in caught
                         if issubclass(w.category, TruncationWarning))
        ce[q] = dict(zip(docs, scores.tolist(), strict=True))
        pairs += len(docs)
    rerank_s = time.perf_counter() - started

    def score(run: dict[str, list[str]]) -> dict[str, float]:
        return evaluate(run, qrels, (10,), ("ndcg", "mrr", "recall"))

    rows: list[tuple[str, dict[str, float], dict[str, float]]] = []
    for name, per_q in stages.items():
        base = score({q: [h.chunk.document_id for h in per_q[q]] for q in qids})
        rows.append((name, base, base))
        for weight in [None, *args.blend]:
            run: dict[str, list[str]] = {}
            for q in qids:
                hits = per_q[q]
                s = np.array([ce[q][h.id] for h in hits])
                if weight is not None:
                    s = blend_scores(s, np.array([h.score for h in hits]), weight)
                order = np.argsort(-s, kind="stable")
                run[q] = [hits[i].chunk.document_id for i in order]
            label = f"{name} +rerank" + ("" if weight is None else f" blend {weight:g}")
            rows.append((label, score(run), base))

    # Latency of one Reranker.rerank call at 20 and 100 candidates (BM25 candidates).
    latency: dict[int, float] = {}
    for n in (20, 100):
        times = []
        for q in qids[: args.latency_queries]:
            hits = stages["bm25"][q][:n]
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TruncationWarning)
                reranker.rerank(queries[q], hits)
            times.append(time.perf_counter() - t0)
        latency[n] = statistics.median(times)

    precision_line = ""
    if args.compare_precision:
        fp32 = Reranker(model, batch_size=args.batch_size, precision="fp32", blend=None)
        spent = {"fp32": 0.0, str(reranker.precision): 0.0}
        worst, same_top10 = 0.0, 0
        for q in qids[: args.latency_queries]:
            texts_q = [h.chunk.text for h in stages["bm25"][q]]
            outs = {}
            for name, rr in (("fp32", fp32), (str(reranker.precision), reranker)):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", TruncationWarning)
                    t0 = time.perf_counter()
                    outs[name] = rr.score(queries[q], texts_q)
                    spent[name] += time.perf_counter() - t0
            a, b = outs["fp32"], outs[str(reranker.precision)]
            worst = max(worst, float(np.abs(a - b).max()))
            same_top10 += list(np.argsort(-a, kind="stable")[:10]) == list(
                np.argsort(-b, kind="stable")[:10])
        n_q = min(len(qids), args.latency_queries)
        speedup = spent["fp32"] / spent[str(reranker.precision)]
        precision_line = (
            f"precision: {reranker.precision} is {speedup:.2f}x "
            f"fp32's speed on {n_q} x {args.candidates} BM25 candidates; max |score diff| "
            f"{worst:.4f}; identical top-10 order for {same_top10}/{n_q} claims")

    print(f"SciFact {split}, {len(qids)} claims, top {args.candidates} of each first stage; "
          f"reranker {reranker.model_name} (max_length {reranker.max_length}, "
          f"{reranker.precision}); {platform.machine()}, torch threads "
          f"{torch.get_num_threads()}")
    print(f"{'pipeline':<28}" + "".join(f"{m:>11}" for m in METRICS) + f"{'ndcg ratio':>12}")
    for label, m, base in rows:
        print(f"{label:<28}" + "".join(f"{100 * m[k]:11.2f}" for k in METRICS)
              + f"{m['ndcg@10'] / base['ndcg@10']:12.3f}")
    best = max(rows, key=lambda r: r[1]["ndcg@10"])
    print(f"best: {best[0]} nDCG@10 {100 * best[1]['ndcg@10']:.2f}")
    print(f"cross-encoder: {pairs} pairs in {rerank_s:.1f} s = {pairs / rerank_s:.1f} pairs/s; "
          f"p50 rerank latency: 20 candidates {1e3 * latency[20]:.0f} ms, "
          f"100 candidates {1e3 * latency[100]:.0f} ms; {truncated} pairs "
          f"({100 * truncated / pairs:.0f}%) cut at {reranker.max_length} tokens")
    if precision_line:
        print(precision_line)
    print("reproduce: HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/rerank_scifact.py "
          + shlex.join(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
