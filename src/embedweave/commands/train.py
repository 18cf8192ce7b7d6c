"""``embedweave train reranker`` (the ``scifact-minilm`` cross-encoder) and ``train embedder``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from embedweave.errors import EmbedweaveError


def register(sub: Any) -> None:
    """Add the ``train`` command group."""
    p = sub.add_parser("train", help="train models offline")
    what = p.add_subparsers(dest="what", required=True)
    help_ = ("build the scifact-minilm cross-encoder reranker into the cache (no-op when "
             "cached); then use Reranker('scifact-minilm')")
    # ``embedweave train reranker`` and its one-word spelling ``embedweave train-reranker``
    for r in (what.add_parser("reranker", help=help_),
              sub.add_parser("train-reranker", help=help_)):
        r.add_argument("--output", type=Path, default=None,
                       help="train into this folder instead of the cache")
        r.add_argument("--device", default=None,
                       help="torch device for --output (default: cuda if present)")
        r.add_argument("--quick", action="store_true",
                       help="the quick recipe (BM25 negatives, 1 epoch, 128 tokens: minutes, "
                       "lower quality; for smoke tests). Load it by the printed path; it is "
                       "not registered as scifact-minilm")
        r.add_argument("--json", action="store_true",
                       help="print the training manifest as JSON")
        r.set_defaults(func=_reranker)
    e = what.add_parser(
        "embedder", help="fine-tune an embedding model on your data (hard negatives, "
        "Matryoshka); prints and saves a before/after report")
    e.add_argument("--data", required=True, type=Path,
                   help="BEIR folder (qrels/train.tsv), JSONL of {query, positive[, negatives]}"
                   ", or a folder with only corpus.jsonl (synthetic title -> body pairs)")
    e.add_argument("--base", default="minilm", help="model to start from (default minilm)")
    e.add_argument("--dims", default=None,
                   help="Matryoshka dims, comma-separated (default: native down to 64)")
    e.add_argument("--epochs", type=int, default=None, help="passes over the pairs (2)")
    e.add_argument("--output", type=Path, default=None,
                   help="model folder (default: a cache folder keyed by base, data and recipe)")
    e.add_argument("--negatives", type=int, default=None, help="hard negatives per pair (1)")
    e.add_argument("--miners", default=None,
                   help="negative miners: random, bm25, dense, comma-separated (bm25,dense)")
    e.add_argument("--guard", default=None,
                   help="false-negative guard fraction (0.95), or 'off'")
    e.add_argument("--remine", action="store_true", help="re-mine negatives every epoch")
    e.add_argument("--no-matryoshka", action="store_true", help="plain MNRL, no MatryoshkaLoss")
    e.add_argument("--batch-size", type=int, default=None, help="rows per step (32)")
    e.add_argument("--lr", type=float, default=None, help="peak learning rate (5e-5)")
    e.add_argument("--holdout", type=float, default=0.1,
                   help="share of training queries held out for the report when the data has "
                   "no test split (default 0.1)")
    e.add_argument("--device", default=None, help="torch device (default: cuda if present)")
    e.add_argument("--json", action="store_true", help="print the manifest as JSON")
    e.set_defaults(func=_embedder)


def _reranker(args: argparse.Namespace) -> int:
    from embedweave.train import (
        DEFAULT_CONFIG,
        MANIFEST,
        QUICK_CONFIG,
        build_scifact_reranker,
        train_reranker,
    )

    config = QUICK_CONFIG if args.quick else DEFAULT_CONFIG
    if args.output is None:
        if args.device is not None:
            raise SystemExit("embedweave train-reranker: --device needs --output")
        path = build_scifact_reranker(config)
    else:
        path = train_reranker(args.output, config, device=args.device, show_progress=True)
    manifest = json.loads((path / MANIFEST).read_text())
    if args.json:
        print(json.dumps({"path": str(path), **manifest}))
    else:
        print(f"reranker: {path}")
        print(f"trained on {manifest['train_claims']} SciFact train claims, "
              f"{manifest['steps']} steps in {manifest['seconds']:.0f}s on {manifest['device']}; "
              f"loss {manifest['loss_first_50']} -> {manifest['loss_last_50']}")
    return 0


def _embedder(args: argparse.Namespace) -> int:
    from embedweave.eval.beir import load_beir
    from embedweave.train.data import load_training_data
    from embedweave.train.embedder import EmbedderTrainConfig, train_embedder

    try:
        dims = (tuple(int(x) for x in args.dims.split(",") if x.strip())
                if args.dims else None)
    except ValueError as exc:
        raise EmbedweaveError(f"--dims must be comma-separated integers, got {args.dims!r}"
                              ) from exc
    given: dict[str, Any] = {"dims": dims, "matryoshka": not args.no_matryoshka,
                             "remine": args.remine}
    for flag, field in (("epochs", "epochs"), ("negatives", "negatives"),
                        ("batch_size", "batch_size"), ("lr", "learning_rate")):
        if getattr(args, flag) is not None:
            given[field] = getattr(args, flag)
    if args.miners is not None:
        given["miners"] = tuple(m.strip() for m in args.miners.split(",") if m.strip())
    elif given.get("negatives") == 0:
        given["miners"] = ()
    if args.guard is not None:
        off = args.guard.strip().lower() in ("off", "none")
        given["guard"] = None if off else float(args.guard)
    try:
        config = EmbedderTrainConfig(**given)
        data = load_training_data(args.data)
    except (ValueError, FileNotFoundError) as exc:
        raise EmbedweaveError(f"embedweave train embedder: {exc}") from exc
    print(data.report.summary())
    test = args.data / "qrels" / "test.tsv"
    if args.data.is_dir() and test.is_file():
        held = load_beir(args.data, "test")
        seen = set(held.queries.values())
        data = data.subset([q for q, t in data.queries.items() if t not in seen])
        where = f"the test split ({len(held.queries)} queries)"
        eval_data: Any = held
    else:
        data, eval_data = data.split(args.holdout, seed=0)
        where = f"{len(eval_data.queries)} held-out training queries (not trained on)"
    result = train_embedder(data, args.output, config, base=args.base, eval_data=eval_data,
                            device=args.device, show_progress=True)
    m = result.manifest
    if args.json:
        print(json.dumps({"path": str(result.path), **m}))
        return 0
    print(f"embedder: {result.path}")
    print(f"trained {m['steps']} steps in {m['seconds_train']:.0f}s (+ {m['seconds_mining']:.0f}s "
          f"mining) on {m['device']}, bf16 {m['bf16']}; loss {m['loss_first_10']} -> "
          f"{m['loss_last_10']}; guard removed "
          f"{sum(x['guard_removed'] for x in m['mining'])} candidates")
    if result.report is not None:
        print(f"before/after on {where}:")
        print(result.report.table())
        print(f"report: {result.path / 'before_after.json'}, .md, .png")
    return 0
