"""The concurrent batch writer on a real Weaviate: every failed object named, none dropped."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

from embedweave.store import VectorSpace
from embedweave.store.weaviate import WeaviateStore
from embedweave.store.weaviate.writes import NOT_SENT, insert_sender, write_concurrently
from embedweave.types import Chunk


def _client(server: Any) -> Any:
    import weaviate

    return weaviate.connect_to_local(host="127.0.0.1", port=server.http_port,
                                     grpc_port=server.grpc_port)


def _collection(client: Any, name: str) -> Any:
    from weaviate.classes.config import Configure

    client.collections.create(name, vector_config=[Configure.Vectors.self_provided(name="v")])
    return client.collections.get(name)


def _objects(n: int, bad: set[int], dims: int = 8) -> list[Any]:
    from weaviate.classes.data import DataObject

    rng = np.random.default_rng(0)
    return [
        DataObject(properties={"text": f"object {i}"}, uuid=uuid.UUID(int=i + 1),
                   vector={"v": rng.normal(size=dims + (i in bad)).tolist()})
        for i in range(n)
    ]


def test_every_rejected_object_is_named_and_the_rest_written(
    weaviate_server: Any, collection_name: str
) -> None:
    client = _client(weaviate_server)
    try:
        coll = _collection(client, collection_name)
        seed = _objects(1, set())[0]
        coll.data.insert_many([seed])  # fixes the index at 8 dims
        # wrong-dims vectors scattered mid-request, plus one request (300..399) where
        # every object is wrong, which the client raises instead of returning
        bad = {5, 250, 511} | set(range(300, 400))
        objs = _objects(600, bad)[1:]  # positions 1..599 (0 is the seed)
        out = write_concurrently(
            len(objs), lambda s, e: objs[s:e], insert_sender(coll),
            lambda i: str(objs[i].uuid), request_size=100, concurrency=3,
        )  # fmt: skip
        want = [str(uuid.UUID(int=i + 1)) for i in sorted(bad)]
        assert [f.id for f in out.failures] == want
        assert all("length" in f.message or "dimension" in f.message for f in out.failures), (
            out.failures[:3]
        )
        assert out.cause is None and out.requests == 6
        stored = {str(o.uuid) for o in coll.iterator()}
        assert len(stored) == 600 - len(bad)
        assert stored == {str(o.uuid) for o in [seed, *objs]} - set(want)
    finally:
        client.close()


@pytest.mark.slow
def test_a_failed_request_names_its_objects_and_stops_the_rest(tmp_path: Any) -> None:
    """A server that goes away mid-write: the failed request's objects and every later
    one are reported (failed / not sent); the earlier ones are stored."""
    from embedweave.errors import ServerError
    from embedweave.server import ManagedWeaviate

    server = ManagedWeaviate(tmp_path / "data")
    try:
        server.start()
    except ServerError as exc:
        from conftest import unavailable

        unavailable(f"could not start Weaviate: {exc}")
    client = _client(server)
    try:
        coll = _collection(client, "Gone")
        objs = _objects(500, set())

        def build(start: int, end: int) -> list[Any]:
            if start == 200:
                server.stop()  # the third request finds no server
            return objs[start:end]

        out = write_concurrently(len(objs), build, insert_sender(coll),
                                 lambda i: str(objs[i].uuid), request_size=100, concurrency=1)
        assert out.cause is not None and out.requests == 3
        assert [f.id for f in out.failures] == [str(o.uuid) for o in objs[200:]]
        assert all(f.message != NOT_SENT for f in out.failures[:100])
        assert all(f.message == NOT_SENT for f in out.failures[100:])
    finally:
        client.close()
        server.stop()


def test_store_upsert_writes_every_chunk_concurrently(
    weaviate_server: Any, collection_name: str
) -> None:
    space = VectorSpace("v", "test", "fp-test", 16, "cosine")
    store = WeaviateStore(collection_name, [space], server=weaviate_server, batch_size=50,
                          write_concurrency=4)
    try:
        rng = np.random.default_rng(1)
        vecs = rng.normal(size=(1000, 16)).astype(np.float32)
        chunks = [Chunk(document_id=f"d{i // 10}", index=i % 10, text=f"text {i}",
                        metadata={"n": i}) for i in range(1000)]
        assert store.upsert(chunks, {"v": vecs}) == [c.id for c in chunks]
        assert store.count() == 1000
        got = store.get_vectors([c.id for c in chunks[::97]], space="v")
        for i in range(0, 1000, 97):
            assert np.allclose(got[chunks[i].id], vecs[i], atol=1e-6)
        assert [c.text for c in store.get([chunks[999].id, chunks[0].id])] == [
            "text 999", "text 0"]
        store.upsert(chunks[:120], {"v": vecs[:120]})  # overwrite: no duplicates
        assert store.count() == 1000
        with pytest.raises(ValueError, match="write_concurrency"):
            WeaviateStore(collection_name, [space], server=weaviate_server, write_concurrency=0)
    finally:
        store.drop()
        store.close()
