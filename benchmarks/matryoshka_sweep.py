"""Matryoshka sweep: SciFact test nDCG@10 at every dims, plus funnel search vs full dims.

MiniLM (not Matryoshka-trained) at 384/256/128/64 and WordLlama (trained) at 256/128/64,
exact search; then funnels (e.g. a 64-d shortlist of 100 through ``MemoryStore``, rescored at
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
    ap.add_argument(
        "--funnels",
        default="64x100,64x300,128x100",
        help="funnel configurations DIMSxSHORTLIST; the first is the headline one",
    )
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--write-docs", action="store_true", help="update docs/embedding.md + PNG")
    args = ap.parse_args(argv)
    funnels = [tuple(int(x) for x in f.split("x")) for f in args.funnels.split(",")]

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
        lows = sorted({d for d, _ in funnels})
        store = MemoryStore([full] + [low_space(full, d) for d in lows])
        vectors: dict[str, np.ndarray] = {full.name: D}
        for d in lows:
            vectors = with_low_vectors(vectors, full, d)
        chunks = [Chunk(d, 0, t) for d, t in zip(dids, docs, strict=True)]
        store.upsert(chunks, vectors)
        by_chunk = {c.id: c.document_id for c in chunks}
        full_score = results[model][emb.dims]
        full_top10 = exact_run(Q, D, qids, dids, k=10)
        for low_dims, shortlist in funnels:
            # How much of the full-dims top 10 the low-dims shortlist still holds.
            pool = exact_run(truncate(Q, low_dims), truncate(D, low_dims), qids, dids, shortlist)
            kept = np.mean([len(set(full_top10[q]) & set(pool[q])) / 10 for q in qids])
            t0 = time.perf_counter()
            run = {
                qid: [
                    by_chunk[h.id]
                    for h in funnel_search(
                        store, Q[i], space=full.name, funnel=(low_dims, shortlist), k=10
                    )
                ]
                for i, qid in enumerate(qids)
            }
            secs = time.perf_counter() - t0
            funnel = 100 * evaluate(run, ds.qrels, (10,), ("ndcg",))["ndcg@10"]
            mem = funnel_memory(len(docs), emb.dims, low_dims)
            funnel_rows.append(
                (
                    model,
                    emb.dims,
                    low_dims,
                    shortlist,
                    full_score,
                    funnel,
                    funnel / full_score,
                    mem,
                    kept,
                )
            )
            print(
                f"  funnel {low_dims}d x {shortlist} -> {emb.dims}d: nDCG@10 "
                f"{funnel:.2f} = {funnel / full_score:.1%} of full ({secs:.1f}s for "
                f"{len(qids)} queries); full top 10 in shortlist {kept:.1%}; {mem.summary()}",
                flush=True,
            )

    table = render(results, funnel_rows, args)
    print()
    print(table)
    if args.write_docs:
        plot(results, funnel_rows, PLOT)
        from embed_throughput import write_block

        write_block(DOCS, "sweep", table)
        print(f"\nwrote {PLOT} and the table into {DOCS}")
    return 0


def render(
    results: dict[str, dict[int, float]], funnel_rows: list, args: argparse.Namespace
) -> str:
    """Markdown tables: quality per dims, then funnel configurations."""
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
        "Funnel: shortlist in the low-dims space (`MemoryStore`, exact), rescore the shortlist "
        "at full dims (goal >= 99% of full-dims nDCG@10):",
        "",
        "| model | funnel | full nDCG@10 | funnel nDCG@10 | funnel / full | "
        "full top 10 in shortlist | HNSW memory per vector, full -> funnel |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for model, dims, low, shortlist, full, funnel, ratio, mem, kept in funnel_rows:
        lines.append(
            f"| {model} | {low}-d x {shortlist} -> {dims}-d | {full:.1f} | {funnel:.1f} | "
            f"{ratio:.1%} | {kept:.1%} | {mem.full_vector_bytes + mem.link_bytes} B -> "
            f"{mem.low_vector_bytes + mem.link_bytes} B ({mem.saved_fraction:.0%} less) |"
        )
    flag = "" if args.funnels == "64x100,64x300,128x100" else f" --funnels {args.funnels}"
    lines += ["", f"Reproduce: `{COMMAND} --write-docs{flag}`"]
    return "\n".join(lines)


def plot(results: dict[str, dict[int, float]], funnel_rows: list, path: Path) -> None:
    """Quality vs dims per model; funnel results as markers at their shortlist dims."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9.0, 4.4), dpi=120)
    colors = ("tab:blue", "tab:orange")
    for (model, by_dims), color in zip(results.items(), colors, strict=True):
        dims = sorted(by_dims)
        trained = " (Matryoshka-trained)" if model.startswith("wordllama") else " (not trained)"
        ax.plot(dims, [by_dims[d] for d in dims], "o-", color=color, label=model + trained)
    color_of = dict(zip(results, colors, strict=True))
    markers = {}
    for model, _, low, shortlist, _, funnel, _, _, _ in funnel_rows:
        marker = markers.setdefault(shortlist, "*^sDv"[len(markers) % 5])
        ax.plot(
            [low],
            [funnel],
            marker,
            color=color_of[model],
            markersize=10,
            alpha=0.8,
            label=f"{model} funnel {low}-d x {shortlist}",
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks([64, 128, 256, 384])
    ax.set_xticklabels(["64", "128", "256", "384"])
    ax.set_xlabel("embedding dims")
    ax.set_ylabel("SciFact test nDCG@10")
    ax.set_title("Quality vs dims (truncate + renormalise)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
