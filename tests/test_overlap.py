"""Index overlaps embedding window n+1 with writing window n, in order, on real Weaviate."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import numpy as np
import pytest

from embedweave.embedding import Embedder
from embedweave.errors import EmbedweaveError
from embedweave.pipeline import Index
from embedweave.store.weaviate import WeaviateStore
from embedweave.types import Document

EVENTS: list[tuple[str, str, float, float]] = []  # (what, thread, start, end)


class SlowStore(WeaviateStore):
    """The real store; each write takes 0.2 s longer so overlap is observable, and
    ``fail_on`` makes that write fail like a server error would."""

    fail_on: int | None = None
    writes = 0

    def upsert(self, chunks: Any, vectors: Any, *, tenant: str | None = None) -> list[str]:
        t0 = time.perf_counter()
        self.writes += 1
        time.sleep(0.2)
        if self.writes == self.fail_on:
            raise EmbedweaveError(f"write {self.writes} failed")
        out = super().upsert(chunks, vectors, tenant=tenant)
        EVENTS.append(("write", threading.current_thread().name, t0, time.perf_counter()))
        return out


class TimedEmbedder(Embedder):
    def embed_documents(self, texts: Any, **kw: Any) -> np.ndarray:
        t0 = time.perf_counter()
        out = super().embed_documents(texts, **kw)
        EVENTS.append(("embed", threading.current_thread().name, t0, time.perf_counter()))
        return out


def _docs(n: int, tag: str = "") -> list[Document]:
    return [Document(id=f"doc{i}", text=f"Document {i} about topic {i % 7}{tag}. " * 3)
            for i in range(n)]


@pytest.fixture(scope="module")
def embedder() -> TimedEmbedder:
    return TimedEmbedder("wordllama-256")


def test_next_window_is_embedded_while_the_last_is_written(
    weaviate_server: Any, collection_name: str, embedder: TimedEmbedder
) -> None:
    store = SlowStore(collection_name, [embedder.space()], server=weaviate_server)
    try:
        index = Index(store, embedder, window=10)
        EVENTS.clear()
        index.add_documents(_docs(50))
        assert store.count() == 50
        writes = [e for e in EVENTS if e[0] == "write"]
        embeds = [e for e in EVENTS if e[0] == "embed"]
        assert len(writes) == 5 and len(embeds) == 5
        assert all(w[1].startswith("embedweave-index") for w in writes)  # off the caller
        assert all(w[2] >= p[3] for p, w in itertools.pairwise(writes))  # one by one, in order
        # window n+1 was embedded before window n's write finished
        assert sum(e[2] < w[3] for e, w in zip(embeds[1:], writes[:-1], strict=True)) >= 3
        # re-ingest changed documents: new version written, stale chunks gone
        index.add_documents(_docs(50, tag=" revised"))
        assert store.count() == 50
        assert all("revised" in c.text for c in store.iter_chunks())
    finally:
        store.drop()
        store.close()


def test_a_failed_write_stops_later_windows(
    weaviate_server: Any, collection_name: str, embedder: TimedEmbedder
) -> None:
    store = SlowStore(collection_name, [embedder.space()], server=weaviate_server)
    try:
        store.fail_on = 2
        with pytest.raises(EmbedweaveError, match="write 2 failed"):
            Index(store, embedder, window=10).add_documents(_docs(50))
        assert store.writes == 2  # windows 3.. never written after the failure
        assert store.count() == 10
    finally:
        store.drop()
        store.close()
