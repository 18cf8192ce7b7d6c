"""Ingest you can trust, on the real server: incremental re-ingest, no loss window when a
write fails, errors that name what failed, bad input refused before anything is written.

The heavy fault tests (SIGKILL mid-ingest of 20,000 chunks, soak) are in
``test_reliability_faults.py``; the 3-node cluster in ``test_cluster.py``.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedweave.chunking import Chunker
from embedweave.embedding import Embedder
from embedweave.errors import BatchWriteError, StoreError
from embedweave.pipeline import Index, Retriever
from embedweave.store.base import VectorSpace
from embedweave.store.weaviate import WeaviateStore
from embedweave.store.weaviate.errors import RetryPolicy
from embedweave.types import Chunk, Document

pytestmark = pytest.mark.weaviate

CHUNKER = Chunker(max_tokens=24, min_tokens=12, overlap=0)
TOPICS = ["bread baking with yeast", "volcanoes and lava", "chess openings", "river otters",
          "solar panels on roofs", "medieval castles", "jazz saxophone", "glacier melting"]


def corpus(n: int, version: int = 0) -> list[Document]:
    """``n`` documents of three or more chunks each, about distinct topics."""
    docs = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        text = " ".join(
            f"Document {i} sentence {j} talks about {topic} in edition {version}."
            for j in range(6)
        )
        docs.append(Document(f"doc-{i}", text, {"topic": topic, "n": i, "edition": version}))
    return docs


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder("wordllama-256", dimensions=64)


class CountingStore(WeaviateStore):
    """The real store, counting the writes and deletes it is asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.upserts = self.deletes = 0
        self.fail_after: int | None = None
        super().__init__(*args, **kwargs)

    def upsert(self, chunks: Sequence[Chunk], vectors: Any, *, tenant: str | None = None
               ) -> list[str]:
        if self.fail_after is not None and self.upserts >= self.fail_after:
            # a failure injected at the store boundary, after some windows were written
            raise BatchWriteError([], len(chunks), "injected failure")
        self.upserts += 1
        return super().upsert(chunks, vectors, tenant=tenant)

    def delete(self, ids: Sequence[str], *, tenant: str | None = None) -> int:
        self.deletes += 1
        return super().delete(ids, tenant=tenant)

    def delete_documents(self, ids: Sequence[str], *, tenant: str | None = None) -> int:
        self.deletes += 1
        return super().delete_documents(ids, tenant=tenant)


@pytest.fixture
def store(weaviate_server: Any, collection_name: str, embedder: Embedder
          ) -> Iterator[CountingStore]:
    s = CountingStore(collection_name, [embedder.space()], server=weaviate_server)
    yield s
    s.drop()
    s.close()


def by_document(store: WeaviateStore) -> dict[str, list[Chunk]]:
    out: dict[str, list[Chunk]] = {}
    for c in store.iter_chunks():
        out.setdefault(c.document_id, []).append(c)
    return out


