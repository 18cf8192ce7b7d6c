"""SciFact: all-MiniLM-L6-v2 as shipped vs fine-tuned here, side by side in one process.

Training sees SciFact *train* qrels only (809 claims); every score is on the 300 *test*
claims. Both models are encoded the same way (sentence-transformers, bf16 autocast where
the CPU runs it natively) and searched exactly (numpy / MemoryStore), so the figures
isolate the model:

- dense nDCG@10 and Recall@100 at 384/256/128/64 dims (Matryoshka truncation);
- the funnel: 64-d shortlist of 100, rescored at full dims (``embedweave.funnel``), as a
  share of full-dims nDCG@10;
- hybrid (BM25 + dense, Weaviate's relative-score fusion) over an alpha sweep, and the
  best alpha's top ``--candidates`` reranked by ``Reranker("scifact-minilm")`` blended
  (``--rerank``; needs ``embedweave train reranker`` first);
- ``--ablation``: the recipe with one thing changed at a time (negatives random / BM25 /
  BM25+dense, MatryoshkaLoss off, guard off), each trained and scored the same way.

Reproduce (2-core CPU; minutes each):
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/finetune_scifact.py --rerank
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/finetune_scifact.py --ablation --epochs 1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import shlex
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from embedweave.eval.beir import BeirDataset, load_scifact
from embedweave.eval.metrics import evaluate
from embedweave.funnel import funnel_search, low_space, low_vectors
from embedweave.models import resolve_model
from embedweave.paths import data_dir
from embedweave.precision import bf16_native
from embedweave.store.base import VectorSpace
from embedweave.store.memory import MemoryStore
from embedweave.train.data import from_beir
from embedweave.train.embedder import (
    EMBEDDER_MANIFEST,
    EmbedderTrainConfig,
    load_st_model,
    st_encoder,
    train_embedder,
)
from embedweave.train.report import BeforeAfter
from embedweave.types import Chunk, Hit

ALPHAS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def encode_all(model_name: str, test: BeirDataset) -> tuple[np.ndarray, np.ndarray]:
    """(doc vectors, query vectors) at full dims, unit length, through ``st_encoder``."""
    spec = resolve_model(model_name)
    model = load_st_model(spec, "cpu")
    enc = st_encoder(model, {"query": spec.query_prompt, "document": spec.document_prompt},
                     bf16=bf16_native("cpu"))
    docs = enc([test.doc_text(d) for d in test.doc_ids()], "document")
    queries = enc([test.queries[q] for q in test.queries], "query")
    return docs, queries


def ndcg(run: dict[str, list[str]], test: BeirDataset) -> float:
    return 100 * evaluate(run, test.qrels, k_values=(10,), metrics=("ndcg",))["ndcg@10"]


def pipelines(name: str, docs: np.ndarray, queries: np.ndarray, test: BeirDataset,
              rerank: Any, candidates: int) -> dict[str, float]:
    """Funnel, hybrid sweep and (optionally) reranked hybrid nDCG@10 of one model."""
    ids = test.doc_ids()
    qids = list(test.queries)
    full = VectorSpace(name="v", model=name, fingerprint=name, dims=docs.shape[1],
                       distance="cosine")
    low = low_space(full, 64)
    store = MemoryStore([full, low], name="scifact")
    store.upsert([Chunk(document_id=d, index=0, text=test.doc_text(d)) for d in ids],
                 {full.name: docs, low.name: low_vectors(docs, 64)})
    out: dict[str, float] = {}
    dense = {q: [h.chunk.document_id for h in store.search(v, space="v", k=10)]
             for q, v in zip(qids, queries, strict=True)}
    out["dense"] = ndcg(dense, test)
    funnel = {q: [h.chunk.document_id
                  for h in funnel_search(store, v, space="v", funnel=(64, 100), k=10)]
              for q, v in zip(qids, queries, strict=True)}
    out["funnel 64x100"] = ndcg(funnel, test)
    hybrid_hits: dict[float, dict[str, list[Hit]]] = {}
    for a in ALPHAS:
        hybrid_hits[a] = {q: store.hybrid_search(test.queries[q], v, space="v", alpha=a,
                                                 k=candidates)
                          for q, v in zip(qids, queries, strict=True)}
        out[f"hybrid a={a}"] = ndcg({q: [h.chunk.document_id for h in hs[:10]]
                                     for q, hs in hybrid_hits[a].items()}, test)
    best = max(ALPHAS, key=lambda a: out[f"hybrid a={a}"])
    out["best alpha"] = best
    if rerank is not None:
        t = time.time()
        reranked = {q: [h.chunk.document_id for h in rerank.rerank(test.queries[q], hs)[:10]]
                    for q, hs in hybrid_hits[best].items()}
        out[f"hybrid a={best} + rerank (blend)"] = ndcg(reranked, test)
        out["rerank seconds"] = round(time.time() - t, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="minilm",
                    help="base model (wordllama-256 makes a quick ablation on 2 cores)")
    ap.add_argument("--epochs", type=int, default=EmbedderTrainConfig.epochs)
    ap.add_argument("--negatives", type=int, default=EmbedderTrainConfig.negatives)
    ap.add_argument("--lr", type=float, default=EmbedderTrainConfig.learning_rate)
    ap.add_argument("--batch-size", type=int, default=EmbedderTrainConfig.batch_size)
    ap.add_argument("--pool", type=int, default=EmbedderTrainConfig.pool)
    ap.add_argument("--guard", type=float, default=EmbedderTrainConfig.guard)
    ap.add_argument("--remine", action="store_true")
    ap.add_argument("--max-seq-length", type=int, default=None)
    ap.add_argument("--rerank", action="store_true",
                    help="rerank the best hybrid with Reranker('scifact-minilm')")
    ap.add_argument("--candidates", type=int, default=30,
                    help="hybrid hits per claim handed to the reranker")
    ap.add_argument("--ablation", action="store_true",
                    help="train variants of the recipe, one change each, and score them")
    ap.add_argument("--output", type=Path, default=None,
                    help="keep the fine-tuned model (and its report) here")
    ap.add_argument("--json", type=Path, default=None, help="write every figure here")
    ap.add_argument("--tuned", type=Path, default=None,
                    help="score this already fine-tuned folder instead of training")
    ap.add_argument("--train-claims", type=int, default=None,
                    help="train on a seeded subset of this many claims (cheaper ablations)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # long abstracts are cut at 256 tokens, as in MTEB
    torch.manual_seed(0)
    recipe = EmbedderTrainConfig(epochs=args.epochs, negatives=args.negatives,
                                 learning_rate=args.lr, batch_size=args.batch_size,
                                 pool=args.pool, guard=args.guard, remine=args.remine,
                                 max_seq_length=args.max_seq_length)
    train = from_beir(data_dir() / "scifact", "train")
    if args.train_claims is not None:
        train = train.split(len(train.queries) - args.train_claims, seed=0)[1]
    test = load_scifact("test")
    # SciFact train and test share a few claim texts under different ids; those are
    # left out of training so no evaluated claim is ever trained on.
    seen = set(test.queries.values())
    overlap = [q for q, text in train.queries.items() if text in seen]
    train = train.subset([q for q in train.queries if q not in overlap])
    command = "HF_HUB_OFFLINE=1 .venv/bin/python " + shlex.join(["benchmarks/finetune_scifact.py",
                                                                 *(argv or sys.argv[1:])])
    print(f"# {platform.machine()}, torch threads {torch.get_num_threads()}, bf16 "
          f"{bf16_native('cpu')}; train: {len(train.queries)} SciFact train claims "
          f"({len(train.pairs())} pairs; {len(overlap)} claims left out, their text "
          f"is also a test claim); test: {len(test.queries)} claims")
    results: dict[str, Any] = {"command": command}
    rerank = None
    if args.rerank:  # before training: a missing model fails now, not after it
        from embedweave.rerank import Reranker

        rerank = Reranker("scifact-minilm")
    variants = {"recipe": recipe}
    if args.ablation:
        variants = {
            "recipe (bm25+dense, guard, matryoshka)": recipe,
            "random negatives": dataclasses.replace(recipe, miners=("random",), guard=None),
            "bm25 negatives": dataclasses.replace(recipe, miners=("bm25",)),
            "guard off": dataclasses.replace(recipe, guard=None),
            "no MatryoshkaLoss": dataclasses.replace(recipe, matryoshka=False),
            "in-batch negatives only": dataclasses.replace(recipe, negatives=0, miners=()),
        }
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, cfg) in enumerate(variants.items()):
            out = args.output if (args.output and not args.ablation) else Path(tmp) / f"m{i}"
            t = time.time()
            if args.tuned is not None:
                out = args.tuned
                m = json.loads((out / EMBEDDER_MANIFEST).read_text())
                rep = BeforeAfter.from_dict(m["before_after"])
                vectors = None
            else:
                trained = train_embedder(train, out, cfg, base=args.base, eval_data=test,
                                         show_progress=True, keep_vectors=True)
                vectors = trained.vectors
                m = trained.manifest
                assert trained.report is not None
                rep = trained.report
            print(f"\n## {label}: {json.dumps(dataclasses.asdict(cfg))}")
            print(f"training {m['seconds_train']:.0f} s + mining {m['seconds_mining']:.0f} s "
                  f"({m['steps']} steps, bf16 {m['bf16']}); mining removed "
                  f"{sum(x['guard_removed'] for x in m['mining'])} candidates by the guard; "
                  f"whole run {time.time() - t:.0f} s")
            print(rep.table())
            for d in sorted(rep.base, reverse=True):
                b, f = rep.base[d]["ndcg@10"], rep.tuned[d]["ndcg@10"]
                print(f"  {d:>3} dims: nDCG@10 {100 * b:.1f} -> {100 * f:.1f} ({f / b:.3f}x)")
            results[label] = {"config": dataclasses.asdict(cfg), "report": rep.to_dict(),
                              "seconds_train": m["seconds_train"],
                              "seconds_mining": m["seconds_mining"],
                              "guard_removed": [x["guard_removed"] for x in m["mining"]]}
            if not args.ablation:
                side: dict[str, dict[str, float]] = {}
                for who, name in (("base", args.base), ("tuned", str(out))):
                    if vectors is not None:  # what the before/after report encoded
                        docs, queries = vectors[who]["documents"], vectors[who]["queries"]
                    else:
                        docs, queries = encode_all(name, test)
                    side[who] = pipelines(who, docs, queries, test, rerank, args.candidates)
                print("\n| pipeline | base | tuned | ratio |\n|---|---:|---:|---:|")
                for key in side["tuned"]:
                    base_v, tuned_v = side["base"].get(key), side["tuned"][key]
                    if key == "best alpha" or key.endswith("seconds"):
                        print(f"| {key} | {base_v} | {tuned_v} | |")
                    elif base_v is not None:
                        print(f"| {key} | {base_v:.1f} | {tuned_v:.1f} | "
                              f"{tuned_v / base_v:.3f}x |")
                    else:
                        print(f"| {key} | | {tuned_v:.1f} | |")
                for who in side:
                    share = side[who]["funnel 64x100"] / side[who]["dense"]
                    print(f"funnel 64x100 / full dims ({who}): {100 * share:.1f}%")
                results["pipelines"] = side
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(f"\nreproduce: {command}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
