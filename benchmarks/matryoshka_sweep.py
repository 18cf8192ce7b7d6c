"""Matryoshka sweep: SciFact test nDCG@10 at every dims, plus funnel search vs full dims.

MiniLM (not Matryoshka-trained) at 384/256/128/64 and WordLlama (trained) at 256/128/64,
exact search; then a funnel (64-d shortlist of 100 through ``MemoryStore``, rescored at
full dims) against full-dims search. Truncated vectors are the full ones truncated and
renormalised, which is what ``Embedder(dimensions=N)`` returns (tests/test_matryoshka.py
checks the equality). Corpus embeddings go to the persistent ``EmbeddingCache`` under
``embedweave.paths.cache_dir()``, keyed by model fingerprint, so reruns skip the ~5 min
MiniLM encode. Writes a PNG plot and the table into docs/.

Reproduce:
    .venv/bin/python benchmarks/matryoshka_sweep.py --write-docs
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "embedding.md"
PLOT = ROOT / "docs" / "img" / "matryoshka_sweep.png"
COMMAND = "python benchmarks/matryoshka_sweep.py"
MODELS = {"minilm": (384, 256, 128, 64), "wordllama-256": (256, 128, 64)}
ANCHORS = {"minilm": (64.5, 63.5, 60.2, 48.4), "wordllama-256": (51.6, 46.6, 37.0)}


def exact_run(
    q: np.ndarray, d: np.ndarray, qids: list[str], dids: list[str], k: int = 100
) -> dict[str, list[str]]:
    """Top-k doc ids per query by dot product (vectors are unit length)."""
    scores = q @ d.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    run = {}
    for i, qid in enumerate(qids):
        order = top[i][np.argsort(-scores[i, top[i]], kind="stable")]
        run[qid] = [dids[j] for j in order]
    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--funnel-dims", type=int, default=64)
    ap.add_argument("--shortlist", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--write-docs", action="store_true", help="update docs/embedding.md + PNG")
    args = ap.parse_args(argv)

    from embedweave.cache import EmbeddingCache
    from embedweave.embedding import Embedder
    from embedweave.eval.beir import load_scifact
    from embedweave.eval.metrics import evaluate
    from embedweave.funnel import funnel_memory, funnel_search, low_space, with_low_vectors
    from embedweave.matryoshka import truncate
    from embedweave.store import MemoryStore
    from embedweave.types import Chunk

    ds = load_scifact("test")
    dids = ds.doc_ids()
    docs = [ds.doc_text(i) for i in dids]
    qids = list(ds.queries)
    queries = [ds.queries[q] for q in qids]
    cache = EmbeddingCache()
    print(
        f"SciFact test: {len(docs)} abstracts, {len(qids)} queries; cache {cache.path}", flush=True
    )

    results: dict[str, dict[int, float]] = {}
    funnel_rows = []
    for model, dims_list in MODELS.items():
        emb = Embedder(model, batch_size=args.batch_size, cache=cache, device="cpu")
        t0 = time.perf_counter()
        D = emb.embed_documents(docs, show_progress=emb.calls == 0)
        Q = emb.embed_queries(queries)
        print(
            f"{model}: corpus + queries in {time.perf_counter() - t0:.1f}s "
            f"({emb.embedded} embedded, {emb.stats.cache_hits} from cache, "
            f"{emb.truncated} truncated)",
            flush=True,
        )
        results[model] = {}
        for dims in dims_list:
            Dd, Qd = (D, Q) if dims == emb.dims else (truncate(D, dims), truncate(Q, dims))
            score = evaluate(exact_run(Qd, Dd, qids, dids), ds.qrels, (10,), ("ndcg",))
            results[model][dims] = 100 * score["ndcg@10"]
            print(f"  {dims:4d} dims: nDCG@10 {results[model][dims]:.2f}", flush=True)

        # Funnel through the Store interface: low-dim shortlist, full-dim rescoring.
        full = emb.space()
        store = MemoryStore([full, low_space(full, args.funnel_dims)])
        chunks = [Chunk(d, 0, t) for d, t in zip(dids, docs, strict=True)]
        store.upsert(chunks, with_low_vectors({full.name: D}, full, args.funnel_dims))
        by_chunk = {c.id: c.document_id for c in chunks}
        t0 = time.perf_counter()
        run = {
            qid: [
                by_chunk[h.id]
                for h in funnel_search(
                    store, Q[i], space=full.name, funnel=(args.funnel_dims, args.shortlist), k=10
                )
            ]
            for i, qid in enumerate(qids)
        }
        secs = time.perf_counter() - t0
        funnel = 100 * evaluate(run, ds.qrels, (10,), ("ndcg",))["ndcg@10"]
        full_score = results[model][emb.dims]
        mem = funnel_memory(len(docs), emb.dims, args.funnel_dims)
        funnel_rows.append((model, emb.dims, full_score, funnel, funnel / full_score, mem))
        print(
            f"  funnel {args.funnel_dims}d x {args.shortlist} -> {emb.dims}d: nDCG@10 "
            f"{funnel:.2f} = {funnel / full_score:.1%} of full ({secs:.1f}s for "
            f"{len(qids)} queries); {mem.summary()}",
            flush=True,
        )

    table = render(results, funnel_rows, args)
    print()
    print(table)
    if args.write_docs:
        plot(results, funnel_rows, args.funnel_dims, PLOT)
        from embed_throughput import write_block

        write_block(DOCS, "sweep", table)
        print(f"\nwrote {PLOT} and the table into {DOCS}")
    return 0


def render(
    results: dict[str, dict[int, float]], funnel_rows: list, args: argparse.Namespace
) -> str:
    lines = [
        "| model | Matryoshka-trained | dims | nDCG@10 | share of full dims | expected |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for model, by_dims in results.items():
        native = max(by_dims)
        for (dims, score), anchor in zip(by_dims.items(), ANCHORS[model], strict=True):
            trained = "yes" if model.startswith("wordllama") else "no"
            lines.append(
                f"| {model} | {trained} | {dims} | {score:.1f} | "
                f"{score / by_dims[native]:.1%} | {anchor} |"
            )
    lines += [
        "",
        f"Funnel: {args.funnel_dims}-d shortlist of {args.shortlist} (MemoryStore), "
        "rescored exactly at full dims (goal >= 99% of full-dims nDCG@10):",
        "",
        "| model | full dims | full nDCG@10 | funnel nDCG@10 | funnel / full | "
        "HNSW memory full -> funnel |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for model, dims, full, funnel, ratio, mem in funnel_rows:
        lines.append(
            f"| {model} | {dims} | {full:.1f} | {funnel:.1f} | {ratio:.1%} | "
            f"{mem.full_vector_bytes + mem.link_bytes} -> {mem.low_vector_bytes + mem.link_bytes}"
            f" B/vector ({mem.saved_fraction:.0%} less) |"
        )
    lines += ["", f"Reproduce: `{COMMAND} --write-docs`"]
    return "\n".join(lines)


def plot(
    results: dict[str, dict[int, float]], funnel_rows: list, funnel_dims: int, path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    colors = ("tab:blue", "tab:orange")
    for (model, by_dims), color in zip(results.items(), colors, strict=True):
        dims = sorted(by_dims)
        trained = " (Matryoshka-trained)" if model.startswith("wordllama") else " (not trained)"
        ax.plot(dims, [by_dims[d] for d in dims], "o-", color=color, label=model + trained)
    for (model, _, _, funnel, _, _), color in zip(funnel_rows, colors, strict=True):
        ax.plot(
            [funnel_dims],
            [funnel],
            "*",
            color=color,
            markersize=13,
            label=f"{model} funnel {funnel_dims}d -> full",
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks([64, 128, 256, 384])
    ax.set_xticklabels(["64", "128", "256", "384"])
    ax.set_xlabel("embedding dims")
    ax.set_ylabel("SciFact test nDCG@10")
    ax.set_title("Quality vs dims (truncate + renormalise)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