def test_reingest_is_incremental_and_sync_removes_missing(store: CountingStore,
                                                          embedder: Embedder) -> None:
    index = Index(store, embedder, CHUNKER, window=16)
    docs = corpus(12)
    first = index.add_documents(docs)
    assert (first.added, first.updated, first.unchanged, first.deleted) == (12, 0, 0, 0)
    assert store.count() == len(first) == first.chunks_written > 24
    stored = by_document(store)
    assert {c.content_hash for c in stored["doc-0"]} == {store.get([first[0]])[0].content_hash}

    calls, upserts, deletes = embedder.calls, store.upserts, store.deletes
    again = index.add_documents(docs)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 12)
    assert list(again) == list(first)
    assert embedder.calls == calls and store.upserts == upserts and store.deletes == deletes
    assert again.chunks_written == again.chunks_deleted == 0

    # one text edited, one metadata value changed: only those two are rewritten
    changed = corpus(12)
    changed[3] = Document("doc-3", "A short new text about harbour cranes.", changed[3].metadata)
    changed[5].metadata["topic"] = "renamed"
    old3 = {c.id for c in stored["doc-3"]}
    old5 = {c.id for c in stored["doc-5"]}
    res = index.add_documents(changed)
    assert (res.added, res.updated, res.unchanged) == (0, 2, 10)
    now = by_document(store)
    assert [c.text for c in now["doc-3"]] == ["A short new text about harbour cranes."]
    assert not old3 & {c.id for c in now["doc-3"]}  # the new version has new ids
    assert not old5 & {c.id for c in now["doc-5"]}
    assert {c.metadata["topic"] for c in now["doc-5"]} == {"renamed"}
    assert res.chunks_deleted == len(old3) + len(old5)
    assert store.count() == sum(len(v) for v in now.values())

    # a chunker with other settings is another version of every document
    other = Index(store, embedder, Chunker(max_tokens=30, min_tokens=15, overlap=0))
    assert other.add_documents(changed[:2]).updated == 2

    sync = index.add_documents(changed[:4], sync=True)
    assert sync.deleted == 8 and store.document_ids() == {f"doc-{i}" for i in range(4)}
    assert sync.updated == 2  # the two re-chunked by the other index come back


