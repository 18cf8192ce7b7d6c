"""``embedweave tune``: calibrate a collection's HNSW ``ef`` to a recall target."""

from __future__ import annotations

import argparse
import json
from typing import Any

from embedweave.commands.common import add_store_args, connect
from embedweave.errors import EmbedweaveError


def register(sub: Any) -> None:
    """Add the ``tune`` command."""
    p = sub.add_parser(
        "tune", help="set the smallest HNSW ef that meets a recall target",
        description="Measure recall@k of a collection's HNSW index against exact search "
        "over its own vectors, apply the smallest ef that meets --recall (at --confidence), "
        "and record the measurement in the collection. Re-run it as the collection grows.",
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
    p.add_argument("--space", default=None,
                   help="named vector to tune (needed when the collection has several)")
    p.add_argument("--tenant", default=None, help="tenant of a multi-tenant collection")
    p.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    p.set_defaults(func=run_tune)


def run_tune(args: argparse.Namespace) -> int:
    """Calibrate, print the sweep and what was applied; exit 1 when the target was missed."""
    store = connect(args, start=False).open(args.collection, create=False)
    try:
        try:
            result = store.calibrate(args.recall, args.top_k, sample=args.sample,
                                     space=args.space, tenant=args.tenant,
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
