"""RAG with LangChain over embedweave: Markdown docs -> Weaviate -> hybrid retrieval -> answer.

Run:  python examples/langchain_rag.py ["your question"]

Offline: MiniLM embeds, a local Weaviate stores (started here unless --weaviate-url is
given), retrieval is hybrid (BM25 + vectors, --alpha), and an LCEL chain turns the
retrieved documents into an extractive answer with sources. Set EMBEDWEAVE_LLM_MODEL to
let an OpenAI-compatible LLM write the answer instead; --rerank adds embedweave's
cross-encoder as a LangChain document compressor.
"""

from __future__ import annotations

import argparse

from _common import DOCS, add_weaviate_args, drop_collection, print_answer, weaviate

QUESTION = "What does alpha mean in hybrid search?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("question", nargs="?", default=QUESTION)
    parser.add_argument("-k", type=int, default=4, help="documents retrieved (default 4)")
    parser.add_argument("--alpha", type=float, default=0.5,
                        help="hybrid weight: 0 = BM25 only, 1 = vectors only (default 0.5)")
    parser.add_argument("--rerank", action="store_true", help="rerank 10 candidates")
    add_weaviate_args(parser, "ExampleLangChain")
    args = parser.parse_args()

    from langchain_core.documents import Document
    from langchain_core.runnables import RunnableLambda, RunnablePassthrough
    from langchain_embedweave import EmbedweaveEmbeddings, EmbedweaveVectorStore
    from langchain_text_splitters import MarkdownHeaderTextSplitter

    from embedweave.answer import answer, llm_from_env
    from embedweave.types import Chunk, Hit

    with weaviate(args) as conn:
        drop_collection(conn, args.collection)
        embeddings = EmbedweaveEmbeddings(model="minilm")
        splitter = MarkdownHeaderTextSplitter(
            [("#", "title"), ("##", "section")], strip_headers=False
        )
        docs: list[Document] = []
        ids: list[str] = []
        for path in sorted(DOCS.glob("*.md")):
            for i, d in enumerate(splitter.split_text(path.read_text(encoding="utf-8"))):
                d.metadata["source"] = path.name
                docs.append(d)
                ids.append(f"{path.name}#{i}")  # stable ids: re-running overwrites
        store = EmbedweaveVectorStore.from_documents(
            docs, embeddings, ids=ids, collection=args.collection, **conn.store_args()
        )
        print(f"indexed {len(docs)} sections in {args.collection} at {conn.url}")

        retriever = store.as_retriever(
            search_kwargs={"k": 10 if args.rerank else args.k, "alpha": args.alpha}
        )
        if args.rerank:
            from langchain_classic.retrievers import ContextualCompressionRetriever
            from langchain_embedweave import EmbedweaveRerank

            retriever = ContextualCompressionRetriever(
                base_compressor=EmbedweaveRerank(top_n=args.k), base_retriever=retriever
            )

        def to_answer(inputs: dict) -> object:
            # LangChain documents -> embedweave hits -> extractive (or LLM) answer
            hits = [
                Hit(Chunk(document_id=d.metadata["source"], index=i, text=d.page_content,
                          metadata={"source": d.metadata["source"],
                                    "section": d.metadata.get("section", "")}),
                    float(d.metadata.get("relevance_score", "nan")))
                for i, d in enumerate(inputs["documents"])
            ]
            return answer(inputs["question"], hits, llm=llm_from_env(),
                          embedder=embeddings.core)

        chain = {"documents": retriever, "question": RunnablePassthrough()} | RunnableLambda(
            to_answer
        )
        print(f"\nQuestion: {args.question}")
        print_answer(chain.invoke(args.question))
        store.close()


if __name__ == "__main__":
    main()