def test_repair_leaves_a_healthy_collection_whole(store: CountingStore, embedder: Embedder,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from embedweave.store.weaviate import repair

    Index(store, embedder, CHUNKER, window=16).add_documents(corpus(30))
    # a chunk without a document id (written by hand) is never taken for a torn one
    store.upsert([Chunk("", 0, "no document")], {embedder.space().name: embedder.embed_documents(
        ["no document"])})
    total = store.count()
    assert repair.indexed_count(store._target(None), store._call) == total  # nothing torn
    # make the counts differ, so repair scans: it must find nothing torn, delete nothing
    monkeypatch.setattr(repair, "indexed_count", lambda *a: total - 1)
    scans: list[int] = []
    real = repair.find_unindexed

    def spy(*args: Any, **kw: Any) -> list[str]:
        found = real(*args, **{**kw, "page": 7})  # several pages, a short last one
        scans.append(len(found))
        return found

    monkeypatch.setattr(repair, "find_unindexed", spy)
    assert store.repair() == 0 and scans == [0]
    assert store.count() == total
    res = Index(store, embedder, CHUNKER, window=16).add_documents(corpus(30))
    assert res.chunks_repaired == 0 and res.unchanged == 30 and res.chunks_written == 0


def test_repair_rechecks_suspects_before_deleting(store: CountingStore, embedder: Embedder,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """An object another client is writing shows up in the scan a moment before its index
    entries; repair waits and looks again, so such an object is never deleted."""
    from embedweave.store.weaviate import repair

    Index(store, embedder, CHUNKER, window=16).add_documents(corpus(6))
    total = store.count()
    real = repair._unlisted
    calls: list[int] = []

    def in_flight_at_first(target: Any, call: Any, batch: list[tuple[str, str]]) -> list[str]:
        calls.append(len(batch))
        if len(calls) == 1:  # the scan's check: every object looks unindexed
            return [u for u, _ in batch]
        return real(target, call, batch)  # the recheck sees what the server has

    monkeypatch.setattr(repair, "_unlisted", in_flight_at_first)
    monkeypatch.setattr(repair, "indexed_count", lambda *a: total - 1)
    started = time.monotonic()
    assert store.repair() == 0
    assert calls == [total, total]  # one scan check, one recheck of all suspects
    assert time.monotonic() - started >= repair.SETTLE_SECONDS  # the recheck waited
    assert store.count() == total


def test_failed_reingest_keeps_old_version_and_rerun_converges(store: CountingStore,
                                                              embedder: Embedder) -> None:
    index = Index(store, embedder, CHUNKER, window=8)
    old = corpus(10)
    index.add_documents(old)
    before = by_document(store)
    new = corpus(10, version=1)
    store.fail_after = store.upserts + 2  # two windows land, the third fails
    with pytest.raises(BatchWriteError, match="injected failure"):
        index.add_documents(new)
    # every document is whole in its old or its new version, and searchable
    now = by_document(store)
    assert set(now) == set(before)
    retriever = Retriever(store, embedder, k=50)
    for doc_id, chunks in now.items():
        editions = {c.metadata["edition"] for c in chunks}
        version = max(editions)
        want = [c for c in chunks if c.metadata["edition"] == version]
        assert len(want) == len(before[doc_id])
        hits = retriever.retrieve(want[0].text, filters={"document_id": doc_id})
        assert hits and hits[0].chunk.document_id == doc_id
    assert any(c.metadata["edition"] == 0 for cs in now.values() for c in cs)

    store.fail_after = None
    res = index.add_documents(new)
    final = by_document(store)
    assert {c.metadata["edition"] for cs in final.values() for c in cs} == {1}
    ids = [c.id for cs in final.values() for c in cs]
    assert len(ids) == len(set(ids)) == store.count() == len(res)
    # the windows written before the failure are not written again
    assert res.unchanged > 0 and res.updated == 10 - res.unchanged


def test_bad_input_is_refused_before_anything_is_written(store: CountingStore,
                                                         embedder: Embedder) -> None:
    index = Index(store, embedder, CHUNKER)
    good = corpus(3)
    cases: list[tuple[Document, str]] = [
        (Document("nan", "fine text", {"score": math.nan}), "metadata 'score'"),
        (Document("inf", "fine text", {"xs": [1.0, math.inf]}), r"metadata 'xs'\[1\]"),
        (Document("nul", "text with \x00 inside"), "NUL"),
        (Document("sur", "lone \ud800 surrogate"), "surrogate"),
        (Document("key", "fine", {"": 1}), "empty key"),
        (Document("big", "fine", {"n": 2**70}), "64-bit"),
    ]
    for bad, match in cases:
        with pytest.raises(ValueError, match=match) as err:
            index.add_documents([*good, bad])
        assert f"document {bad.id!r}" in str(err.value)
        assert store.count() == 0 and store.upserts == 0
    with pytest.raises(TypeError, match="unsupported type set"):
        index.add_documents([Document("set", "fine", {"s": {1, 2}})])
    vec = np.zeros((1, 64), dtype=np.float32)
    with pytest.raises(ValueError, match=r"chunk 0 .* text holds a NUL"):
        store.upsert([Chunk("d", 0, "a\x00b")], {embedder.space().name: vec})
    assert store.count() == 0


def test_k_above_the_server_limit_is_refused_before_sending(weaviate_server: Any,
                                                            collection_name: str) -> None:
    space = VectorSpace("v", "m", "fp", 4)
    with WeaviateStore(collection_name, [space], url=weaviate_server.url,
                       grpc_port=weaviate_server.grpc_port) as s:
        assert s.max_results == 10_000  # Weaviate's default QUERY_MAXIMUM_RESULTS
        with pytest.raises(ValueError, match="k=10001 is above the server's result limit of "
                                             "10000"):
            s.search([0.1, 0.2, 0.3, 0.4], space="v", k=10_001)
        with pytest.raises(ValueError, match="QUERY_MAXIMUM_RESULTS"):
            s.keyword_search("x", k=20_000)
        assert s.search([0.1, 0.2, 0.3, 0.4], space="v", k=10_000) == []
        s.drop()
    with WeaviateStore(collection_name, [space], server=weaviate_server) as managed:
        assert managed.max_results == 100_000  # what the managed server is started with
        managed.drop()


def test_unreachable_server_is_a_store_error_naming_it() -> None:
    from embedweave.server.managed import allocate_ports

    port = allocate_ports().http  # nothing listens there
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(StoreError) as err:
        WeaviateStore("Nowhere", [VectorSpace("v", "m", "fp", 4)], url=url, grpc_port=port + 1)
    msg = str(err.value)
    assert "connect on collection 'Nowhere'" in msg and url in msg
    assert "is the server running and reachable?" in msg
    assert err.value.__cause__ is not None and err.value.url == url


def test_wrong_api_key_is_a_store_error_with_a_hint(tmp_path: Path) -> None:
    from embedweave.server import ManagedWeaviate

    with ManagedWeaviate(tmp_path / "auth", api_key="right-key") as server:
        with pytest.raises(StoreError) as err:
            WeaviateStore("Guarded", [VectorSpace("v", "m", "fp", 4)], url=server.url,
                          grpc_port=server.grpc_port, api_key="wrong-key")
        msg = str(err.value)
        assert "collection 'Guarded'" in msg and server.url in msg and "API key" in msg
        assert "wrong-key" not in msg


@pytest.mark.slow  # its own server, and weaviate-client's own gRPC backoff (~7 s)
def test_server_gone_mid_session_retries_then_names_the_failure(tmp_path: Path) -> None:
    from embedweave.server import ManagedWeaviate

    server = ManagedWeaviate(tmp_path / "gone").start()
    try:
        store = WeaviateStore("Gone", [VectorSpace("v", "m", "fp", 4)], server=server,
                              retry=RetryPolicy(attempts=3, backoff=0.05))
        store.upsert([Chunk("d", 0, "text")], {"v": np.ones((1, 4), dtype=np.float32)})
        server.stop()
        with pytest.raises(StoreError) as err:
            store.delete_documents(["d"])
        msg = str(err.value)
        assert "delete objects on collection 'Gone'" in msg and server.url in msg
        assert "gave up after 3 attempts" in msg and err.value.attempts == 3
        with pytest.raises(BatchWriteError) as werr:
            store.upsert([Chunk("e", i, f"t{i}") for i in range(3)],
                         {"v": np.ones((3, 4), dtype=np.float32)})
        assert len(werr.value.failures) == 3 and "upsert into 'Gone'" in str(werr.value)
        assert isinstance(werr.value.__cause__, StoreError)
        store.close()
    finally:
        server.stop()


def test_cli_ingest_rerun_writes_nothing_and_sync_removes_deleted_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, weaviate_server: Any
) -> None:
    from embedweave.cli import main

    folder = tmp_path / "notes"
    folder.mkdir()
    for i, topic in enumerate(TOPICS[:4]):
        (folder / f"n{i}.txt").write_text(f"Notes on {topic}. " * 5)
    args = ["-c", "Cli" + uuid.uuid4().hex[:10], "--url", weaviate_server.url, "--grpc-port",
            str(weaviate_server.grpc_port), "--model", "wordllama-256", "--dims", "64",
            "--json"]

    def ingest(*extra: str) -> dict[str, Any]:
        assert main(["ingest", str(folder), *args, *extra]) == 0
        return dict(json.loads(capsys.readouterr().out))

    first = ingest()
    assert first["added"] == 4 and first["chunks"] == first["collection_chunks"] > 0
    again = ingest()
    assert again["unchanged"] == 4 and again["chunks"] == 0 and again["chunks_deleted"] == 0
    assert again["collection_chunks"] == first["collection_chunks"]
    (folder / "n0.txt").unlink()
    (folder / "n1.txt").write_text("Completely new notes about harbour cranes.")
    synced = ingest("--sync")
    assert (synced["deleted"], synced["updated"], synced["unchanged"]) == (1, 1, 2)
    assert synced["chunks"] == 1 and synced["chunks_deleted"] == 1
    with WeaviateStore(args[1], url=weaviate_server.url,
                       grpc_port=weaviate_server.grpc_port, create=False) as s:
        assert s.document_ids() == {str((folder / f"n{i}.txt").resolve()) for i in (1, 2, 3)}
        s.drop()
