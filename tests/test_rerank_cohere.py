"""Cohere backend against a local HTTP server that speaks Cohere's ``/v2/rerank`` contract."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from embedweave.rerank import CohereRerankError, Reranker
from embedweave.types import Chunk, Hit


class FakeCohere:
    """Records requests; answers scores = number of query words in each document."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.drop_last = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                )
                if fake.status != 200:
                    self._send(fake.status, {"message": "invalid api token"})
                    return
                words = set(body["query"].lower().split())
                scored = [
                    {"index": i, "relevance_score": len(words & set(d.lower().split())) / 10}
                    for i, d in enumerate(body["documents"])
                ]
                scored.sort(key=lambda r: -r["relevance_score"])  # Cohere answers best first
                if fake.drop_last:
                    scored = scored[:-1]
                self._send(200, {"id": "x", "results": scored[: body["top_n"]], "meta": {}})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture()
def fake() -> Iterator[FakeCohere]:
    f = FakeCohere()
    yield f
    f.server.shutdown()


def _hits(texts: list[str]) -> list[Hit]:
    return [Hit(Chunk("doc", i, t), score=1.0 - i / 10) for i, t in enumerate(texts)]


TEXTS = ["nothing here", "red apples grow", "red apples and green apples grow on trees"]


def test_request_shape_and_order(fake: FakeCohere) -> None:
    rr = Reranker("rerank-v3.5", backend="cohere", api_key="k123", base_url=fake.url + "/")
    out = rr.rerank("red apples grow trees", _hits(TEXTS), top_n=2)
    req = fake.requests[0]
    assert req["path"] == "/v2/rerank"
    assert req["auth"] == "Bearer k123"
    assert req["body"] == {"model": "rerank-v3.5", "query": "red apples grow trees",
                           "documents": TEXTS, "top_n": 3}
    assert [h.chunk.index for h in out] == [2, 1]
    assert [h.score for h in out] == pytest.approx([0.4, 0.3])
    assert [(h.first_stage_rank, h.first_stage_score) for h in out] == [(2, 0.8), (1, 0.9)]


def test_threshold_and_env_key(fake: FakeCohere, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_API_KEY", "from-env")
    rr = Reranker(backend="cohere", base_url=fake.url, score_threshold=0.35)
    out = rr.rerank("red apples grow trees", _hits(TEXTS))
    assert [h.chunk.index for h in out] == [2]
    assert fake.requests[0]["auth"] == "Bearer from-env"
    assert fake.requests[0]["body"]["model"] == "rerank-v3.5"


def test_large_lists_are_split_per_1000(fake: FakeCohere) -> None:
    texts = [f"doc {i}" for i in range(1001)] + ["red apples"]
    rr = Reranker(backend="cohere", api_key="k", base_url=fake.url)
    out = rr.rerank("red apples", _hits(texts), top_n=1)
    assert [len(r["body"]["documents"]) for r in fake.requests] == [1000, 2]
    assert out[0].chunk.index == 1001  # index mapped back across the split


@pytest.mark.asyncio
async def test_async_matches_sync(fake: FakeCohere) -> None:
    rr = Reranker(backend="cohere", api_key="k", base_url=fake.url)
    sync = rr.rerank("red apples grow trees", _hits(TEXTS))
    asyn = await rr.arerank("red apples grow trees", _hits(TEXTS))
    assert [(h.id, h.score) for h in asyn] == [(h.id, h.score) for h in sync]


def test_http_error_is_raised_with_body_and_never_the_key(fake: FakeCohere) -> None:
    fake.status = 401
    rr = Reranker(backend="cohere", api_key="sk-secret-4711", base_url=fake.url)
    with pytest.raises(CohereRerankError, match=r"HTTP 401.*invalid api token") as err:
        rr.rerank("q", _hits(TEXTS))
    assert "sk-secret-4711" not in str(err.value) and "sk-secret-4711" not in repr(rr)
    assert fake.requests[0]["auth"] == "Bearer sk-secret-4711"  # sent, not shown


@pytest.mark.asyncio
async def test_async_http_error_is_raised(fake: FakeCohere) -> None:
    fake.status = 400
    rr = Reranker(backend="cohere", api_key="k", base_url=fake.url)
    with pytest.raises(CohereRerankError, match=r"HTTP 400"):
        await rr.arerank("q", _hits(TEXTS))


def test_missing_result_is_an_error(fake: FakeCohere) -> None:
    fake.drop_last = True
    rr = Reranker(backend="cohere", api_key="k", base_url=fake.url)
    with pytest.raises(CohereRerankError, match="scored 2 of 3"):
        rr.rerank("red apples", _hits(TEXTS))


def test_needs_a_key_and_refuses_local_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.delenv("COHERE_API_KEY", raising=False)
    with pytest.raises(ValueError, match="CO_API_KEY"):
        Reranker(backend="cohere")
    with pytest.raises(ValueError, match="device"):
        Reranker(backend="cohere", api_key="k", device="cpu")
    with pytest.raises(ValueError, match="unknown reranker backend"):
        Reranker(backend="voyage")  # type: ignore[arg-type]
