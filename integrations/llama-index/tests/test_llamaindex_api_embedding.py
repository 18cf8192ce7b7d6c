"""Contract test: ``EmbedweaveEmbedding`` over an API model (OpenAI protocol, real vectors).

The local contract server (``tests/api_servers.py``) answers with MiniLM vectors from
the core ``Embedder``, so the wrapper must give exactly the local model's vectors and
rank like it, and its async hooks must await the async client on the running loop.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.embeddings.embedweave import EmbedweaveEmbedding

from embedweave.embedding import Embedder

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
from api_servers import ContractServer, Ticker

KEY = "sk-llama-secret-7"
TEXTS = ["HNSW builds a layered proximity graph.", "Green tea steeps for two minutes.",
         "Dogs bark at the mailman."]


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return Embedder("minilm")


@pytest.fixture
def server(minilm: Embedder) -> Iterator[ContractServer]:
    lock = threading.Lock()

    def vectors(texts: list[str], body: dict[str, Any]) -> np.ndarray:
        with lock:
            return minilm.embed_documents(texts, prompt="")

    s = ContractServer("openai", dims=384, key=KEY, vectors=vectors, latency=0.1)
    yield s
    s.close()


def test_api_model_matches_local_and_keeps_the_key_out(server: ContractServer,
                                                       minilm: Embedder) -> None:
    emb = EmbedweaveEmbedding("openai:all-MiniLM-L6-v2", api_key=KEY, base_url=server.url)
    got = emb.get_text_embedding_batch(TEXTS)
    np.testing.assert_allclose(got, minilm.embed_documents(TEXTS), atol=1e-5)
    np.testing.assert_allclose(emb.get_query_embedding("tea"), minilm.embed_query("tea"),
                               atol=1e-5)
    shown = [emb.to_json(), repr(emb), str(emb.to_payload()), str(emb.space().to_dict())]
    assert not any(KEY in s for s in shown) and server.url in emb.to_json()


def test_vector_store_index_retrieves_like_local(server: ContractServer) -> None:
    emb = EmbedweaveEmbedding("openai:all-MiniLM-L6-v2", api_key=KEY, base_url=server.url)
    local = EmbedweaveEmbedding("minilm")
    docs = [Document(text=t, doc_id=str(i)) for i, t in enumerate(TEXTS)]
    ranked = []
    for model in (emb, local):
        index = VectorStoreIndex.from_documents(docs, embed_model=model)
        ranked.append([n.node.ref_doc_id for n in index.as_retriever(similarity_top_k=3)
                       .retrieve("how long does tea brew")])
    assert ranked[0] == ranked[1] and ranked[0][0] == "1"


@pytest.mark.asyncio
async def test_async_hooks_never_block_the_loop(server: ContractServer,
                                                minilm: Embedder) -> None:
    emb = EmbedweaveEmbedding("openai:all-MiniLM-L6-v2", api_key=KEY, base_url=server.url,
                              embed_batch_size=1)
    server.latency = 0.6
    async with Ticker() as ticker:
        got = await emb.aget_text_embedding_batch(TEXTS)  # 3 requests of 0.6 s each
        q = await emb.aget_query_embedding("tea")
    # the server embeds each one-text request alone (under bf16 a vector moves with its
    # batch's padding, so the reference is per text too)
    alone = np.stack([minilm.embed_documents([t])[0] for t in TEXTS])
    np.testing.assert_allclose(got, alone, atol=1e-5)
    np.testing.assert_allclose(q, minilm.embed_query("tea"), atol=1e-5)
    assert ticker.max_gap < 0.3  # never blocked for a request
    assert server.max_in_flight >= 2  # LlamaIndex's batches ran concurrently on the loop
