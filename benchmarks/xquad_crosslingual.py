"""Cross-lingual retrieval on XQuAD (LAReQA's XQuAD-R setup): MiniLM vs USE vs routed.

Corpus: the 240 XQuAD paragraphs in each of en, de, es, ru, zh (1,200 items). Every
question in every language is a query; its relevant items are its own paragraph in
all five languages. Reported per question language:

- R@1 / R@10: the paragraph in the question's own language within the top 1 / 10;
- mAP@20: average precision over the top 20 against all five paragraphs (XQuAD-R).

Three setups run side by side in one process, through the real pipeline
(``Index`` + ``Retriever`` over an exact ``MemoryStore``; language detection included):

- ``minilm``: all-MiniLM-L6-v2 for everything (English-only model);
- ``use``: USE multilingual v3 for everything;
- ``routed``: ``{"en": minilm, "*": use-multilingual}`` with USE as the shared space:
  English chunks get MiniLM + USE vectors, the rest USE only; an English query searches
  both spaces (RRF), any other query searches USE.

Run:
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python benchmarks/xquad_crosslingual.py

Embeddings are cached (``EmbeddingCache`` under ``embedweave.paths.cache_dir()``), so a
rerun only searches; ``--no-cache`` recomputes. ``--questions N`` keeps the first N
questions per language for a quick look.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

LANGS = ("en", "de", "es", "ru", "zh")
K = 20
COMMAND = (
    "HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python benchmarks/xquad_crosslingual.py"
)


def load_xquad(folder: Path) -> tuple[dict[str, list[str]], dict[str, list[tuple[str, str, int]]]]:
    """Paragraphs per language (same order everywhere) and (qid, question, paragraph)."""
    paragraphs: dict[str, list[str]] = {}
    questions: dict[str, list[tuple[str, str, int]]] = {}
    for lang in LANGS:
        data = json.loads((folder / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
        paras: list[str] = []
        qs: list[tuple[str, str, int]] = []
        for article in data:
            for p in article["paragraphs"]:
                for qa in p["qas"]:
                    qs.append((qa["id"], qa["question"], len(paras)))
                paras.append(p["context"])
        paragraphs[lang], questions[lang] = paras, qs
    n = {len(p) for p in paragraphs.values()}
    if len(n) != 1:
        raise SystemExit(f"paragraph counts differ across languages: {n}")
    return paragraphs, questions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--questions", type=int, default=None, help="first N per language")
    parser.add_argument("--no-cache", action="store_true", help="do not use the embedding cache")
    parser.add_argument("--rrf-k", type=int, default=60, help="RRF constant of the routed setup")
    parser.add_argument("--minilm-weight", type=float, default=1.0,
                        help="RRF weight of the MiniLM list in the routed setup (USE: 1.0)")
    args = parser.parse_args(argv)

    from embedweave.cache import EmbeddingCache
    from embedweave.chunking import Chunker
    from embedweave.embedding import Embedder
    from embedweave.eval.metrics import map_at_k, recall_at_k
    from embedweave.paths import data_dir
    from embedweave.pipeline import Index, Retriever
    from embedweave.routing import Router, RouteTable, UnsupportedLanguageWarning
    from embedweave.store.memory import MemoryStore
    from embedweave.types import Document

    t0 = time.perf_counter()
    paragraphs, questions = load_xquad(data_dir() / "xquad")
    if args.questions:
        questions = {lang: qs[: args.questions] for lang, qs in questions.items()}
    n_par = len(paragraphs["en"])
    docs = [
        Document(f"{lang}-{i}", text)
        for lang in LANGS
        for i, text in enumerate(paragraphs[lang])
    ]
    cache = None if args.no_cache else EmbeddingCache()
    minilm = Embedder("minilm", cache=cache)
    use = Embedder("use-multilingual", cache=cache)
    whole = Chunker(max_tokens=100_000, min_tokens=0, overlap=0)  # a paragraph = one item

    table = RouteTable(
        routes={"en": "minilm", "*": "use-multilingual"}, shared="use-multilingual"
    )
    routed = Router(table, embedders={"minilm": minilm, "use_multilingual": use})
    setups = {
        "minilm": Router.single(minilm),
        "use": Router.single(use),
        "routed": routed,
    }
    print(f"XQuAD cross-lingual retrieval: {len(docs)} paragraphs ({n_par} x {len(LANGS)}), "
          f"{sum(len(q) for q in questions.values())} questions; exact search, k={K}; "
          f"routed: RRF k={args.rrf_k}, MiniLM weight {args.minilm_weight}")
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, router in setups.items():
        t = time.perf_counter()
        store = MemoryStore(router.vector_spaces(), name=name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UnsupportedLanguageWarning)
            Index(store, router, chunker=whole).add_documents(docs)
            weights = {"minilm": args.minilm_weight} if name == "routed" else None
            retriever = Retriever(store, router, k=K, rrf_k=args.rrf_k, space_weights=weights)
            runs = {
                lang: retriever.retrieve_many([q for _, q, _ in questions[lang]], k=K)
                for lang in LANGS
            }
        unsupported = [str(w.message) for w in caught if w.category is UnsupportedLanguageWarning]
        chunks = store.get(_chunk_ids(docs))
        wrong = Counter(
            (c.document_id.split("-")[0], c.language) for c in chunks
            if c.language != c.document_id.split("-")[0]
        )
        results[name] = {}
        for lang in LANGS:
            r1 = r10 = ap = 0.0
            for (_qid, _q, pi), hits in zip(questions[lang], runs[lang], strict=True):
                ids = [h.chunk.document_id for h in hits]
                same = {f"{lang}-{pi}": 1}
                every = {f"{lg}-{pi}": 1 for lg in LANGS}
                r1 += recall_at_k(ids, same, 1)
                r10 += recall_at_k(ids, same, 10)
                ap += map_at_k(ids, every, K)
            n = len(questions[lang])
            results[name][lang] = {"R@1": 100 * r1 / n, "R@10": 100 * r10 / n,
                                   "mAP@20": 100 * ap / n}
        note = f"; chunks routed off their file's language: {dict(wrong)}" if wrong else ""
        print(f"  {name}: indexed and searched in {time.perf_counter() - t:.0f} s; "
              f"spaces {sorted(store.spaces)}{note}")
        for msg in unsupported[:2]:
            print(f"    reported: {msg[:160]}...")

    print()
    print("| setup | metric | " + " | ".join(LANGS) + " | non-en avg |")
    print("|---|---|" + "---|" * (len(LANGS) + 1))
    for name in setups:
        for metric in ("R@1", "R@10", "mAP@20"):
            vals = [results[name][lang][metric] for lang in LANGS]
            non_en = sum(vals[1:]) / (len(vals) - 1)
            print(f"| {name} | {metric} | " + " | ".join(f"{v:.1f}" for v in vals)
                  + f" | {non_en:.1f} |")
    print()
    ok = True
    for metric in ("R@10", "mAP@20"):
        for lang in LANGS[1:]:
            a, b = results["routed"][lang][metric], results["minilm"][lang][metric]
            better = a > b
            ok &= better
            print(f"  routed vs minilm, {lang} {metric}: {a:.1f} vs {b:.1f} "
                  f"({a - b:+.1f}, x{a / b if b else float('inf'):.2f}) "
                  f"{'ok' if better else 'NOT BETTER'}")
    en_delta = results["routed"]["en"]["R@10"] - results["minilm"]["en"]["R@10"]
    en_ok = en_delta >= -1.0
    ok &= en_ok
    print(f"  routed vs minilm, en R@10: {en_delta:+.1f} points "
          f"({'ok' if en_ok else 'LOSES MORE THAN 1 POINT'}; must not lose > 1)")
    print(f"\nacceptance: {'PASS' if ok else 'FAIL'}; total {time.perf_counter() - t0:.0f} s")
    extra = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"reproduce: {COMMAND} {extra}".rstrip())
    return 0 if ok else 1


def _chunk_ids(docs: list[Any]) -> list[str]:
    from embedweave.types import chunk_uuid

    return [chunk_uuid(d.id, 0) for d in docs]


if __name__ == "__main__":
    sys.exit(main())
