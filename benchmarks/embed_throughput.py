"""Embedding throughput: ``Embedder`` vs raw sentence-transformers, LlamaIndex and LangChain.

2,000 SciFact abstracts (title + text), all-MiniLM-L6-v2 from the bundled package, CPU.
``Embedder`` (cache off) and ``SentenceTransformer.encode`` use the same batch size; the
goal is Embedder >= 0.97x raw. LlamaIndex ``HuggingFaceEmbedding`` and LangChain
``HuggingFaceEmbeddings`` run at their defaults, given the local MiniLM folder. All run
interleaved: each round embeds the same slice with every system, in rotating order, so
changes in machine load fall on all alike. Wall-clock and process-CPU ratios are printed.

Reproduce:
    .venv/bin/python benchmarks/embed_throughput.py                   # ~10 min on 2 idle cores
    .venv/bin/python benchmarks/embed_throughput.py --n 400 --no-frameworks   # quick
    add --write-docs to refresh the table in docs/embedding.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DOCS = Path(__file__).resolve().parents[1] / "docs" / "embedding.md"
COMMAND = "python benchmarks/embed_throughput.py"


def load_texts(n: int) -> list[str]:
    from embedweave.eval.beir import load_scifact

    ds = load_scifact("test")
    ids = ds.doc_ids()[:n]
    if len(ids) < n:
        raise SystemExit(f"SciFact has only {len(ids)} abstracts, asked for {n}")
    return [ds.doc_text(i) for i in ids]


def timed(fn: Callable[[list[str]], object], texts: list[str]) -> float:
    t0 = time.perf_counter()
    fn(texts)
    return time.perf_counter() - t0


def timed_both(fn: Callable[[list[str]], object], texts: list[str]) -> tuple[float, float]:
    """(wall seconds, process CPU seconds): CPU time is less sensitive to other load."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn(texts)
    return time.perf_counter() - w0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="abstracts to embed")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=16, help="interleaved slices")
    ap.add_argument("--no-frameworks", action="store_true", help="skip LlamaIndex/LangChain")
    ap.add_argument("--write-docs", action="store_true", help="update docs/embedding.md")
    args = ap.parse_args(argv)

    import torch
    from sentence_transformers import SentenceTransformer

    from embedweave.embedding import Embedder, TruncationWarning
    from embedweave.models import resolve_model

    texts = load_texts(args.n)
    path = resolve_model("minilm").path
    bs = args.batch_size
    print(
        f"{args.n} SciFact abstracts, all-MiniLM-L6-v2, CPU, torch threads "
        f"{torch.get_num_threads()}, batch size {bs}",
        flush=True,
    )

    raw_model = SentenceTransformer(path, device="cpu")
    embedder = Embedder("minilm", device="cpu", batch_size=bs)

    def raw(batch: list[str]) -> object:
        return raw_model.encode(batch, batch_size=bs, show_progress_bar=False)

    def ours(batch: list[str]) -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TruncationWarning)  # counted below
            return embedder.embed_documents(batch)

    systems: dict[str, Callable[[list[str]], object]] = {"raw": raw, "embedweave": ours}
    labels = {
        "raw": ("sentence-transformers `encode` (raw)", bs),
        "embedweave": ("embedweave `Embedder`", bs),
    }
    if not args.no_frameworks:
        from langchain_huggingface import HuggingFaceEmbeddings
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        li = HuggingFaceEmbedding(model_name=path, device="cpu")
        lc = HuggingFaceEmbeddings(model_name=path, model_kwargs={"device": "cpu"})
        systems["llamaindex"] = li.get_text_embedding_batch
        systems["langchain"] = lc.embed_documents
        labels["llamaindex"] = ("LlamaIndex `HuggingFaceEmbedding` (defaults)", li.embed_batch_size)
        labels["langchain"] = ("LangChain `HuggingFaceEmbeddings` (defaults)", 32)
    warm = texts[:bs]
    for fn in systems.values():
        fn(warm)
    truncated_before = embedder.truncated

    # Every round runs every system on the same slice, in a rotating order, so changes in
    # machine load fall on all of them alike.
    names = list(systems)
    totals = dict.fromkeys(systems, 0.0)
    cpu = dict.fromkeys(systems, 0.0)
    step = -(-len(texts) // args.rounds)
    for r, start in enumerate(range(0, len(texts), step)):
        part = texts[start : start + step]
        order = names[r % len(names) :] + names[: r % len(names)]
        if r % 2:
            order.reverse()
        for name in order:
            wall, used = timed_both(systems[name], part)
            totals[name] += wall
            cpu[name] += used
        print(
            f"  round {r + 1}/{args.rounds}: "
            + ", ".join(f"{n} {totals[n]:.1f}s" for n in names)
            + " (cumulative wall)",
            flush=True,
        )
    # The wrapper's own work, timed alone: token counting for the truncation report.
    t_count = timed(lambda b: embedder._backend.too_long(b, ""), texts)
    truncated = embedder.truncated - truncated_before
    rows = [(*labels[n], totals[n]) for n in names]

    t_ours, t_raw = totals["embedweave"], totals["raw"]
    lines = [
        "| system | batch size | seconds | abstracts/s | speed vs raw encode |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, b, secs in rows:
        lines.append(f"| {name} | {b} | {secs:.1f} | {args.n / secs:.1f} | {t_raw / secs:.3f}x |")
    ratio = t_raw / t_ours
    lines += [
        "",
        f"embedweave / raw encode throughput: **{ratio:.3f}x** wall-clock, "
        f"{cpu['raw'] / cpu['embedweave']:.3f}x by process CPU time (goal >= 0.97x). "
        f"Counting tokens for the truncation report took {t_count:.2f}s "
        f"({t_count / t_raw:.1%} of the raw encode time); {truncated} of {args.n} abstracts "
        "exceeded MiniLM's 256-token window and were reported.",
        "",
        f"Reproduce: `{COMMAND} --n {args.n} --batch-size {bs} --rounds {args.rounds}"
        f"{' --no-frameworks' if args.no_frameworks else ''}`",
    ]
    table = "\n".join(lines)
    print()
    print(table)
    if args.write_docs:
        write_block(DOCS, "throughput", table)
        print(f"\nwrote the table into {DOCS}")
    return 0


def write_block(path: Path, name: str, body: str) -> None:
    """Replace the text between ``<!-- name:begin -->`` and ``<!-- name:end -->``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = path.read_text(encoding="utf-8")
    if begin not in text or end not in text:
        raise SystemExit(f"{path} lacks the {begin} ... {end} markers")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{body}\n{end}{tail}", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
