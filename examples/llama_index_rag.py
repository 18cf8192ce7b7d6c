"""RAG with LlamaIndex over embedweave: Markdown docs -> Weaviate -> retrieve -> answer.

Run:  python examples/llama_index_rag.py ["your question"]

Offline: MiniLM embeds, a local Weaviate stores (started here unless --weaviate-url is
given), and the answer is extractive (the best sentences of the retrieved sections, cited).
Set EMBEDWEAVE_LLM_MODEL (and EMBEDWEAVE_LLM_URL / EMBEDWEAVE_LLM_API_KEY) to have an
OpenAI-compatible LLM write the answer from the same sources instead. --rerank adds
embedweave's cross-encoder (EmbedweaveRerank) after retrieval.
"""

from __future__ import annotations

import argparse

from _common import DOCS, add_weaviate_args, drop_collection, print_answer, weaviate

QUESTION = "How do I shrink vectors to save memory?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("question", nargs="?", default=QUESTION)
    parser.add_argument("-k", type=int, default=4, help="sections retrieved (default 4)")
    parser.add_argument("--rerank", action="store_true", help="rerank 10 candidates")
    add_weaviate_args(parser, "ExampleLlamaIndex")
    args = parser.parse_args()

    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import MarkdownNodeParser
    from llama_index.embeddings.embedweave import EmbedweaveEmbedding
    from llama_index.vector_stores.embedweave import EmbedweaveVectorStore

    from embedweave.answer import answer, llm_from_env
    from embedweave.types import Chunk, Hit, chunk_uuid

    with weaviate(args) as conn:
        drop_collection(conn, args.collection)
        embed_model = EmbedweaveEmbedding("minilm")
        vector_store = EmbedweaveVectorStore(
            collection=args.collection, embed_model=embed_model, **conn.store_args()
        )
        # one document per file (id = file name), one node per Markdown section with its
        # heading; stable node ids, so re-running overwrites instead of duplicating
        docs = SimpleDirectoryReader(str(DOCS), required_exts=[".md"]).load_data()
        for d in docs:
            d.id_ = d.metadata["file_name"]
        nodes = MarkdownNodeParser().get_nodes_from_documents(docs)
        position: dict[str, int] = {}
        for n in nodes:
            doc_id = n.ref_doc_id or ""
            n.id_ = chunk_uuid(doc_id, position.setdefault(doc_id, 0))
            position[doc_id] += 1
        index = VectorStoreIndex(
            nodes,
            storage_context=StorageContext.from_defaults(vector_store=vector_store),
            embed_model=embed_model,
        )
        print(f"indexed {len(docs)} files as {len(nodes)} sections in {args.collection} "
              f"at {conn.url}")

        postprocessors = []
        if args.rerank:
            from llama_index.postprocessor.embedweave_rerank import EmbedweaveRerank

            postprocessors.append(EmbedweaveRerank(top_n=args.k))
        retriever = index.as_retriever(similarity_top_k=10 if args.rerank else args.k)
        found = retriever.retrieve(args.question)
        for p in postprocessors:
            found = p.postprocess_nodes(found, query_str=args.question)

        # the answer step is embedweave's: extractive, or the configured LLM
        hits = [
            Hit(Chunk(document_id=n.node.ref_doc_id or "", index=i, text=n.node.get_content(),
                      metadata={"source": n.node.metadata.get("file_name", ""),
                                "section": _heading(n.node.get_content())}),
                float(n.score or 0.0))
            for i, n in enumerate(found)
        ]
        print(f"\nQuestion: {args.question}")
        result = answer(args.question, hits, llm=llm_from_env(), embedder=embed_model.embedder)
        print_answer(result)
        vector_store.close()


def _heading(text: str) -> str:
    first = text.lstrip().split("\n", 1)[0]
    return first.lstrip("#").strip() if first.startswith("#") else ""


if __name__ == "__main__":
    main()
