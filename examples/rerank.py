"""Reranking: a cross-encoder reorders the first-stage hits; see what moved and why.

Run:  python examples/rerank.py [--model cross-encoder/ms-marco-MiniLM-L6-v2]

The docs sections of examples/data/docs go into Weaviate; each question of
examples/data/questions.jsonl retrieves 10 candidates with MiniLM, and the reranker
reorders them. Prints, per question, the rank of the relevant section before and after
reranking, and MRR@10 / nDCG@10 of both orders. The default model is embedweave's
cross-encoder trained on SciFact (scientific claims) and cached under
~/.cache/embedweave: it is trained on first use, which takes minutes on a CPU, once.
Online, pass a general-purpose reranker such as cross-encoder/ms-marco-MiniLM-L6-v2.
"""

from __future__ import annotations

import argparse

from _common import add_weaviate_args, drop_collection, weaviate
from matryoshka_tradeoff import docs_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="scifact-minilm",
                        help="cross-encoder folder, Hugging Face id or a reranker built here "
                        "(default: scifact-minilm, built by `embedweave train reranker`)")
    parser.add_argument("--candidates", type=int, default=10, help="hits reranked (default 10)")
    add_weaviate_args(parser, "ExampleRerank")
    args = parser.parse_args()

    from embedweave.embedding import Embedder
    from embedweave.eval.metrics import evaluate
    from embedweave.pipeline import Index, Retriever
    from embedweave.rerank import Reranker
    from embedweave.store.weaviate import WeaviateStore
    from embedweave.types import Chunk

    data = docs_dataset()
    embedder = Embedder("minilm")
    reranker = Reranker(args.model)
    print(f"reranker: {reranker.model_name} (blend with the first stage: {reranker.blend})")

    with weaviate(args) as conn:
        drop_collection(conn, args.collection)
        store = WeaviateStore(args.collection, [embedder.space()], **conn.store_args())
        Index(store, embedder).add_chunks(
            [Chunk(doc_id, 0, data.doc_text(doc_id)) for doc_id in data.corpus]
        )
        first = Retriever(store, embedder, k=args.candidates)
        qids = list(data.queries)
        hits = first.retrieve_many([data.queries[q] for q in qids])
        store.close()

    before, after = {}, {}
    print(f"\n{'before':>6} {'after':>5}  question")
    for q, hs in zip(qids, hits, strict=True):
        reranked = reranker.rerank(data.queries[q], hs)
        before[q] = [h.chunk.document_id for h in hs]
        after[q] = [h.chunk.document_id for h in reranked]
        best = max(data.qrels[q], key=data.qrels[q].get)
        r0 = before[q].index(best) + 1 if best in before[q] else None
        r1 = after[q].index(best) + 1 if best in after[q] else None
        arrow = "" if r0 == r1 else ("  up" if (r1 or 99) < (r0 or 99) else "  down")
        print(f"{r0 or '-':>6} {r1 or '-':>5}  {data.queries[q]}{arrow}")
    m0 = evaluate(before, data.qrels, k_values=(10,), metrics=("mrr", "ndcg"))
    m1 = evaluate(after, data.qrels, k_values=(10,), metrics=("mrr", "ndcg"))
    print(f"\nfirst stage (MiniLM):  MRR@10 {100 * m0['mrr@10']:.1f}  "
          f"nDCG@10 {100 * m0['ndcg@10']:.1f}")
    print(f"after reranking:       MRR@10 {100 * m1['mrr@10']:.1f}  "
          f"nDCG@10 {100 * m1['ndcg@10']:.1f}")
    print("(rank = position of the most relevant section among the candidates; a reranker "
          "trained on another domain can move hits down as well as up)")


if __name__ == "__main__":
    main()
