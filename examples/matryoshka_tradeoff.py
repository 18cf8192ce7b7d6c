"""Matryoshka trade-off: vector dimensions vs retrieval quality vs memory, measured here.

Run:  python examples/matryoshka_tradeoff.py [--plot out.png]

The corpus is the sections of examples/data/docs, the questions and their relevant
sections are examples/data/questions.jsonl. WordLlama (trained for 64/128/256 dims) and
MiniLM (not Matryoshka-trained, so truncating it costs more) are evaluated at several
sizes through Weaviate, plus a funnel search (shortlist at 64 dims, rescore at 256).
Prints quality, bytes per vector and the in-memory HNSW size for one million vectors,
and writes a plot. A 23-section corpus is small: treat differences of a few points as
noise, and run `embedweave eval --dims 64,128,256 --model wordllama-256` for SciFact.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import DATA, DOCS, add_weaviate_args, read_jsonl, weaviate

from embedweave.funnel import HNSW_BYTES_PER_LINK, HNSW_MAX_CONNECTIONS

SIZES = {"wordllama-256": (64, 128, 256), "minilm": (96, 192, 384)}
FUNNEL = ("wordllama-256", 64, 20)  # model, shortlist dims, shortlist size
N_VECTORS = 1_000_000
#: Weaviate's planning estimate: 2 x maxConnections links on layer 0, ~10 bytes each.
LINK_BYTES = 2 * HNSW_MAX_CONNECTIONS * HNSW_BYTES_PER_LINK


def docs_dataset():  # type: ignore[no-untyped-def]
    """The docs' Markdown sections as a BEIR-style dataset with the authored questions."""
    from embedweave.eval.beir import BeirDataset
    from embedweave.loaders import markdown_sections

    corpus = {}
    for path in sorted(DOCS.glob("*.md")):
        for sec in markdown_sections(path.read_text(encoding="utf-8")):
            if sec.heading and sec.body.strip():
                corpus[f"{path.name}#{sec.heading}"] = {"title": sec.breadcrumb,
                                                        "text": sec.body}
    queries, qrels = {}, {}
    for i, q in enumerate(read_jsonl(DATA / "questions.jsonl")):
        unknown = [d for d in q["relevant"] if d not in corpus]
        if unknown:
            raise SystemExit(f"questions.jsonl line {i + 1}: unknown sections {unknown}")
        queries[f"q{i}"] = q["query"]
        qrels[f"q{i}"] = dict(q["relevant"])
    return BeirDataset("embedweave-docs", "test", corpus, queries, qrels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_plot = Path(tempfile.gettempdir()) / "embedweave-examples" / "matryoshka_tradeoff.png"
    parser.add_argument("--plot", type=Path, default=default_plot,
                        help=f"where to write the plot (default {default_plot})")
    add_weaviate_args(parser, "unused")
    args = parser.parse_args()

    import warnings

    from embedweave.eval.runner import EvalRunner, PipelineConfig
    from embedweave.matryoshka import MatryoshkaWarning
    from embedweave.models import resolve_model

    data = docs_dataset()
    print(f"{len(data.corpus)} sections, {len(data.queries)} questions")
    configs = [PipelineConfig(model=m, dims=None if d == resolve_model(m).dims else d)
               for m, sizes in SIZES.items() for d in sizes]
    model, low, shortlist = FUNNEL
    configs.append(PipelineConfig(model=model, funnel=(low, shortlist)))

    with weaviate(args) as conn:
        runner = EvalRunner(data, url=conn.url, grpc_port=conn.grpc_port,
                            k_values=(1, 3, 5, 10), keep=False, show_progress=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MatryoshkaWarning)  # truncating MiniLM: the point
            results = runner.sweep(configs)

    rows = []
    for r in results:
        c = r.config
        native = resolve_model(c.model).dims
        dims = c.dims or native
        indexed = c.funnel[0] if c.funnel else dims  # dims of the in-memory HNSW index
        vec_bytes = 4 * indexed
        index_bytes = N_VECTORS * (vec_bytes + LINK_BYTES)
        what = f"funnel {c.funnel[0]}->{native}" if c.funnel else str(dims)
        trained = resolve_model(c.model).is_trained_dims(c.funnel[0] if c.funnel else dims)
        rows.append((c.model, what, "yes" if trained else "no", 100 * r.metrics["ndcg@10"],
                     100 * r.metrics["mrr@10"], 100 * r.metrics["recall@5"], vec_bytes,
                     index_bytes / 2**20, dims, r))

    head = ("model", "dims", "trained", "nDCG@10", "MRR@10", "R@5", "B/vector",
            "HNSW MiB/1M")
    print("\n" + "  ".join(f"{h:>{w}}" for h, w in zip(head, (14, 16, 7, 7, 6, 5, 8, 11),
                                                         strict=True)))
    for m, what, tr, nd, mrr, rec, vb, mib, _, _ in rows:
        print(f"{m:>14}  {what:>16}  {tr:>7}  {nd:7.1f}  {mrr:6.1f}  {rec:5.1f}  {vb:8d}  "
              f"{mib:11,.0f}")
    print(f"\nmemory: {N_VECTORS:,} float32 vectors + HNSW links ({LINK_BYTES} B each: "
          f"2 x maxConnections {HNSW_MAX_CONNECTIONS} x {HNSW_BYTES_PER_LINK} B); the funnel "
          "keeps only its low-dims vectors in the in-memory index")
    _plot(rows, args.plot)
    print(f"plot written to {args.plot}")


def _plot(rows: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    for model in SIZES:
        pts = sorted((r for r in rows if r[0] == model and "funnel" not in r[1]),
                     key=lambda r: r[8])
        left.plot([r[8] for r in pts], [r[3] for r in pts], marker="o", label=model)
        right.plot([r[7] for r in pts], [r[3] for r in pts], marker="o", label=model)
    for r in rows:
        if "funnel" in r[1]:
            left.scatter([r[8]], [r[3]], marker="*", s=120, label=f"{r[0]} {r[1]}")
            right.scatter([r[7]], [r[3]], marker="*", s=120, label=f"{r[0]} {r[1]}")
    left.set_xscale("log", base=2)
    left.set_xlabel("dimensions")
    right.set_xlabel("in-memory HNSW for 1M vectors (MiB)")
    for ax in (left, right):
        ax.set_ylabel("nDCG@10 x 100")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Matryoshka dims vs quality vs memory (embedweave docs questions)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
