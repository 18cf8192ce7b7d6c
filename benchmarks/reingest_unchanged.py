"""Re-ingesting an unchanged corpus: incremental ``Index`` vs a full rewrite, one process.

The first 5,000 SciFact abstracts (title + text) go into a fresh Weaviate collection;
then the same corpus is ingested again three ways, interleaved per round on the same
server and model:
  * ``incremental``: ``Index.add_documents`` (content hashes: skip what is stored),
  * ``full rewrite``: what re-ingest cost before issue #14 - embed and upsert every
    chunk again (``Index.add_chunks`` of the same chunks),
and the first ingest is reported beside them. Printed: seconds, model calls, texts
embedded, chunks written, and the ratios.

Reproduce:
    .venv/bin/python benchmarks/reingest_unchanged.py                   # wordllama-256
    .venv/bin/python benchmarks/reingest_unchanged.py --model minilm --docs 1000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from embedweave.embedding import Embedder
from embedweave.paths import data_dir
from embedweave.pipeline import Index
from embedweave.server import ManagedWeaviate
from embedweave.store.weaviate import WeaviateStore
from embedweave.types import Document


def scifact(n: int) -> list[Document]:
    docs = []
    with open(data_dir() / "scifact" / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            docs.append(Document(str(row["_id"]), f"{row['title']} {row['text']}".strip(),
                                 {"title": row["title"]}))
            if len(docs) == n:
                break
    return docs


class Counting(WeaviateStore):
    """The real store, counting chunks written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.written = 0
        super().__init__(*args, **kwargs)

    def upsert(self, chunks: Any, vectors: Any, *, tenant: str | None = None) -> list[str]:
        self.written += len(chunks)
        return super().upsert(chunks, vectors, tenant=tenant)


def run(label: str, fn: Any, emb: Embedder, store: Counting) -> dict[str, Any]:
    calls, texts, written = emb.calls, emb.stats.embedded, store.written
    t0 = time.perf_counter()
    fn()
    return {"run": label, "seconds": time.perf_counter() - t0, "model_calls": emb.calls - calls,
            "texts_embedded": emb.stats.embedded - texts, "chunks_written": store.written - written}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--docs", type=int, default=5000)
    ap.add_argument("--model", default="wordllama-256")
    ap.add_argument("--dims", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)

    docs = scifact(args.docs)
    emb = Embedder(args.model, dimensions=args.dims)
    with tempfile.TemporaryDirectory(prefix="reingest-") as tmp, ManagedWeaviate(
        Path(tmp) / "data"
    ) as server:
        store = Counting("ReingestBench", [emb.space()], server=server)
        index = Index(store, emb)
        chunks: list[Any] = []

        def first() -> None:
            chunks.extend(store.get(list(index.add_documents(docs))))

        rows = [run("first ingest", first, emb, store)]
        for _ in range(args.rounds):
            rows.append(run("incremental", lambda: index.add_documents(docs), emb, store))
            rows.append(run("full rewrite", lambda: index.add_chunks(chunks), emb, store))
        count = store.count()
        store.drop()
        store.close()

    def mean(label: str, key: str) -> float:
        vals = [r[key] for r in rows if r["run"] == label]
        return sum(vals) / len(vals)

    print(f"{len(docs)} SciFact documents -> {len(chunks)} chunks ({args.model}"
          f"{f' @ {args.dims} dims' if args.dims else ''}); collection count {count}")
    print(f"{'run':<14} {'seconds':>9} {'model calls':>12} {'embedded':>9} {'written':>8}")
    for label in ("first ingest", "incremental", "full rewrite"):
        print(f"{label:<14} {mean(label, 'seconds'):>9.2f} {mean(label, 'model_calls'):>12.0f} "
              f"{mean(label, 'texts_embedded'):>9.0f} {mean(label, 'chunks_written'):>8.0f}")
    inc, full, cold = (mean(x, "seconds") for x in ("incremental", "full rewrite", "first ingest"))
    print(f"incremental re-ingest: {full / inc:.1f}x faster than a full rewrite, "
          f"{cold / inc:.1f}x faster than the first ingest (mean of {args.rounds} rounds)")
    print("reproduce: .venv/bin/python benchmarks/reingest_unchanged.py " + " ".join(
        sys.argv[1:] if argv is None else argv))
    ok = mean("incremental", "model_calls") == 0 and mean("incremental", "chunks_written") == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
