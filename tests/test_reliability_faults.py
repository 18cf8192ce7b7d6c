"""Faults on a real server: SIGKILL mid-ingest of 20,000 chunks, a re-ingest cut off by
a killed server, and a bounded soak of ingest + re-ingest + 8 query threads.

Each test runs its own ``ManagedWeaviate`` (it is killed), with ``wordllama-256`` at 64
dims so the model is not the bottleneck. Figures printed here feed docs/reliability.md
(run with ``-s`` to see them).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from conftest import unavailable
from embedweave.chunking import Chunker
from embedweave.embedding import Embedder
from embedweave.errors import EmbedweaveError, ServerError
from embedweave.pipeline import Index, Retriever
from embedweave.server import ManagedWeaviate
from embedweave.store.weaviate import WeaviateStore
from embedweave.store.weaviate.errors import RetryPolicy
from embedweave.store.weaviate.repair import find_unindexed
from embedweave.types import Chunk, Document

pytestmark = [pytest.mark.weaviate, pytest.mark.slow]

#: One sentence (about ten approximate tokens) is one chunk under this chunker.
CHUNKER = Chunker(max_tokens=14, min_tokens=4, overlap=0)
WORDS = ["lava", "otter", "gambit", "yeast", "glacier", "castle", "saxophone", "harbour",
         "comet", "orchard", "violin", "desert"]


def corpus(n_docs: int, per_doc: int, version: int) -> list[Document]:
    docs = []
    for i in range(n_docs):
        w = WORDS[i % len(WORDS)]
        text = " ".join(f"Record {i} part {j} mentions the {w} in release {version}."
                        for j in range(per_doc))
        docs.append(Document(f"r{i}", text, {"release": version}))
    return docs


def start_server(data: Path) -> ManagedWeaviate:
    server = ManagedWeaviate(data)
    try:
        server.start()
    except ServerError as exc:
        unavailable(f"could not start Weaviate: {exc}")
    return server


def sigkill(server: ManagedWeaviate) -> None:
    """Kill the server process without letting it flush or shut down."""
    proc = server._proc
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    server._proc = None


class KillingStore(WeaviateStore):
    """The real store; SIGKILLs its server while the ``kill_at``-th upsert is in flight."""

    def __init__(self, *args: Any, victim: ManagedWeaviate, kill_at: int | None, **kw: Any):
        self.victim, self.kill_at, self.upserts = victim, kill_at, 0
        self.acknowledged: list[str] = []
        super().__init__(*args, **kw)

    def upsert(self, chunks: Sequence[Chunk], vectors: Any, *, tenant: str | None = None
               ) -> list[str]:
        self.upserts += 1
        if self.kill_at is not None and self.upserts == self.kill_at:
            threading.Timer(0.05, sigkill, args=(self.victim,)).start()
        ids = super().upsert(chunks, vectors, tenant=tenant)
        self.acknowledged += ids
        return ids


def assert_whole(store: WeaviateStore, total: int) -> None:
    """Every stored chunk is listed through the document_id index, none twice."""
    seen = [(c.document_id, c.index) for c in store.iter_chunks()]
    assert len(seen) == len(set(seen)) == total  # zero duplicates
    docs = sorted({d for d, _ in seen})
    listed = sum(len(v) for v in store.document_chunks(docs).values())
    assert listed == total, f"{total - listed} stored chunk(s) not listed"
    assert store.repair() == 0


def versions_by_document(store: WeaviateStore) -> dict[str, dict[int, list[int]]]:
    """document -> release -> chunk positions stored."""
    out: dict[str, dict[int, list[int]]] = {}
    for c in store.iter_chunks():
        out.setdefault(c.document_id, {}).setdefault(c.metadata.get("release", -1), []).append(
            c.index)
    return out


def test_sigkill_mid_ingest_then_rerun_converges_exactly(tmp_path: Path) -> None:
    emb = Embedder("wordllama-256", dimensions=64)
    n_docs, per_doc = 5_000, 4
    total = n_docs * per_doc
    v0 = corpus(n_docs, per_doc, 0)
    assert sum(len(CHUNKER.chunk(d)) for d in v0[:50]) == 50 * per_doc
    data = tmp_path / "killed"
    server = start_server(data)
    retry = RetryPolicy(attempts=2, backoff=0.1)
    try:
        # 1. first ingest, SIGKILLed while its 12th window (of 40) is being written
        store = KillingStore("Killed", [emb.space()], server=server, victim=server, kill_at=12,
                             retry=retry)
        started = time.monotonic()
        with pytest.raises(EmbedweaveError):
            Index(store, emb, CHUNKER, window=512).add_documents(v0)
        acknowledged = list(store.acknowledged)
        store.close()
        server = start_server(data)  # same data dir (and ports)
        store = KillingStore("Killed", [emb.space()], server=server, victim=server,
                             kill_at=None)
        survived = store.count()
        assert len(acknowledged) >= 11 * 512 and survived >= len(acknowledged)
        assert len(store.get(acknowledged)) == len(acknowledged)  # nothing acknowledged lost
        # what the re-run sees: chunks listed through the document_id index. An object of
        # the request in flight can reach the object store but not that index when the
        # server dies ("torn"); rewriting it unchanged would not index it (Weaviate skips
        # unchanged objects), so the re-run deletes it first (Store.repair) and rewrites it
        listed = {cid for chunks in store.document_chunks([d.id for d in v0]).values()
                  for cid in chunks}
        scanned = {c.id for c in store.iter_chunks()}  # the object store itself
        assert len(scanned) == survived
        assert set(acknowledged) <= listed <= scanned  # every acknowledged chunk indexed
        unindexed = survived - len(listed)
        assert unindexed <= 512  # at most the window in flight
        torn = set(find_unindexed(store._target(None), store._call))
        assert scanned - listed <= torn and torn.isdisjoint(acknowledged)
        before = emb.stats.embedded
        again = Index(store, emb, CHUNKER, window=512).add_documents(v0)
        embedded = emb.stats.embedded - before
        assert again.chunks_repaired == len(torn)
        # only what was missing or torn is embedded
        assert again.chunks_written == embedded == total - (survived - again.chunks_repaired)
        assert store.count() == total
        assert_whole(store, total)
        print(f"\n[kill] {total} chunks; SIGKILL at window 12: {len(acknowledged)} "
              f"acknowledged, {survived} survived the restart ({unindexed} not in the "
              f"document_id index, {again.chunks_repaired} repaired), re-run embedded "
              f"{embedded}; final count {store.count()}, duplicates 0 "
              f"({time.monotonic() - started:.0f}s)")

        # 2. a re-ingest of a new release, SIGKILLed mid-write: every document stays whole
        # in its old or its new release (searchable), and running again converges
        v1 = corpus(n_docs, per_doc, 1)
        store.kill_at, store.upserts = 10, 0
        with pytest.raises(EmbedweaveError):
            Index(store, emb, CHUNKER, window=512).add_documents(v1)
        store.close()
        server = start_server(data)
        store = KillingStore("Killed", [emb.space()], server=server, victim=server,
                             kill_at=None)
        state = versions_by_document(store)
        assert len(state) == n_docs
        whole = {doc: [r for r, pos in rel.items() if sorted(pos) == list(range(per_doc))]
                 for doc, rel in state.items()}
        assert all(whole.values()), [d for d, w in whole.items() if not w][:5]
        old = [d for d, w in whole.items() if w == [0]]
        assert old  # the kill came before every document was rewritten
        hit = Retriever(store, emb, k=5).retrieve(
            f"Record {old[0][1:]} part 0", filters={"document_id": old[0]})
        assert hit and hit[0].chunk.metadata["release"] == 0
        done = Index(store, emb, CHUNKER, window=512).add_documents(v1)
        final = versions_by_document(store)
        wrong = {d: rel for d, rel in final.items()
                 if set(rel) != {1} or sorted(rel[1]) != list(range(per_doc))}
        assert not wrong, list(wrong.items())[:5]
        assert store.count() == total and len(final) == n_docs
        assert_whole(store, total)
        print(f"[kill] re-ingest killed at window 10: {len(old)} documents still whole in "
              f"the old release, {n_docs - len(old)} in the new one; re-run repaired "
              f"{done.chunks_repaired} torn, wrote {done.chunks_written} chunks, deleted "
              f"{done.chunks_deleted} stale; final count {store.count()}")
        store.close()
    finally:
        server.stop()


def test_soak_ingest_reingest_and_eight_query_threads(tmp_path: Path) -> None:
    seconds = float(os.environ.get("EMBEDWEAVE_SOAK_SECONDS", "30"))
    emb = Embedder("wordllama-256", dimensions=64)
    server = start_server(tmp_path / "soak")
    base = corpus(200, 2, 0)
    try:
        store = WeaviateStore("Soak", [emb.space()], server=server)
        Index(store, emb, CHUNKER).add_documents(base)
        stop = threading.Event()
        errors: list[BaseException] = []
        missing: list[str] = []
        queries = [0] * 8
        new_docs = [0]
        rounds = [0]

        def guard(fn: Any) -> Any:
            def run(*args: Any) -> None:
                try:
                    fn(*args)
                except BaseException as exc:
                    errors.append(exc)
                    stop.set()
            return run

        @guard
        def ingest() -> None:  # new documents arrive
            index = Index(store, emb, CHUNKER)
            while not stop.is_set():
                start = 10_000 + new_docs[0]
                batch = [Document(f"n{i}", f"Fresh note {i} about the comet tail.")
                         for i in range(start, start + 20)]
                index.add_documents(batch)
                new_docs[0] += 20

        @guard
        def reingest() -> None:  # the base corpus is rewritten, release after release
            index = Index(store, emb, CHUNKER)
            while not stop.is_set():
                rounds[0] += 1
                res = index.add_documents(corpus(200, 2, rounds[0]))
                assert res.updated == 200

        @guard
        def query(t: int) -> None:  # no base document may ever be missing
            retriever = Retriever(store, emb, k=3)
            rng = random.Random(t)
            while not stop.is_set():
                i = rng.randrange(200)
                hits = retriever.retrieve(f"Record {i} mentions", filters={"document_id": f"r{i}"})
                if not hits:
                    missing.append(f"r{i}")
                queries[t] += 1

        threads = [threading.Thread(target=ingest), threading.Thread(target=reingest)]
        threads += [threading.Thread(target=query, args=(t,)) for t in range(8)]
        began = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join(timeout=120)
        elapsed = time.monotonic() - began
        assert not errors, errors[:3]
        assert not missing, missing[:10]
        assert rounds[0] >= 2 and new_docs[0] > 0
        state = versions_by_document(store)
        base_state = {d: r for d, r in state.items() if d.startswith("r")}
        assert len(base_state) == 200
        assert all(set(rel) == {rounds[0]} for rel in base_state.values())
        assert store.count() == 200 * 2 + new_docs[0]
        print(f"\n[soak] {elapsed:.0f}s: {sum(queries)} queries ({sum(queries) / elapsed:.1f}/s, "
              f"8 threads), 0 errors, 0 missing; {rounds[0]} re-ingest rounds of 200 documents, "
              f"{new_docs[0]} new documents; final count {store.count()} exact")
        store.close()
    finally:
        server.stop()
