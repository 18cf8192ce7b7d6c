"""EmbedweaveRerank as a compressor, and the wrappers inside LCEL chains."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from embedweave.rerank import Reranker
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import PromptTemplate
from langchain_core.runnables import RunnableLambda

from langchain_embedweave import EmbedweaveEmbeddings, EmbedweaveRerank, EmbedweaveVectorStore

QUERY = "how do search engines rank documents?"


@pytest.fixture(scope="module")
def reranker(cross_encoder_dir: Any) -> Reranker:
    return Reranker(cross_encoder_dir)


@pytest.fixture(scope="module")
def docs(corpus: Any) -> list[Document]:
    return [Document(id=i, page_content=t, metadata=m) for i, t, m in corpus]


def test_compressor_returns_the_reranker_order(reranker: Reranker, docs: list[Document]) -> None:
    scores = reranker.score(QUERY, [d.page_content for d in docs])
    worst_first = [docs[i] for i in sorted(range(len(docs)), key=lambda i: scores[i])]
    out = EmbedweaveRerank(reranker=reranker, top_n=None).compress_documents(worst_first, QUERY)
    best_first = sorted(range(len(docs)), key=lambda i: -scores[i])
    assert [d.id for d in out] == [docs[i].id for i in best_first]  # fully reversed
    assert [d.metadata["relevance_score"] for d in out] == pytest.approx(
        sorted(scores, reverse=True), abs=1e-5
    )
    # Copies: original ids and metadata kept, input documents untouched.
    assert out[0].metadata["topic"] == docs[best_first[0]].metadata["topic"]
    assert all("relevance_score" not in d.metadata for d in docs)


def test_top_n_and_threshold(reranker: Reranker, docs: list[Document]) -> None:
    scores = sorted(reranker.score(QUERY, [d.page_content for d in docs]), reverse=True)
    assert len(EmbedweaveRerank(reranker=reranker).compress_documents(docs, QUERY)) == 3
    assert len(EmbedweaveRerank(reranker=reranker, top_n=5).compress_documents(docs, QUERY)) == 5
    cut = (scores[1] + scores[2]) / 2
    kept = EmbedweaveRerank(reranker=reranker, top_n=None, score_threshold=cut)
    assert len(kept.compress_documents(docs, QUERY)) == 2
    assert EmbedweaveRerank(reranker=reranker).compress_documents([], QUERY) == []


async def test_async_compress(reranker: Reranker, docs: list[Document]) -> None:
    rr = EmbedweaveRerank(reranker=reranker, top_n=4)
    assert [d.id for d in await rr.acompress_documents(docs, QUERY)] == [
        d.id for d in rr.compress_documents(docs, QUERY)
    ]


def test_model_settings_build_the_core_reranker(cross_encoder_dir: Any) -> None:
    rr = EmbedweaveRerank(model=str(cross_encoder_dir), normalize=True, top_n=2)
    assert rr.core.model_name == str(cross_encoder_dir)
    out = rr.compress_documents([Document("a b"), Document("c d"), Document("e")], "a")
    assert len(out) == 2 and all(0.0 < d.metadata["relevance_score"] < 1.0 for d in out)
    with pytest.raises(ValueError, match="not both"):
        EmbedweaveRerank(model="x", reranker=rr.core)
    with pytest.raises(ValueError, match="top_n"):
        EmbedweaveRerank(reranker=rr.core, top_n=0)


@pytest.fixture()
def vs(
    minilm: Any, weaviate_server: Any, docs: list[Document]
) -> Iterator[EmbedweaveVectorStore]:
    store = EmbedweaveVectorStore(
        EmbedweaveEmbeddings(embedder=minilm),
        collection="LcChain" + uuid.uuid4().hex[:10],
        server=weaviate_server,
    )
    store.add_documents(docs)
    try:
        yield store
    finally:
        store.delete_collection()


@pytest.mark.weaviate
def test_contextual_compression_reorders_as_the_reranker_scores(
    vs: EmbedweaveVectorStore, reranker: Reranker
) -> None:
    base = vs.as_retriever(search_kwargs={"k": 6})
    first_stage = base.invoke(QUERY)
    ccr = ContextualCompressionRetriever(
        base_compressor=EmbedweaveRerank(reranker=reranker, top_n=4), base_retriever=base
    )
    out = ccr.invoke(QUERY)
    scores = reranker.score(QUERY, [d.page_content for d in first_stage])
    expected = [first_stage[i].id for i in sorted(range(6), key=lambda i: -scores[i])][:4]
    assert [d.id for d in out] == expected
    assert [d.metadata["relevance_score"] for d in out] == pytest.approx(
        sorted(scores, reverse=True)[:4], abs=1e-5
    )


@pytest.mark.weaviate
def test_lcel_rag_chain_with_an_offline_llm(vs: EmbedweaveVectorStore) -> None:
    seen: list[str] = []

    def format_docs(documents: list[Document]) -> str:
        return "\n".join(f"[{d.id}] {d.page_content}" for d in documents)

    def record(prompt_value: Any) -> Any:
        seen.append(prompt_value.to_string())
        return prompt_value

    prompt = PromptTemplate.from_template("Context:\n{context}\n\nQuestion: {question}")
    llm = FakeListLLM(responses=["Bees pollinate flowers."])
    chain = (
        {
            "context": vs.as_retriever(search_kwargs={"k": 2}) | format_docs,
            "question": RunnableLambda(lambda q: q),
        }
        | prompt
        | RunnableLambda(record)
        | llm
        | StrOutputParser()
    )
    assert chain.invoke("Which insects pollinate flowers?") == "Bees pollinate flowers."
    assert "[bees] Honey bees pollinate flowers" in seen[0]
    assert seen[0].endswith("Question: Which insects pollinate flowers?")


@pytest.mark.weaviate
async def test_lcel_chain_async(vs: EmbedweaveVectorStore) -> None:
    chain = vs.as_retriever(search_kwargs={"k": 1}) | RunnableLambda(
        lambda ds: ds[0].page_content
    )
    assert (await chain.ainvoke("dough")).startswith("Knead the bread dough")
