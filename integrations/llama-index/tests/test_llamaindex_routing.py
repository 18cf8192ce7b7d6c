"""Language routing through the LlamaIndex classes, over a collection the core ``Index`` built.

English goes to MiniLM, everything else to WordLlama (both real, offline; WordLlama is
English-trained, so German text draws the core's warning); the store is the exact
``MemoryStore`` so this module needs no server.
"""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.vector_stores.types import VectorStoreQuery
from llama_index.embeddings.embedweave import EmbedweaveEmbedding
from llama_index.retrievers.embedweave import EmbedweaveRetriever
from llama_index.vector_stores.embedweave import EmbedweaveVectorStore

from embedweave.errors import SpaceMismatchError
from embedweave.pipeline import Index
from embedweave.routing import Router, RouteTable, UnsupportedLanguageWarning
from embedweave.store import MemoryStore
from embedweave.types import Document

DOCS = [
    Document("en-volcano", "Volcanoes erupt when magma rises through cracks in the crust of "
             "the Earth, and lava flows down the slopes.", {"lang": "en"}),
    Document("en-coffee", "Espresso is brewed by forcing hot water through finely ground "
             "coffee beans at high pressure.", {"lang": "en"}),
    Document("de-volcano", "Vulkane brechen aus, wenn Magma durch Risse in der Erdkruste "
             "aufsteigt und Lava die Hänge hinunterfliesst.", {"lang": "de"}),
    Document("de-coffee", "Espresso wird zubereitet, indem heisses Wasser mit hohem Druck "
             "durch fein gemahlenen Kaffee gepresst wird.", {"lang": "de"}),
]


@pytest.fixture(scope="module")
def routed(embed_model: Any) -> tuple[Router, MemoryStore]:
    router = Router(
        RouteTable(routes={"en": "minilm", "*": "wordllama-256"}),
        embedders={"minilm": embed_model.embedder},
    )
    store = MemoryStore(router.vector_spaces())
    # WordLlama is English-trained: the core says so instead of failing silently.
    with pytest.warns(UnsupportedLanguageWarning, match="de: 2"):
        Index(store, router).add_documents(DOCS)
    return router, store


def test_retriever_routes_queries_by_language(routed: tuple[Router, MemoryStore]) -> None:
    router, store = routed
    retriever = EmbedweaveRetriever(store, router, similarity_top_k=1)
    with pytest.warns(UnsupportedLanguageWarning, match="de: 1"):
        german = retriever.retrieve("Wie brechen Vulkane aus, wenn Magma aufsteigt?")
    assert german[0].node.ref_doc_id == "de-volcano"
    english = retriever.retrieve("How is espresso brewed from ground coffee beans?")
    assert english[0].node.ref_doc_id == "en-coffee"
    # Chunks the core wrote come back as text nodes sourced from their document.
    assert english[0].node.metadata == {"lang": "en"}


def test_embedding_of_one_router_space_opens_that_space(
    routed: tuple[Router, MemoryStore],
) -> None:
    router, store = routed
    embed_model = EmbedweaveEmbedding(router=router, route_space="minilm")
    assert embed_model.space() == router.vector_space("minilm")
    assert embed_model.embedder is router.embedder("minilm")
    vs = EmbedweaveVectorStore(store, embed_model=embed_model)
    res = vs.query(VectorStoreQuery(
        query_embedding=embed_model.get_query_embedding("magma and lava"), similarity_top_k=1
    ))
    assert res.nodes and res.nodes[0].ref_doc_id == "en-volcano"
    # The bare model's space differs from the routed one (its fingerprint covers routes).
    bare = EmbedweaveEmbedding(embedder=embed_model.embedder)
    with pytest.raises(SpaceMismatchError) as err:
        EmbedweaveVectorStore(store, embed_model=bare)
    recorded = router.vector_space("minilm").fingerprint
    assert f"collection has {recorded!r}, requested {bare.space().fingerprint!r}" in str(err.value)
    with pytest.raises(ValueError, match="route_space"):
        EmbedweaveEmbedding(router=router)
