"""``embedweave tune``: calibrate a collection's HNSW ``ef`` to a recall target."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedweave.commands.common import (
    add_model_args,
    add_store_args,
    connect,
    quiet_model_loading,
    router_for_collection,
)
from embedweave.errors import EmbedweaveError

if TYPE_CHECKING:
    import numpy as np

    from embedweave.routing import Router
    from embedweave.store.weaviate import WeaviateStore


def register(sub: Any) -> None:
    """Add the ``tune`` command."""
    p = sub.add_parser(
        "tune", help="set the smallest HNSW ef that meets a recall target",
        description="Measure recall@k of a collection's HNSW index against exact search "
        "over its own vectors (or --queries), apply the smallest ef that meets --recall (at "
        "--confidence), and record the measurement in the collection. Re-run it as the "
        "collection grows.",
    )  # fmt: skip
    add_store_args(p)
    p.add_argument("--recall", type=float, default=0.99,
                   help="recall@k to reach, in (0, 1] (default 0.99)")
    p.add_argument("--confidence", type=float, default=0.95,
                   help="an ef meets --recall when this one-sided lower confidence bound of "
                   "its mean recall does (default 0.95; 0 compares the mean itself)")
    p.add_argument("-k", "--top-k", type=int, default=10, help="neighbours compared (default 10)")
    p.add_argument("--sample", type=int, default=200,
                   help="stored vectors sampled as queries (default 200)")
    p.add_argument("--queries", default=None, metavar="FILE",
                   help="real queries to measure with, embedded with the collection's model: "
                   "one per line, or a .jsonl of {\"text\": ...} objects (BEIR "
                   "queries.jsonl); default: --sample stored vectors")
    p.add_argument("--space", default=None,
                   help="named vector to tune (needed when the collection has several)")
    p.add_argument("--tenant", default=None, help="tenant of a multi-tenant collection")
    p.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    add_model_args(p)
    p.set_defaults(func=run_tune)


def run_tune(args: argparse.Namespace) -> int:
    """Calibrate, print the sweep and what was applied; exit 1 when the target was missed."""
    texts = read_queries(Path(args.queries)) if args.queries else None
    conn = connect(args, start=False)
    store = conn.open(args.collection, create=False)
    try:
        try:
            space = store.hnsw_space(args.space)
            queries = None
            if texts is not None:
                quiet_model_loading()
                queries = _embed_queries(texts, space, router_for_collection(args, conn, store),
                                         store)
            result = store.calibrate(args.recall, args.top_k, queries, sample=args.sample,
                                     space=space, tenant=args.tenant,
                                     confidence=args.confidence or None)
        except ValueError as exc:
            raise EmbedweaveError(str(exc)) from exc
    finally:
        store.close()
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(f"{store.name}/{result.space}: {result.objects} objects, {result.queries} "
              f"{result.source} queries, recall@{result.k} target {result.target_recall}")
        for ef, recall, p50 in result.sweep:
            print(f"  ef {ef:>5}  recall {recall:.4f}  p50 {p50:.2f} ms")
        verdict = "met" if result.met else "NOT met (best applied)"
        bound = ("" if result.confidence is None else
                 f", {result.confidence:.0%} lower bound {result.recall_low:.4f}")
        print(f"applied ef={result.ef} (was {result.previous_ef}): recall {result.recall:.4f}"
              f"{bound}, target {verdict}")
    return 0 if result.met else 1


def read_queries(path: Path) -> list[str]:
    """Query texts from ``path``: one per line, or ``{"text": ...}`` per line in a .jsonl.

    Raises:
        EmbedweaveError: a missing or empty file, or a .jsonl line that is not an object
            with a non-empty ``text`` (naming the line).
    """
    if not path.is_file():
        raise EmbedweaveError(f"--queries: no such file: {path}")
    lines = path.read_text(encoding="utf-8").splitlines()
    texts: list[str] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if path.suffix != ".jsonl":
            texts.append(line.strip())
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise EmbedweaveError(f"--queries {path}, line {n}: not valid JSON ({exc})") from exc
        text = row.get("text") if isinstance(row, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise EmbedweaveError(
                f'--queries {path}, line {n}: expected an object with a non-empty "text"'
            )
        texts.append(text)
    if not texts:
        raise EmbedweaveError(f"--queries {path} holds no queries")
    return texts


def _embed_queries(
    texts: list[str], space: str, router: Router, store: WeaviateStore
) -> np.ndarray:
    """``texts`` as query vectors of ``space``, by the router's space whose model and
    fingerprint are the stored vectors' (never queries from another model or dims)."""
    stored = store.spaces[space]
    match = [name for name in router.spaces
             if router.vector_space(name).fingerprint == stored.fingerprint]
    if not match:
        offered = ", ".join(f"{v.model} ({v.fingerprint})" for v in
                            (router.vector_space(name) for name in router.spaces))
        raise EmbedweaveError(
            f"space {space!r} of {store.name!r} holds {stored.model} vectors (fingerprint "
            f"{stored.fingerprint}); the model found for the collection makes {offered}, "
            "so its queries would not be comparable (pass --model/--dims or --routing as ingested)"
        )
    return router.embedder(match[0]).embed_queries(texts)
