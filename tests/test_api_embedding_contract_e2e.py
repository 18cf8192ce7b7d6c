"""Contract tests end to end: ingest + query over the API path with real vectors.

The contract servers (``tests/api_servers.py``) answer with all-MiniLM-L6-v2 vectors
from the project's own ``Embedder("minilm")``, so ``Index``/``Retriever`` (real
Weaviate), route tables and the CLI run over the OpenAI and Cohere protocols and must
rank exactly like the local model.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from api_servers import ContractServer

from embedweave.cli import main
from embedweave.embedding import Embedder
from embedweave.errors import SpaceMismatchError
from embedweave.pipeline import Index, Retriever
from embedweave.routing import Router, RouteTable
from embedweave.store.memory import MemoryStore
from embedweave.types import Document

KEY = "sk-e2e-secret-99"
DOCS = [
    Document("hnsw", "HNSW builds a layered proximity graph for approximate nearest neighbours."),
    Document("bm25", "BM25 ranks documents by term frequency and inverse document frequency."),
    Document("tea", "Green tea leaves steep in hot water for two or three minutes."),
    Document("dogs", "Dogs bark loudly at the mailman every morning."),
    Document("matry", "Matryoshka embeddings keep most information in the first dimensions."),
    Document("pump", "Press the red button to start the water pump."),
]
QUERIES = ["approximate nearest neighbour graph", "how long to brew tea",
           "shorter embedding vectors", "why is my dog noisy", "keyword ranking formula"]


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return Embedder("minilm")


def minilm_server(provider: str, minilm: Embedder, width: int = 384) -> ContractServer:
    """MiniLM vectors, zero-padded to ``width`` (cosines unchanged) for 1024-dim models."""
    lock = threading.Lock()  # fast tokenizers are not thread-safe

    def vectors(texts: list[str], body: dict[str, Any]) -> np.ndarray:
        with lock:
            v = minilm.embed_documents(texts, prompt="")
        return np.pad(v, ((0, 0), (0, width - v.shape[1])))

    return ContractServer(provider, dims=width, key=KEY, vectors=vectors)


@pytest.fixture
def openai_minilm(minilm: Embedder) -> Iterator[ContractServer]:
    s = minilm_server("openai", minilm)
    yield s
    s.close()


@pytest.fixture
def cohere_minilm(minilm: Embedder) -> Iterator[ContractServer]:
    s = minilm_server("cohere", minilm, width=1024)  # embed-multilingual-v3.0 is 1024 wide
    yield s
    s.close()


def _ranked(retriever: Retriever, queries: list[str]) -> list[list[str]]:
    return [[h.chunk.document_id for h in retriever.retrieve(q, k=3)] for q in queries]


@pytest.mark.weaviate
def test_index_and_retriever_over_the_openai_protocol_rank_like_minilm(
    weaviate_server: Any, openai_minilm: ContractServer, minilm: Embedder, tmp_path: Path
) -> None:
    from embedweave.store.weaviate import WeaviateStore

    api = Embedder("openai:all-MiniLM-L6-v2", api_key=KEY, base_url=openai_minilm.url,
                   cache=tmp_path / "emb.sqlite")
    assert api.dims == 384 and api.space().dims_source == "native"
    name = "Api" + uuid.uuid4().hex[:10]
    store = WeaviateStore(name, [api.space()], url=weaviate_server.url,
                          grpc_port=weaviate_server.grpc_port)
    try:
        Index(store, api).add_documents(DOCS)
        local_store = MemoryStore([minilm.space()])
        Index(local_store, minilm).add_documents(DOCS)
        want = _ranked(Retriever(local_store, minilm), QUERIES)
        got = _ranked(Retriever(store, api), QUERIES)
        assert got == want
        assert [r[0] for r in got] == ["hnsw", "tea", "matry", "dogs", "bm25"]
        sent = len(openai_minilm.requests)
        # re-ingest of the unchanged corpus through a fresh embedder: zero API calls
        again = Embedder("openai:all-MiniLM-L6-v2", api_key=KEY, base_url=openai_minilm.url,
                         cache=tmp_path / "emb.sqlite")
        Index(store, again).add_documents(DOCS)
        assert len(openai_minilm.requests) == sent and again.stats.api_requests == 0
        desc = json.dumps([s.to_dict() for s in store.spaces.values()])
        assert KEY not in desc and "openai:all-MiniLM-L6-v2" in desc
    finally:
        store.close()
    other = Embedder("openai:text-embedding-3-small", api_key=KEY, base_url=openai_minilm.url,
                     dimensions=384)
    with pytest.raises(SpaceMismatchError, match="openai:all-MiniLM-L6-v2"):
        WeaviateStore(name, [other.space(api.space().name)], url=weaviate_server.url,
                      grpc_port=weaviate_server.grpc_port)


@pytest.mark.asyncio
async def test_async_retrieval_over_the_api_matches_sync(
    openai_minilm: ContractServer, minilm: Embedder
) -> None:
    api = Embedder("openai:all-MiniLM-L6-v2", api_key=KEY, base_url=openai_minilm.url)
    store = MemoryStore([api.space()])
    await Index(store, api).aadd_documents(DOCS)
    r = Retriever(store, api)
    hits = await r.aretrieve(QUERIES[1], k=2)
    assert [h.chunk.document_id for h in hits] == [h.chunk.document_id
                                                   for h in r.retrieve(QUERIES[1], k=2)]
    assert hits[0].chunk.document_id == "tea"


def test_route_table_yaml_sends_every_language_to_cohere(
    cohere_minilm: ContractServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CO_API_KEY", KEY)
    monkeypatch.setenv("CO_API_URL", cohere_minilm.url)
    path = tmp_path / "routes.yaml"
    path.write_text('routes:\n  "*": cohere:embed-multilingual-v3.0\n')
    router = Router.from_yaml(path)
    assert RouteTable.from_yaml(path).to_dict()["routes"] == {"*": "cohere_embed_multilingual_v3_0"}
    store = MemoryStore(router.vector_spaces())
    Index(store, router).add_documents(DOCS)
    hits = Retriever(store, router).retrieve("how long to brew tea", k=1)
    assert hits[0].chunk.document_id == "tea"
    types = [r["body"]["input_type"] for r in cohere_minilm.requests]
    assert types[0] == "search_document" and types[-1] == "search_query"
    assert {r["body"]["model"] for r in cohere_minilm.requests} == {"embed-multilingual-v3.0"}
    vs = router.vector_space("cohere_embed_multilingual_v3_0")
    assert vs.dims == 1024 and vs.dims_source == "native"
    assert KEY not in json.dumps(vs.to_dict()) and KEY not in router.table.to_yaml()


@pytest.mark.weaviate
def test_cli_ingest_and_query_with_an_openai_compatible_server(
    weaviate_server: Any, openai_minilm: ContractServer, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EMBEDWEAVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for d in DOCS:
        (corpus / f"{d.id}.txt").write_text(d.text)
    store = ["-c", "Cli" + uuid.uuid4().hex[:10], "--url", weaviate_server.url,
             "--grpc-port", str(weaviate_server.grpc_port)]
    code = main(["ingest", str(corpus), *store, "--json", "--model", "openai:all-MiniLM-L6-v2",
                 "--base-url", openai_minilm.url])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["collection_chunks"] == len(DOCS)
    code = main(["query", "how long to brew tea", *store, "--json", "-k", "1"])  # as ingested
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["hits"][0]["source"].endswith("tea.txt")
    state = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    assert openai_minilm.url in state and KEY not in state  # base URL remembered, key never
