"""Contract servers: local HTTP servers speaking each provider's embeddings protocol.

The only fakes the API tests use. Each implements the documented request and answer of
``POST /v1/embeddings`` (OpenAI and OpenAI-compatible servers), ``POST /v2/embed``
(Cohere) and ``POST /v1/embeddings`` (Voyage): bearer auth, body fields, base64 or
float vectors, ``index``, usage/billed tokens, and each provider's error bodies. Tests
script failures (429 with ``Retry-After``, 500s, 401, short or misindexed answers) and
out-of-order answers, and read back every request they received.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

PATHS = {"openai": "/v1/embeddings", "cohere": "/v2/embed", "voyage": "/v1/embeddings"}
VectorFn = Callable[[list[str], dict[str, Any]], np.ndarray]


def hash_vectors(texts: Sequence[str], dims: int, salt: str = "") -> np.ndarray:
    """Deterministic unit vectors per (salt, text): what a server 'would return'."""
    out = np.empty((len(texts), dims), dtype=np.float32)
    for i, t in enumerate(texts):
        seed = int.from_bytes(hashlib.sha256((salt + "\x00" + t).encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
        out[i] = v / np.linalg.norm(v)
    return out


@dataclass
class Scripted:
    """One forced answer: HTTP status, JSON body, extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class ContractServer:
    """A provider's embeddings endpoint on 127.0.0.1 (threaded; one per test).

    Args:
        provider: ``openai``, ``cohere`` or ``voyage``.
        dims: Width of the default answer.
        key: The only accepted bearer key (others get the provider's 401).
        vectors: Texts -> vectors; default ``hash_vectors`` salted by input type.
        latency: Seconds to wait before answering each request.

    Attributes:
        url: What to pass as ``base_url`` (OpenAI/Voyage: ``.../v1``).
        requests: Every request: ``path``, ``auth``, ``body``, ``t`` (arrival time).
        script: Forced answers, consumed first-in first-out.
        shuffle: Answer OpenAI/Voyage items in reverse order (``index`` says which).
        mangle: Post-process a good JSON answer (short, bad index...).
    """

    def __init__(
        self,
        provider: str,
        *,
        dims: int = 8,
        key: str = "test-key",
        vectors: VectorFn | None = None,
        latency: float = 0.0,
    ) -> None:
        self.provider = provider
        self.dims = dims
        self.key = key
        self.vectors = vectors or self._hash
        self.latency = latency
        self.requests: list[dict[str, Any]] = []
        self.script: list[Scripted] = []
        self.shuffle = False
        self.mangle: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        port = self.server.server_address[1]
        root = f"http://127.0.0.1:{port}"
        self.url = root if provider == "cohere" else root + "/v1"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def _hash(self, texts: list[str], body: dict[str, Any]) -> np.ndarray:
        width = int(body.get("dimensions") or body.get("output_dimension") or self.dims)
        return hash_vectors(texts, width, str(body.get("input_type", "")))

    def expected(self, texts: Sequence[str], **body: Any) -> np.ndarray:
        """What this server answers for ``texts`` with these body fields."""
        return self.vectors(list(texts), body)

    def inputs(self, body: dict[str, Any]) -> list[str]:
        """The texts of a request body."""
        return list(body["texts"] if self.provider == "cohere" else body["input"])

    def _error(self, status: int, message: str) -> Scripted:
        if self.provider == "openai":
            return Scripted(status, {"error": {"message": message, "type": "invalid_request_error",
                                               "code": None}})
        if self.provider == "cohere":
            return Scripted(status, {"message": message})
        return Scripted(status, {"detail": message})

    def _answer(self, path: str, auth: str | None, body: dict[str, Any]) -> Scripted:
        with self._lock:
            scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return scripted
        if path != PATHS[self.provider]:
            return self._error(404, f"no route {path}")
        if auth != f"Bearer {self.key}":
            return self._error(401, "invalid api key provided")
        texts = self.inputs(body)
        vecs = np.asarray(self.vectors(texts, body), dtype=np.float32)
        tokens = sum(len(t.split()) for t in texts)
        if self.provider == "cohere":
            payload: dict[str, Any] = {
                "id": "emb-1", "texts": texts, "response_type": "embeddings_by_type",
                "embeddings": {"float": vecs.tolist()},
                "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}},
            }  # fmt: skip
        else:
            b64 = body.get("encoding_format") == "base64"
            items = [
                {"object": "embedding", "index": i,
                 "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode() if b64
                 else v.tolist()}
                for i, v in enumerate(vecs)
            ]  # fmt: skip
            if self.shuffle:
                items.reverse()
            usage = {"prompt_tokens": tokens, "total_tokens": tokens}
            if self.provider == "voyage":
                usage = {"total_tokens": tokens}
            payload = {"object": "list", "data": items, "model": body.get("model"), "usage": usage}
        if self.mangle is not None:
            payload = self.mangle(payload)
        return Scripted(200, payload)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                with srv._lock:
                    srv.requests.append({"path": self.path, "auth": self.headers.get(
                        "Authorization"), "body": body, "t": time.monotonic()})
                    srv.in_flight += 1
                    srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
                try:
                    if srv.latency:
                        time.sleep(srv.latency)
                    ans = srv._answer(self.path, self.headers.get("Authorization"), body)
                finally:
                    with srv._lock:
                        srv.in_flight -= 1
                data = ans.body if isinstance(ans.body, bytes) else json.dumps(ans.body).encode()
                self.send_response(ans.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in ans.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


class Ticker:
    """Ticks on the running loop every 5 ms; ``max_gap`` shows whether anything blocked it.

    Use around an awaited call to a server with latency L: a call that blocked the loop
    for a request leaves a gap >= L; one that awaits leaves gaps of a few ms.
    """

    def __init__(self) -> None:
        self.times: list[float] = []
        self._task: Any = None

    async def __aenter__(self) -> Ticker:
        import asyncio

        async def tick() -> None:
            while True:
                self.times.append(time.perf_counter())
                await asyncio.sleep(0.005)

        self._task = asyncio.create_task(tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.times.append(time.perf_counter())
        self._task.cancel()

    @property
    def max_gap(self) -> float:
        """Longest time between two ticks (seconds)."""
        return max(b - a for a, b in zip(self.times, self.times[1:], strict=False))
