"""Multilingual retrieval: a corpus in six languages, questions asked in other languages.

Run:  python examples/multilingual.py

Each passage (en, de, es, fr, ru, zh) is routed by its detected language: English to
MiniLM, everything else to the multilingual Universal Sentence Encoder, and every
passage also into a shared USE space (examples/data/multilingual/routes.yaml). Each
question is written in a language other than its answer's; the script prints where each
text was routed and whether the right passage came first.
"""

from __future__ import annotations

import argparse

from _common import MULTILINGUAL, add_weaviate_args, drop_collection, read_jsonl, weaviate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-k", type=int, default=3, help="hits shown per question (default 3)")
    add_weaviate_args(parser, "ExampleMultilingual")
    args = parser.parse_args()

    from embedweave.pipeline import Index, Retriever
    from embedweave.routing import Router
    from embedweave.store.weaviate import WeaviateStore
    from embedweave.types import Document

    router = Router.from_yaml(MULTILINGUAL / "routes.yaml")
    corpus = read_jsonl(MULTILINGUAL / "corpus.jsonl")
    questions = read_jsonl(MULTILINGUAL / "queries.jsonl")
    titles = {p["id"]: p["title"] for p in corpus}

    with weaviate(args) as conn:
        drop_collection(conn, args.collection)
        store = WeaviateStore(args.collection, router.vector_spaces(), **conn.store_args())
        docs = [Document(p["id"], f"{p['title']}. {p['text']}", {"title": p["title"]})
                for p in corpus]
        Index(store, router).add_documents(docs)
        print(f"indexed {len(docs)} passages into spaces {sorted(router.spaces)}\n")
        print("where each passage went:")
        for p in corpus:
            d = router.route(p["text"])
            print(f"  {p['id']:<15} {d.language or '?':>3} -> {', '.join(d.spaces)}")

        retriever = Retriever(store, router, k=args.k)
        top1 = top_k = 0
        print("\nquestions (asked in another language than the answer):")
        for q in questions:
            decision = retriever.route(q["query"])
            hits = retriever.retrieve(q["query"])
            ids = [h.chunk.document_id for h in hits]
            top1 += bool(ids) and ids[0] == q["relevant"]
            top_k += q["relevant"] in ids
            mark = "ok " if ids and ids[0] == q["relevant"] else "   "
            print(f"{mark}[{q['language']}] {q['query']}")
            print(f"      routed: {decision.reason}")
            for rank, h in enumerate(hits, 1):
                print(f"      {rank}. {h.score:.4f} [{h.chunk.language}] "
                      f"{titles[h.chunk.document_id]} ({h.chunk.document_id})")
        n = len(questions)
        print(f"\ntop-1: {top1}/{n}   top-{args.k}: {top_k}/{n}")
        store.close()


if __name__ == "__main__":
    main()
