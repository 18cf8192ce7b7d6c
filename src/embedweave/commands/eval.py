"""``embedweave eval``: score retrieval pipelines on a BEIR dataset through the real store.

Comma-separated values sweep: ``--mode hybrid --alpha 0,0.25,0.5,0.75,1`` or
``--model wordllama-256 --dims 64,128,256``. Prints a table (or ``--json``); ``--out
DIR`` saves ``results.json`` and, for a sweep, ``sweep.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from embedweave.commands.common import (
    add_output_args,
    add_store_args,
    connect,
    note,
    progress_enabled,
    quiet_model_loading,
)
from embedweave.errors import EmbedweaveError


def register(sub: Any) -> None:
    """Add the ``eval`` command."""
    p = sub.add_parser(
        "eval",
        help="evaluate retrieval on a BEIR dataset (nDCG, MRR, recall, MAP)",
        description="Index a BEIR dataset and score one pipeline or a sweep of them. "
        "Comma-separated values sweep (e.g. --alpha 0,0.5,1).",
    )
    p.add_argument("--data", default="scifact",
                   help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/) or dataset name, "
                   "found in $EMBEDWEAVE_DATA_DIR, the cache, or downloaded (default scifact)")
    p.add_argument("--split", default="test", help="qrels split (default test)")
    p.add_argument("-m", "--model", default="minilm", help="embedding model (default minilm)")
    p.add_argument("--dims", default=None, help="Matryoshka dims, comma-separated to sweep")
    p.add_argument("--routing", default=None, help="route table YAML instead of --model")
    p.add_argument("--mode", default="vector",
                   help="vector, keyword or hybrid; comma-separated to compare")
    p.add_argument("--alpha", default="0.5",
                   help="hybrid alpha (0 = BM25, 1 = vector); comma-separated to sweep")
    p.add_argument("--funnel", default=None, metavar="DIMS:SHORTLIST[,...]",
                   help="funnel search, e.g. 64:200 (shortlist >= the largest k)")
    p.add_argument("--rerank", nargs="?", const="default", default=None, metavar="MODEL",
                   help="rerank with a cross-encoder: a folder, HF id or scifact-minilm "
                   "(no MODEL: cross-encoder/ms-marco-MiniLM-L6-v2)")
    p.add_argument("--candidates", type=int, default=100,
                   help="first-stage hits per query (reranked when --rerank; default 100)")
    p.add_argument("--k-values", default="1,3,5,10,100", help="metric cut-offs")
    p.add_argument("--max-queries", type=int, default=None, help="evaluate the first N queries")
    p.add_argument("--store", choices=("weaviate", "memory"), default="weaviate",
                   help="weaviate (HNSW, default) or memory (exact numpy search)")
    p.add_argument("--fresh", action="store_true",
                   help="rebuild the index even if a kept collection matches")
    p.add_argument("--no-keep", action="store_true",
                   help="drop the evaluation collections afterwards (default: keep for reruns)")
    p.add_argument("--no-cache", action="store_true", help="do not use the embedding cache")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for results.json (and sweep.png when several pipelines)")
    p.add_argument("--plot", type=Path, default=None, help="write the plot PNG here")
    add_store_args(p, collection=False)
    add_output_args(p)
    p.set_defaults(func=run)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def _ints(value: str | None, flag: str) -> list[int]:
    try:
        return [int(v) for v in _split(value)]
    except ValueError as exc:
        raise EmbedweaveError(f"{flag} takes comma-separated integers, got {value!r}") from exc


def configs_from_args(args: argparse.Namespace) -> list[Any]:
    """The pipelines the flags describe (the cartesian product of the swept values)."""
    from embedweave.commands.query import parse_funnel
    from embedweave.eval.runner import PipelineConfig

    modes = _split(args.mode) or ["vector"]
    bad = [m for m in modes if m not in ("vector", "keyword", "hybrid")]
    if bad:
        raise EmbedweaveError(f"--mode must be vector, keyword or hybrid; got {bad}")
    try:
        alphas = [float(a) for a in _split(args.alpha)] or [0.5]
    except ValueError as exc:
        raise EmbedweaveError(f"--alpha takes numbers in [0, 1], got {args.alpha!r}") from exc
    dims: list[int | None] = list(_ints(args.dims, "--dims")) or [None]
    funnels = [parse_funnel(f) for f in _split(args.funnel)] or [None]
    configs = []
    for d in dims:
        for mode in modes:
            for alpha in alphas if mode == "hybrid" else [0.5]:
                for funnel in funnels if mode == "vector" else [None]:
                    try:
                        configs.append(PipelineConfig(
                            model=args.model, dims=d, routing=args.routing, mode=mode,  # type: ignore[arg-type]
                            alpha=alpha, funnel=funnel, rerank=args.rerank,
                            candidates=args.candidates,
                        ))  # fmt: skip
                    except ValueError as exc:
                        raise EmbedweaveError(str(exc)) from exc
    return list(dict.fromkeys(configs))


def run(args: argparse.Namespace) -> int:
    """Evaluate; print the table or JSON; save JSON and plot when asked."""
    from embedweave.eval.runner import (
        EvalRunner,
        load_dataset,
        plot_results,
        results_table,
        write_json,
    )

    if args.routing and args.dims:
        raise EmbedweaveError("give --dims with --model, not with --routing")
    configs = configs_from_args(args)
    k_values = _ints(args.k_values, "--k-values")
    if not k_values or min(k_values) <= 0:
        raise EmbedweaveError(f"--k-values must be positive integers, got {args.k_values!r}")
    disable = progress_enabled(args)
    show = None if disable is None else not disable
    quiet_model_loading()
    try:
        data = load_dataset(args.data, args.split, max_queries=args.max_queries)
    except (FileNotFoundError, ValueError) as exc:
        raise EmbedweaveError(str(exc)) from exc
    conn = connect(args) if args.store == "weaviate" else None
    runner = EvalRunner(
        data, store=args.store, url=conn.url if conn else None,
        grpc_port=conn.grpc_port if conn else None, api_key=conn.api_key if conn else None,
        k_values=k_values, keep=not args.no_keep, cache=not args.no_cache, show_progress=show,
    )  # fmt: skip
    note(f"{data.name} ({args.split}): {len(data.corpus)} documents, {len(data.queries)} "
         f"queries; {len(configs)} pipeline(s) on "
         f"{'Weaviate at ' + conn.url if conn else 'the exact in-memory store'}")
    if args.fresh:
        runner.drop_collections(configs)
    try:
        results = runner.sweep(configs)
    except ValueError as exc:
        raise EmbedweaveError(str(exc)) from exc
    command = "embedweave " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("embedweave") else (
        None)
    extra = {"command": command} if command else {}
    if args.out:
        write_json(results, args.out / "results.json", per_query=True, extra=extra)
    plot = args.plot or (args.out / "sweep.png" if args.out and len(results) > 1 else None)
    if plot:
        plot_results(results, plot)
    if args.json:
        print(json.dumps({**extra, "results": [r.to_dict() for r in results]}, indent=1))
    else:
        print(results_table(results))
        print(f"\n{results[0].store}; {results[0].n_queries} queries, {results[0].n_docs} docs")
        if args.out:
            print(f"saved {args.out / 'results.json'}")
        if plot:
            print(f"plot {plot}")
    return 0
