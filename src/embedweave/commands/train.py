"""``embedweave train reranker``: build (once) the ``scifact-minilm`` cross-encoder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


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
        r.add_argument("--json", action="store_true",
                       help="print the training manifest as JSON")
        r.set_defaults(func=_reranker)


def _reranker(args: argparse.Namespace) -> int:
    from embedweave.train import MANIFEST, build_scifact_reranker, train_reranker

    if args.output is None:
        if args.device is not None:
            raise SystemExit("embedweave train-reranker: --device needs --output")
        path = build_scifact_reranker()
    else:
        path = train_reranker(args.output, device=args.device, show_progress=True)
    manifest = json.loads((path / MANIFEST).read_text())
    if args.json:
        print(json.dumps({"path": str(path), **manifest}))
    else:
        print(f"reranker: {path}")
        print(f"trained on {manifest['train_claims']} SciFact train claims, "
              f"{manifest['steps']} steps in {manifest['seconds']:.0f}s on {manifest['device']}; "
              f"loss {manifest['loss_first_50']} -> {manifest['loss_last_50']}")
    return 0
