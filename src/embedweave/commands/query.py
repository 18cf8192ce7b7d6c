"""``embedweave query "…"`` (ranked chunks) and ``embedweave ask "…"`` (an answer with sources).

Both search the collection ``ingest`` wrote, with the model it was built with. ``ask``
answers extractively (the best sentences of the top chunks, cited) unless an LLM is
configured: ``--llm MODEL`` or ``$EMBEDWEAVE_LLM_MODEL``, any OpenAI-compatible server
(``--llm-url`` / ``$EMBEDWEAVE_LLM_URL``, key in ``$EMBEDWEAVE_LLM_API_KEY`` or
``$OPENAI_API_KEY``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import textwrap
from typing import Any

from embedweave.commands.common import (
    add_model_args,
    add_output_args,
    add_store_args,
    connect,
    note,
    quiet_model_loading,
    router_for_collection,
)
from embedweave.errors import EmbedweaveError
from embedweave.types import Hit


def register(sub: Any) -> None:
    """Add the ``query`` and ``ask`` commands."""
    q = sub.add_parser("query", help="search a collection; print ranked chunks",
                       description="Search a collection and print the best chunks.")
    _search_args(q)
    q.add_argument("--full", action="store_true", help="print whole chunks, not snippets")
    q.set_defaults(func=run_query)

    a = sub.add_parser("ask", help="answer a question from a collection, with sources",
                       description="Retrieve, then answer: extractive, or with an LLM when "
                       "one is configured.")
    _search_args(a, k=5)
    a.add_argument("--llm", default=None,
                   help="LLM model name on an OpenAI-compatible server (default "
                   "$EMBEDWEAVE_LLM_MODEL; none: extractive answer)")
    a.add_argument("--llm-url", default=None,
                   help="API root of that server, e.g. http://127.0.0.1:11434/v1 (default "
                   "$EMBEDWEAVE_LLM_URL, $OPENAI_BASE_URL, or OpenAI)")
    a.add_argument("--sentences", type=int, default=3,
                   help="most sentences in an extractive answer (default 3)")
    a.set_defaults(func=run_ask)


def _search_args(p: argparse.ArgumentParser, k: int = 10) -> None:
    p.add_argument("text", metavar="QUERY", help="the query (quote it)")
    p.add_argument("-k", "--top-k", type=int, default=k, help=f"results (default {k})")
    p.add_argument("--mode", choices=("vector", "keyword", "hybrid"), default="vector",
                   help="vector (default), keyword (BM25) or hybrid")
    p.add_argument("--alpha", type=float, default=0.5,
                   help="hybrid weight of the vector side, 0 = BM25 only (default 0.5)")
    p.add_argument("--funnel", default=None, metavar="DIMS:SHORTLIST",
                   help="shortlist with DIMS-dim vectors, rescore at full dims (needs "
                   "`ingest --funnel-dims DIMS`)")
    p.add_argument("--rerank", nargs="?", const="default", default=None, metavar="MODEL",
                   help="rerank with a cross-encoder: a folder, HF id, or scifact-minilm "
                   "(built by `embedweave train reranker`); no MODEL: "
                   "cross-encoder/ms-marco-MiniLM-L6-v2")
    p.add_argument("--candidates", type=int, default=50,
                   help="first-stage hits per space before fusion/rerank (default 50)")
    p.add_argument("--filter", default=None, metavar="JSON",
                   help='metadata filter, e.g. \'{"format": "markdown"}\'')
    p.add_argument("--tenant", default=None, help="tenant of a multi-tenant collection")
    p.add_argument("--consistency", choices=("ONE", "QUORUM", "ALL"), default=None,
                   help="replicas that must answer each read (default: the server's, "
                   "QUORUM)")
    add_model_args(p)
    add_store_args(p)
    add_output_args(p)


def parse_funnel(value: str | None) -> tuple[int, int] | None:
    """``"64:100"`` -> ``(64, 100)``."""
    if value is None:
        return None
    try:
        dims, shortlist = (int(x) for x in value.split(":"))
    except ValueError as exc:
        raise EmbedweaveError(
            f"--funnel must be DIMS:SHORTLIST, e.g. 64:100; got {value!r}"
        ) from exc
    return dims, shortlist


def _retrieve(args: argparse.Namespace) -> tuple[list[Hit], Any, Any]:
    """Hits for ``args.text``, the router, and the route decision (None for keyword)."""
    from embedweave.pipeline import Retriever

    if not args.text.strip():
        raise EmbedweaveError("the query is empty")
    filters = None
    if args.filter:
        try:
            filters = json.loads(args.filter)
        except ValueError as exc:
            raise EmbedweaveError(f"--filter is not valid JSON: {exc}") from exc
    quiet_model_loading()
    conn = connect(args, start=False)
    try:
        store = conn.open(args.collection, create=False, consistency=args.consistency)
    except EmbedweaveError as exc:
        if "does not exist" in str(exc):
            raise EmbedweaveError(
                f"collection {args.collection!r} does not exist at {conn.url}; "
                "run `embedweave ingest PATH...` first"
            ) from exc
        raise
    try:
        router = router_for_collection(args, conn, store)
        reranker = None
        if args.rerank:
            from embedweave.rerank import Reranker

            reranker = Reranker(None if args.rerank == "default" else args.rerank)
        retriever = Retriever(
            store, router, mode=args.mode, alpha=args.alpha, k=args.top_k,
            funnel=parse_funnel(args.funnel), reranker=reranker,
            candidates=max(args.candidates, args.top_k),
        )  # fmt: skip
        decision = retriever.route(args.text) if args.mode != "keyword" else None
        hits = retriever.retrieve(args.text, filters=filters, tenant=args.tenant)
    except ValueError as exc:
        raise EmbedweaveError(str(exc)) from exc
    finally:
        store.close()
    return hits, router, decision


def hit_dict(rank: int, h: Hit) -> dict[str, Any]:
    """A hit as JSON: rank, score, source, section, page, language, text, ids."""
    meta = h.chunk.metadata
    return {
        "rank": rank,
        "score": h.score,
        "source": meta.get("source") or h.chunk.document_id,
        "section": meta.get("section"),
        "page": meta.get("page"),
        "language": h.chunk.language,
        "text": h.chunk.text,
        "document_id": h.chunk.document_id,
        "chunk_index": h.chunk.index,
        "chunk_id": h.id,
        "spaces": list(h.spaces),
        "first_stage_score": h.first_stage_score,
        "first_stage_rank": h.first_stage_rank,
    }


def _where(h: Hit) -> str:
    meta = h.chunk.metadata
    out = str(meta.get("source") or h.chunk.document_id)
    if meta.get("section"):
        out += f" § {meta['section']}"
    if meta.get("page") is not None:
        out += f" p.{meta['page']}"
    return out


def _snippet(h: Hit, width: int, full: bool) -> str:
    text = h.chunk.text
    section = h.chunk.metadata.get("section")
    if section and text.startswith(f"{section}\n"):
        text = text[len(section) + 1 :]
    text = " ".join(text.split())
    if not full and len(text) > 3 * width:
        text = text[: 3 * width - 1].rstrip() + "…"
    return textwrap.fill(text, width=width, initial_indent="     ", subsequent_indent="     ")


def run_query(args: argparse.Namespace) -> int:
    """Print the ranked chunks (or JSON)."""
    hits, _, decision = _retrieve(args)
    if args.json:
        print(json.dumps({
            "query": args.text,
            "route": decision.reason if decision else "keyword",
            "hits": [hit_dict(i, h) for i, h in enumerate(hits, 1)],
        }, indent=1, ensure_ascii=False))  # fmt: skip
        return 0
    if not hits:
        note("no results")
        return 0
    width = min(100, shutil.get_terminal_size((100, 20)).columns) - 2
    for i, h in enumerate(hits, 1):
        lang = h.chunk.language or "?"
        print(f"{i:>2}. {h.score:.4f}  [{lang}]  {_where(h)}")
        print(_snippet(h, width, args.full))
    return 0


def run_ask(args: argparse.Namespace) -> int:
    """Print an answer with its numbered sources (or JSON)."""
    from embedweave.answer import OpenAICompatibleLLM, answer, llm_from_env

    llm = OpenAICompatibleLLM(args.llm, base_url=args.llm_url) if args.llm else llm_from_env()
    hits, router, decision = _retrieve(args)
    embedder = None
    if llm is None and decision is not None and decision.spaces:
        embedder = router.embedder(decision.spaces[0])
    result = answer(args.text, hits, llm=llm, embedder=embedder, max_sentences=args.sentences)
    if args.json:
        print(json.dumps({"query": args.text, **result.to_dict()}, indent=1, ensure_ascii=False))
        return 0
    if not hits:
        note("no results: nothing to answer from")
        return 0
    print(result.text)
    print()
    print("Sources:")
    for s in result.sources:
        mark = "*" if s.number in result.cited else " "
        lang = s.language or "?"
        print(f"{mark}[{s.number}] {s.score:.4f} [{lang}] {s.label}")
    return 0
