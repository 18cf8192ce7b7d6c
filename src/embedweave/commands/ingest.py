"""``embedweave ingest PATH...``: files (txt, md, html, pdf) into a Weaviate collection.

Each file is one document (id = its absolute path). Ingesting again is incremental:
unchanged files are neither embedded nor written, a changed file's new chunks are
written before its old ones are deleted, and ``--sync`` removes the chunks of files no
longer given (deleted from the folder). Markdown and HTML are split at headings first
and every chunk keeps its heading path; chunks are token-aware (default: the model's
window, 256-512 tokens, 50 overlap). Files that fail to load are reported and the
rest ingested (exit code 1).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from typing import Any

from embedweave.commands.common import (
    add_output_args,
    add_store_args,
    build_router,
    connect,
    note,
    progress_enabled,
    quiet_model_loading,
    remember,
)
from embedweave.errors import EmbedweaveError


def register(sub: Any) -> None:
    """Add the ``ingest`` command."""
    p = sub.add_parser(
        "ingest",
        help="load files (txt, md, html, pdf) into a collection",
        description="Chunk, embed and store files; folders are walked recursively.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    m = p.add_argument_group("model")
    m.add_argument("-m", "--model", default=None,
                   help="embedding model: minilm (default), wordllama-256, use-multilingual, "
                   "a Hugging Face id, a local folder, or an API model openai:<model>, "
                   "cohere:<model>, voyage:<model> (key from $OPENAI_API_KEY, $CO_API_KEY, "
                   "$VOYAGE_API_KEY)")
    m.add_argument("--base-url", default=None,
                   help="API root of an openai: model served by an OpenAI-compatible server, "
                   "e.g. http://tei:8080/v1 (default $OPENAI_BASE_URL)")
    m.add_argument("--dims", type=int, default=None, help="Matryoshka output dims")
    m.add_argument("--routing", default=None,
                   help="route table YAML (language -> model); replaces --model")
    m.add_argument("--funnel-dims", type=int, default=None,
                   help="also store low-dim vectors for `query --funnel DIMS:SHORTLIST`")
    c = p.add_argument_group("chunking")
    c.add_argument("--chunk-size", type=int, default=None,
                   help="most tokens per chunk (default: fits the model, at most 512)")
    c.add_argument("--min-chunk", type=int, default=None,
                   help="fewest tokens before a chunk may end at a sentence (default size/2)")
    c.add_argument("--overlap", type=int, default=None, help="overlap tokens (default 50)")
    c.add_argument("--no-headings", action="store_true",
                   help="do not prefix chunks with their heading path")
    p.add_argument("--no-recursive", action="store_true", help="do not descend into folders")
    p.add_argument("--sync", action="store_true",
                   help="also delete documents of the collection that are not among the "
                   "given files (e.g. files deleted from the folder)")
    add_store_args(p)
    r = p.add_argument_group("replication")
    r.add_argument("--replication-factor", type=int, default=None,
                   help="copies of every object across the cluster's nodes (new collections)")
    r.add_argument("--consistency", choices=("ONE", "QUORUM", "ALL"), default=None,
                   help="replicas that must acknowledge reads and writes (default QUORUM)")
    add_output_args(p)
    p.set_defaults(func=run)


def _chunker(args: argparse.Namespace, router: Any) -> Any:
    from embedweave.loaders import SectionChunker
    from embedweave.pipeline import default_chunker

    base = default_chunker(router)
    size = args.chunk_size or base.max_tokens
    if args.chunk_size and args.chunk_size <= 0:
        raise EmbedweaveError(f"--chunk-size must be positive, got {args.chunk_size}")
    min_tokens = args.min_chunk if args.min_chunk is not None else min(base.min_tokens, size // 2)
    overlap = args.overlap if args.overlap is not None else min(base.overlap, size // 5)
    try:
        return SectionChunker(size, min_tokens, overlap, tokenizer=base.tokenizer,
                              headings=not args.no_headings)
    except ValueError as exc:
        raise EmbedweaveError(f"bad chunking options: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    """Load, chunk, embed and upsert every file; print a summary."""
    from tqdm import tqdm

    from embedweave.loaders import discover, load_file
    from embedweave.pipeline import Index

    started = time.monotonic()
    try:
        files, skipped = discover(args.paths, recursive=not args.no_recursive)
    except FileNotFoundError as exc:
        raise EmbedweaveError(str(exc)) from exc
    if not files:
        raise EmbedweaveError(
            "no supported files (.txt, .md, .html, .pdf) under " + ", ".join(args.paths)
        )
    disable = progress_enabled(args)
    quiet_model_loading()
    router = build_router(model=args.model, dims=args.dims, routing=args.routing,
                          base_url=args.base_url)
    chunker = _chunker(args, router)
    conn = connect(args)
    store = _open(conn, args, router.vector_spaces(funnel_dims=args.funnel_dims))
    failed: list[dict[str, str]] = []
    warned: list[str] = []
    try:
        index = Index(store, router, chunker)
        docs = []
        for f in tqdm(files, desc="loading", unit="file", disable=disable):
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    doc = load_file(f)
                warned += [f"{f}: {w.message}" for w in caught]
            except (OSError, EmbedweaveError, ValueError) as exc:
                failed.append({"path": str(f), "error": str(exc)})
                continue
            docs.append((doc, len(chunker.chunk(doc))))
        total = sum(n for _, n in docs)
        counts = dict.fromkeys(("added", "updated", "unchanged", "deleted", "chunks_written",
                                "chunks_deleted", "chunks_repaired"), 0)

        def add(group: list[Any]) -> None:
            for key, value in index.add_documents(group).counts().items():
                counts[key] += value

        with tqdm(total=total, desc="embedding", unit="chunk", disable=disable) as bar:
            group: list[Any] = []
            size = 0
            for doc, n in docs:
                group.append(doc)
                size += n
                if size >= 64:
                    add(group)
                    bar.update(size)
                    group, size = [], 0
            if group:
                add(group)
                bar.update(size)
        if args.sync:
            # a file that failed to load is kept: only files no longer given are removed
            keep = [d.id for d, _ in docs] + [f["path"] for f in failed]
            counts["deleted"] += index.sync(keep)
        chunks_written = counts["chunks_written"]
        remember(conn, store.name, {
            "model": None if args.routing else (args.model or "minilm"),
            "dims": args.dims,
            "base_url": args.base_url,
            "routing": str(_abs(args.routing)) if args.routing else None,
            "funnel_dims": args.funnel_dims,
        })  # fmt: skip
        count = store.count()
    finally:
        store.close()
    summary = {
        "collection": store.name,
        "url": conn.url,
        "files": len(docs),
        "chunks": chunks_written,
        **{k: v for k, v in counts.items() if k != "chunks_written"},
        "collection_chunks": count,
        "failed": failed,
        "skipped": [str(s) for s in skipped],
        "warnings": warned,
        "spaces": sorted(router.spaces),
        "seconds": round(time.monotonic() - started, 2),
    }
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        for w in warned:
            note(f"warning: {w}")
        for f in failed:
            note(f"error: {f['path']}: {f['error']}")
        if counts["chunks_repaired"]:
            note(f"repaired {counts['chunks_repaired']} chunk(s) a server crash had left "
                 "half-written")
        if skipped:
            note(f"skipped {len(skipped)} unsupported file(s) (e.g. {skipped[0]})")
        print(
            f"ingested {len(docs)} file(s) into {store.name} at {conn.url}: "
            f"{counts['added']} added, {counts['updated']} updated, {counts['unchanged']} "
            f"unchanged, {counts['deleted']} deleted; {chunks_written} chunk(s) written, "
            f"{counts['chunks_deleted']} stale deleted ({count} chunks in the collection, "
            f"{summary['seconds']}s)"
        )
    return 1 if failed else 0


def _open(conn: Any, args: argparse.Namespace, spaces: Any) -> Any:
    """The collection, with the replication settings when any are given."""
    return conn.open(args.collection, spaces, replication_factor=args.replication_factor,
                     consistency=args.consistency)


def _abs(path: str) -> str:
    from pathlib import Path

    return str(Path(path).resolve())
