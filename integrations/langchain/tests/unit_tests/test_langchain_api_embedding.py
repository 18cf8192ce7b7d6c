"""Contract test: ``EmbedweaveEmbeddings`` over an API model (Cohere protocol, real vectors).

The local contract server (``tests/api_servers.py``) answers with MiniLM vectors from
the core ``Embedder`` (zero-padded to embed-english-v3.0's 1024 dims: cosines equal),
so the wrapper must rank like the local model, send Cohere's input types, and its
async methods must await the async client on the running loop.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from embedweave.embedding import Embedder

from langchain_embedweave import EmbedweaveEmbeddings

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "tests"))
from api_servers import ContractServer, Ticker

KEY = "sk-lc-secret-3"
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
            v = minilm.embed_documents(texts, prompt="")
        return np.pad(v, ((0, 0), (0, 1024 - 384)))

    s = ContractServer("cohere", dims=1024, key=KEY, vectors=vectors, latency=0.1)
    yield s
    s.close()


def test_api_model_ranks_like_local_and_hides_the_key(server: ContractServer,
                                                      minilm: Embedder) -> None:
    emb = EmbedweaveEmbeddings(model="cohere:embed-english-v3.0", api_key=KEY,
                               base_url=server.url)
    docs = np.array(emb.embed_documents(TEXTS))
    q = np.array(emb.embed_query("how long does tea brew"))
    np.testing.assert_allclose(docs[:, :384], minilm.embed_documents(TEXTS), atol=1e-5)
    local = minilm.embed_documents(TEXTS) @ minilm.embed_query("how long does tea brew")
    assert list(np.argsort(-(docs @ q))) == list(np.argsort(-local))
    assert [r["body"]["input_type"] for r in server.requests] == ["search_document",
                                                                  "search_query"]
    assert KEY not in repr(emb) and KEY not in emb.model_dump_json()
    assert KEY not in str(emb.space().to_dict())


@pytest.mark.asyncio
async def test_async_methods_never_block_the_loop(server: ContractServer) -> None:
    emb = EmbedweaveEmbeddings(model="cohere:embed-english-v3.0", api_key=KEY,
                               base_url=server.url)
    server.latency = 0.6
    async with Ticker() as ticker:
        docs, q = await asyncio.gather(emb.aembed_documents(TEXTS), emb.aembed_query("tea"))
    assert len(docs) == 3 and len(q) == 1024
    assert server.max_in_flight == 2  # both requests at once, on the loop
    assert ticker.max_gap < 0.3  # never blocked for a request (0.6 s each)
