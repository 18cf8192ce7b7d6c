"""Contract tests: API embedding models against local servers speaking each provider's protocol.

The servers (``tests/api_servers.py``) implement the documented embeddings request and
answer of OpenAI (and OpenAI-compatible servers), Cohere ``/v2/embed`` and Voyage; the
requests go through the official clients. Nothing else is faked.
"""

from __future__ import annotations

import asyncio
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from api_servers import ContractServer, Scripted, Ticker

from embedweave.backends.api import RetryPolicy
from embedweave.backends.api_factory import MissingApiKeyError
from embedweave.backends.api_models import parse_api_model
from embedweave.cache import EmbeddingCache
from embedweave.embedding import Embedder
from embedweave.errors import (
    ApiEmbeddingError,
    ModelNotAvailableError,
    SpaceMismatchError,
)
from embedweave.matryoshka import MatryoshkaWarning
from embedweave.models import resolve_model

KEY = "sk-test-secret-4711"
MODELS = {
    "openai": "text-embedding-3-small",
    "cohere": "embed-english-v3.0",
    "voyage": "voyage-3.5",
}
NATIVE = {"openai": 1536, "cohere": 1024, "voyage": 1024}


@pytest.fixture(params=["openai", "cohere", "voyage"])
def server(request: pytest.FixtureRequest) -> Iterator[ContractServer]:
    s = ContractServer(request.param, dims=NATIVE[request.param], key=KEY)
    yield s
    s.close()


def make(s: ContractServer, model: str | None = None, **kw: object) -> Embedder:
    return Embedder(f"{s.provider}:{model or MODELS[s.provider]}", api_key=KEY,
                    base_url=s.url, **kw)  # type: ignore[arg-type]


def fast_retries(e: Embedder, n: int) -> None:
    """Retry timing is not what these tests check: shrink the backoff."""
    assert e._api is not None
    e._api.retry = RetryPolicy(max_retries=n, base_delay=0.01, max_delay=5.0)


TEXTS = ["red apples grow on trees", "the sea is blue", "graphs of vectors", "hello world"]


# ---- spelling -------------------------------------------------------------------------


def test_spelling_is_parsed_before_any_hub_or_path_lookup() -> None:
    assert str(parse_api_model("openai:text-embedding-3-small")) == "openai:text-embedding-3-small"
    assert parse_api_model("cohere:embed-v4.0").provider == "cohere"  # type: ignore[union-attr]
    assert parse_api_model("voyage:voyage-3.5").model == "voyage-3.5"  # type: ignore[union-attr]
    for hub_or_path in ("openai/clip-vit-base-patch32", "Cohere/Cohere-embed-multilingual-v3.0",
                        "voyageai/voyage-3.5", "./openai:x", "C:\\models\\x", "minilm",
                        "OpenAI:text-embedding-3-small"):
        assert parse_api_model(hub_or_path) is None, hub_or_path
    spec = resolve_model("cohere:embed-v4.0")  # catalogued: no key, no request
    assert (spec.backend, spec.dims, spec.source) == ("api", 1536, "api")
    with pytest.raises(ModelNotAvailableError, match="Hugging Face") as err:
        resolve_model("openai/clip-vit-base-patch32")  # the hub id, offline here
    assert "api key" not in str(err.value).lower()
    with pytest.raises(ModelNotAvailableError, match="empty"):
        parse_api_model("openai:")


# ---- request shape, order, tokens -----------------------------------------------------


def test_request_shape_and_input_order(server: ContractServer) -> None:
    server.shuffle = True  # OpenAI/Voyage answer last-first; `index` says which is which
    e = make(server)
    got = e.embed_documents(TEXTS)
    req = server.requests[-1]
    assert req["path"] == {"openai": "/v1/embeddings", "cohere": "/v2/embed",
                           "voyage": "/v1/embeddings"}[server.provider]
    assert req["auth"] == f"Bearer {KEY}"
    body = req["body"]
    assert body["model"] == MODELS[server.provider]
    assert server.inputs(body) == TEXTS
    if server.provider == "openai":
        assert body["encoding_format"] == "base64" and "dimensions" not in body
    elif server.provider == "cohere":
        assert body["input_type"] == "search_document"
        assert body["embedding_types"] == ["float"] and "output_dimension" not in body
    else:
        assert body["input_type"] == "document" and body["encoding_format"] == "base64"
        assert body["output_dtype"] == "float" and "output_dimension" not in body
    want = server.expected(TEXTS, **{k: v for k, v in body.items() if k == "input_type"})
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert got.shape == (4, NATIVE[server.provider]) and got.dtype == np.float32
    assert e.stats.api_tokens == sum(len(t.split()) for t in TEXTS)
    assert e.stats.api_requests == 1


def test_query_vs_document_input_types(server: ContractServer, tmp_path: Path) -> None:
    e = make(server, cache=tmp_path / "c.sqlite")
    doc = e.embed_documents(["same text"])[0]
    query = e.embed_query("same text")
    types = [r["body"].get("input_type") for r in server.requests]
    if server.provider == "openai":
        assert types == [None]  # no input type: the query was the cached document vector
        np.testing.assert_allclose(doc, query, atol=1e-6)
    else:
        assert types == {"cohere": ["search_document", "search_query"],
                         "voyage": ["document", "query"]}[server.provider]
        assert float(doc @ query) < 0.9  # embedded differently, and cached apart


def test_prompts_for_openai_compatible_servers_and_probe() -> None:
    s = ContractServer("openai", dims=16, key=KEY)
    try:
        e = Embedder("openai:intfloat/e5-small-v2", api_key=KEY, base_url=s.url,
                     query_prompt="query: ", document_prompt="passage: ")
        assert len(s.requests) == 1 and e.dims == 16  # one probe learnt the width
        e.embed_documents(["a doc"])
        e.embed_query("a question")
        assert [r["body"]["input"] for r in s.requests[1:]] == [["passage: a doc"],
                                                                 ["query: a question"]]
        again = Embedder("openai:intfloat/e5-small-v2", api_key=KEY, base_url=s.url)
        assert again.dims == 16 and len(s.requests) == 3  # no second probe in-process
    finally:
        s.close()


# ---- splitting at the limits ----------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "count", "size", "want"),
    [
        ("openai", "text-embedding-3-small", 2049, 5, [2048, 1]),
        ("openai", "text-embedding-3-small", 400, 1000, [300, 100]),  # 300k tokens
        ("cohere", "embed-v4.0", 97, 5, [96, 1]),
        ("voyage", "voyage-3.5", 1001, 5, [1000, 1]),
        ("voyage", "voyage-3.5", 400, 1000, [320, 80]),  # 320k tokens for voyage-3.5
        ("voyage", "voyage-3-large", 200, 1000, [120, 80]),  # 120k for voyage-3-large
    ],
)
def test_requests_split_at_provider_limits(
    provider: str, model: str, count: int, size: int, want: list[int]
) -> None:
    s = ContractServer(provider, dims=4, key=KEY)
    try:
        e = Embedder(f"{provider}:{model}", api_key=KEY, base_url=s.url, max_concurrency=1)
        e._api.expect_dims = 4  # type: ignore[union-attr]  # the server answers 4 dims here
        texts = [f"{i:05d}" + "x" * (size - 5) for i in range(count)]
        got = e.embed_documents(texts)
        sizes = sorted((len(s.inputs(r["body"])) for r in s.requests), reverse=True)
        assert sizes == want
        seen = [t for r in sorted(s.requests, key=lambda r: s.inputs(r["body"])[0])
                for t in s.inputs(r["body"])]
        assert seen == texts  # consecutive slices, each text once
        kind = {"openai": {}, "cohere": {"input_type": "search_document"},
                "voyage": {"input_type": "document"}}[provider]
        np.testing.assert_allclose(got, s.expected(texts, **kind), atol=1e-6)
    finally:
        s.close()


def test_a_call_is_spread_over_the_requests_in_flight() -> None:
    s = ContractServer("openai", dims=1536, key=KEY)
    try:
        e = Embedder("openai:text-embedding-3-small", api_key=KEY, base_url=s.url,
                     max_concurrency=8)
        e.embed_documents([f"t{i}" for i in range(2000)])  # fits one request of 2048
        assert sorted(len(r["body"]["input"]) for r in s.requests) == [208] + [256] * 7
        e.embed_documents([f"u{i}" for i in range(300)])  # small calls are not split thin
        assert len(s.requests[-1]["body"]["input"]) in (44, 256) and len(s.requests) == 10
    finally:
        s.close()


def test_request_size_caps_texts_per_request() -> None:
    s = ContractServer("openai", dims=8, key=KEY)
    try:
        e = Embedder("openai:tei-model", api_key=KEY, base_url=s.url, request_size=3)
        e.embed_documents([f"t{i}" for i in range(7)])
        assert sorted(len(r["body"]["input"]) for r in s.requests[1:]) == [1, 3, 3]
    finally:
        s.close()


# ---- retries, errors, timeouts --------------------------------------------------------


def _err(s: ContractServer, status: int, message: str, headers: dict[str, str] | None = None
         ) -> Scripted:
    e = s._error(status, message)
    e.headers = headers or {}
    return e


def test_429_with_retry_after_then_success(server: ContractServer) -> None:
    server.script.append(_err(server, 429, "rate limited", {"Retry-After": "1"}))
    e = make(server)
    got = e.embed_documents(TEXTS[:2])
    assert len(server.requests) == 2
    waited = server.requests[1]["t"] - server.requests[0]["t"]
    assert 0.95 <= waited < 3.0  # Retry-After honoured (not the 0.5 s first backoff)
    assert e.stats.api_retries == 1 and got.shape[0] == 2


def test_500_until_retries_run_out(server: ContractServer) -> None:
    server.script.extend(_err(server, 500, "upstream exploded") for _ in range(5))
    e = make(server, max_retries=2)
    fast_retries(e, 2)
    with pytest.raises(ApiEmbeddingError) as err:
        e.embed_documents(TEXTS)
    msg = str(err.value)
    assert len(server.requests) == 3
    assert err.value.status == 500 and err.value.provider == server.provider
    assert (err.value.start, err.value.end) == (0, 4)
    assert "inputs 0..3 of 4" in msg and "3 attempt(s)" in msg
    assert "upstream exploded" in msg  # the provider's own message


def test_connection_errors_are_retried_then_raised() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    e = Embedder("openai:text-embedding-3-small", api_key=KEY,
                 base_url=f"http://127.0.0.1:{port}/v1")
    fast_retries(e, 2)
    with pytest.raises(ApiEmbeddingError, match=r"3 attempt\(s\): APIConnectionError") as err:
        e.embed_documents(["x"])
    assert err.value.status is None and e.stats.api_retries == 2


def test_backoff_grows_with_jitter_and_retry_after_wins() -> None:
    policy = RetryPolicy(max_retries=6, base_delay=0.5, max_delay=30.0)
    for attempt in range(6):
        ceiling = min(30.0, 0.5 * 2**attempt)
        delays = {policy.delay(attempt, None) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1
    assert policy.delay(0, 7.0) == 7.0 and policy.delay(3, 120.0) == 30.0


def test_401_names_the_provider_message_and_never_the_key(server: ContractServer) -> None:
    e = Embedder(f"{server.provider}:{MODELS[server.provider]}", api_key="sk-wrong-0815",
                 base_url=server.url)
    with pytest.raises(ApiEmbeddingError, match="HTTP 401") as err:
        e.embed_documents(TEXTS)
    assert len(server.requests) == 1  # 401 is not retried
    assert "invalid api key provided" in str(err.value)
    assert server.requests[0]["auth"] == "Bearer sk-wrong-0815"  # sent, never shown:
    shown = [str(err.value), repr(err.value), repr(e), str(e.space().to_dict()), str(e.stats),
             repr(e._api), e.fingerprint, str(e.spec)]
    assert not any("sk-wrong-0815" in x for x in shown)


def test_a_key_echoed_by_the_server_is_redacted() -> None:
    s = ContractServer("openai", dims=8, key=KEY)
    try:
        s.script.append(_err(s, 400, f"bad key {KEY}"))
        e = Embedder("openai:text-embedding-3-small", api_key=KEY, base_url=s.url)
        with pytest.raises(ApiEmbeddingError) as err:
            e.embed_documents(["x"])
        assert KEY not in str(err.value) and "bad key ***" in str(err.value)
    finally:
        s.close()


def _drop_last(p: dict) -> dict:
    if "data" in p:
        p["data"] = p["data"][:-1]
    else:
        p["embeddings"]["float"] = p["embeddings"]["float"][:-1]
    return p


def _repeat_index(p: dict) -> dict:
    if "data" in p:
        p["data"][1]["index"] = 0
    else:
        p["embeddings"]["float"][1] = p["embeddings"]["float"][1][:3]
    return p


@pytest.mark.parametrize(("mangle", "match"), [
    (_drop_last, r"unusable answer: 3 embeddings for 4 inputs"),
    (_repeat_index, r"unusable answer: (index 0 answered twice|vectors of different lengths)"),
])
def test_short_or_misindexed_answer_is_an_error(server: ContractServer, mangle: object,
                                                 match: str) -> None:
    server.mangle = mangle  # type: ignore[assignment]
    e = make(server)
    with pytest.raises(ApiEmbeddingError, match=match):
        e.embed_documents(TEXTS)
    assert len(server.requests) == 1  # a bad answer is not retried


def test_wrong_width_and_non_json_are_errors() -> None:
    s = ContractServer("openai", dims=7, key=KEY)  # model says 1536
    try:
        e = Embedder("openai:text-embedding-3-small", api_key=KEY, base_url=s.url)
        with pytest.raises(ApiEmbeddingError, match="7 dims, expected 1536"):
            e.embed_documents(["x"])
        s.script.append(Scripted(200, b"<html>proxy error</html>"))
        with pytest.raises(ApiEmbeddingError, match="unusable answer"):
            e.embed_documents(["y"])
    finally:
        s.close()


def test_per_request_timeout_is_retried_then_raised() -> None:
    s = ContractServer("openai", dims=8, key=KEY, latency=1.0)
    try:
        e = Embedder("openai:slow", api_key=KEY, base_url=s.url, timeout=5.0)  # probe ok
        e._api.timeout = 0.2  # type: ignore[union-attr]
        fast_retries(e, 1)
        start = time.monotonic()
        with pytest.raises(ApiEmbeddingError, match=r"no answer within 0.2 s"):
            e.embed_documents(["x"])
        assert time.monotonic() - start < 1.5 and len(s.requests) == 3  # probe + 2 attempts
    finally:
        s.close()


def test_all_or_error_when_one_batch_of_many_fails() -> None:
    s = ContractServer("cohere", dims=1024, key=KEY)
    try:
        e = Embedder("cohere:embed-english-v3.0", api_key=KEY, base_url=s.url, max_retries=0)
        s.script.append(_err(s, 400, "text 3 is too long"))
        with pytest.raises(ApiEmbeddingError, match=r"inputs \d+\.\.\d+ of 200.*too long"):
            e.embed_documents([f"text {i}" for i in range(200)])
    finally:
        s.close()


# ---- concurrency and async ------------------------------------------------------------


def test_requests_in_flight_are_bounded() -> None:
    s = ContractServer("openai", dims=8, key=KEY, latency=0.15)
    try:
        e = Embedder("openai:tei", api_key=KEY, base_url=s.url, request_size=1,
                     max_concurrency=3)
        start = time.monotonic()
        e.embed_documents([f"t{i}" for i in range(9)])
        took = time.monotonic() - start
        assert s.max_in_flight == 3
        assert 0.4 <= took < 1.2  # 3 waves of 0.15 s, not 9
    finally:
        s.close()


@pytest.mark.asyncio
async def test_async_never_blocks_the_running_loop(server: ContractServer) -> None:
    server.latency = 0.6
    e = make(server, request_size=1, max_concurrency=4)
    async with Ticker() as ticker:
        start = time.monotonic()
        docs, query = await asyncio.gather(e.aembed_documents(TEXTS),
                                           e.aembed_query("hello world"))
        took = time.monotonic() - start
    assert docs.shape == (4, NATIVE[server.provider]) and query.shape == (NATIVE[server.provider],)
    assert ticker.max_gap < 0.3  # never blocked for a request (0.6 s each)
    assert server.max_in_flight == 4 and took < 5 * 0.6  # concurrent, not one after another
    np.testing.assert_allclose(docs, e.embed_documents(TEXTS), atol=1e-6)


@pytest.mark.asyncio
async def test_sync_call_inside_a_running_loop_works() -> None:
    s = ContractServer("openai", dims=1536, key=KEY)
    try:
        e = Embedder("openai:text-embedding-3-small", api_key=KEY, base_url=s.url)
        assert e.embed_documents(["x"]).shape == (1, 1536)  # e.g. a sync API in a notebook
    finally:
        s.close()


# ---- Matryoshka per provider ----------------------------------------------------------


@pytest.mark.parametrize(("provider", "model", "native", "dims", "field", "source"), [
    ("openai", "text-embedding-3-small", 1536, 256, "dimensions", "server"),
    ("openai", "text-embedding-3-large", 3072, 1000, "dimensions", "server"),
    ("openai", "text-embedding-ada-002", 1536, 256, None, "local"),
    ("cohere", "embed-v4.0", 1536, 512, "output_dimension", "server"),
    ("cohere", "embed-multilingual-v3.0", 1024, 256, None, "local"),
    ("voyage", "voyage-3.5", 1024, 2048, "output_dimension", "server"),
    ("voyage", "voyage-3-large", 1024, 256, "output_dimension", "server"),
    ("voyage", "voyage-3", 1024, 256, None, "local"),
])
def test_dimensions_server_side_or_local(provider: str, model: str, native: int, dims: int,
                                         field: str | None, source: str) -> None:
    s = ContractServer(provider, dims=native, key=KEY)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            e = Embedder(f"{provider}:{model}", api_key=KEY, base_url=s.url, dimensions=dims)
        got = e.embed_documents(TEXTS[:2])
        body = s.requests[-1]["body"]
        assert e.dims == dims and got.shape == (2, dims) and e.dims_source == source
        assert e.space().dims_source == source and e.space().to_dict()["dims_source"] == source
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        kind = {"input_type": body["input_type"]} if "input_type" in body else {}
        if field is not None:
            assert body[field] == dims
        else:
            assert "dimensions" not in body and "output_dimension" not in body
            full = s.expected(TEXTS[:2], **kind)[:, :dims]
            np.testing.assert_allclose(got, full / np.linalg.norm(full, axis=1, keepdims=True),
                                       atol=1e-5)  # truncated + renormalised here
            assert any(issubclass(w.category, MatryoshkaWarning) for w in caught)
    finally:
        s.close()


def test_sizes_the_model_cannot_give_are_refused() -> None:
    with pytest.raises(ValueError, match="exceeds the 1536 dims"):
        Embedder("openai:text-embedding-3-small", api_key=KEY, dimensions=4000)
    with pytest.raises(ValueError, match=r"exceeds the 1024 dims.*256, 512, 1024, 2048"):
        Embedder("voyage:voyage-3.5", api_key=KEY, dimensions=4096)
    with pytest.raises(ValueError, match="positive integer"):
        Embedder("cohere:embed-v4.0", api_key=KEY, dimensions=0)


# ---- keys, extras, fingerprints, cache ------------------------------------------------


@pytest.mark.parametrize(("provider", "var"), [("openai", "OPENAI_API_KEY"),
                                               ("cohere", "CO_API_KEY"),
                                               ("voyage", "VOYAGE_API_KEY")])
def test_keys_from_the_providers_variable(provider: str, var: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for v in ("OPENAI_API_KEY", "CO_API_KEY", "COHERE_API_KEY", "VOYAGE_API_KEY"):
        monkeypatch.delenv(v, raising=False)
    with pytest.raises(MissingApiKeyError, match=var):
        Embedder(f"{provider}:{MODELS[provider]}")
    s = ContractServer(provider, dims=NATIVE[provider], key="from-env-1")
    try:
        monkeypatch.setenv(var, "from-env-1")
        e = Embedder(f"{provider}:{MODELS[provider]}", base_url=s.url)
        e.embed_query("q")
        assert s.requests[0]["auth"] == "Bearer from-env-1"
        assert "from-env-1" not in repr(e) and "from-env-1" not in str(e.space().to_dict())
    finally:
        s.close()


def test_missing_extra_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "voyageai", None)  # as if not installed
    with pytest.raises(ModelNotAvailableError, match=r"pip install 'embedweave\[voyage\]'"):
        Embedder("voyage:voyage-3.5", api_key=KEY)


def test_fingerprints_tell_providers_sizes_and_servers_apart() -> None:
    servers = [ContractServer("openai", dims=1536, key=KEY) for _ in range(2)]
    cohere = ContractServer("cohere", dims=1024, key=KEY)
    try:
        a = Embedder("openai:text-embedding-3-small", api_key=KEY, base_url=servers[0].url)
        a2 = Embedder("openai:text-embedding-3-small", api_key=KEY, base_url=servers[0].url)
        small = Embedder("openai:text-embedding-3-small", api_key=KEY,
                         base_url=servers[0].url, dimensions=512)
        other_server = Embedder("openai:text-embedding-3-small", api_key=KEY,
                                base_url=servers[1].url)
        hosted = Embedder("openai:text-embedding-3-small", api_key=KEY)
        co = Embedder("cohere:embed-english-v3.0", api_key=KEY, base_url=cohere.url)
        assert a.fingerprint == a2.fingerprint
        prints = {e.fingerprint for e in (a, small, other_server, hosted, co)}
        assert len(prints) == 5
        assert servers[0].url in a.spec.description and servers[0].url not in hosted.fingerprint
        with pytest.raises(SpaceMismatchError, match=r"cohere:embed-english-v3\.0"):
            co.space("s").check_compatible(a.space("s"), "Docs")
        with pytest.raises(SpaceMismatchError, match="512"):
            small.space("s").check_compatible(a.space("s"), "Docs")
    finally:
        for s in (*servers, cohere):
            s.close()


def test_cache_serves_api_models_a_reingest_makes_zero_calls(tmp_path: Path) -> None:
    s = ContractServer("voyage", dims=1024, key=KEY)
    try:
        corpus = [f"document number {i}" for i in range(50)]
        first = Embedder("voyage:voyage-3.5", api_key=KEY, base_url=s.url,
                         cache=tmp_path / "e.sqlite")
        v1 = first.embed_documents(corpus)
        assert len(s.requests) == 1
        again = Embedder("voyage:voyage-3.5", api_key=KEY, base_url=s.url,
                         cache=EmbeddingCache(tmp_path / "e.sqlite"))
        v2 = again.embed_documents(corpus)
        assert len(s.requests) == 1  # zero API calls
        st = again.stats
        assert (st.api_requests, st.api_tokens, st.cache_hits) == (0, 0, 50)
        np.testing.assert_array_equal(v1, v2)
    finally:
        s.close()


@pytest.mark.asyncio
async def test_async_path_uses_the_cache_too(tmp_path: Path) -> None:
    s = ContractServer("cohere", dims=1024, key=KEY)
    try:
        e = Embedder("cohere:embed-english-v3.0", api_key=KEY, base_url=s.url,
                     cache=tmp_path / "a.sqlite")
        one = await e.aembed_documents(["a", "b", "a"])
        two = await e.aembed_documents(["b", "a"])
        assert len(s.requests) == 1 and s.inputs(s.requests[0]["body"]) == ["a", "b"]
        np.testing.assert_array_equal(one[[1, 0]], two)
    finally:
        s.close()


@pytest.mark.parametrize("fast", [True, False], ids=["pybase64", "stdlib"])
def test_base64_rows_decode_alike_with_or_without_pybase64(
    fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pybase64 is an optional speed-up: without it the stdlib path gives the same rows
    and the same error on a broken answer."""
    import base64

    from embedweave.backends.api import ProviderFailure
    from embedweave.backends.openai import b64decode, parse_openai

    if not fast:
        monkeypatch.setitem(sys.modules, "pybase64", None)  # import now fails
    rows = np.arange(12, dtype="<f4").reshape(3, 4)
    data = [{"index": i, "embedding": base64.b64encode(rows[i].tobytes()).decode()}
            for i in (2, 0, 1)]
    reply = parse_openai({"data": data, "usage": {"prompt_tokens": 7}}, 3)
    np.testing.assert_array_equal(reply.vectors, rows)
    assert reply.tokens == 7
    with pytest.raises(ValueError):
        b64decode("abc")  # bad padding
    broken = [dict(data[0], embedding="abc"), *data[1:]]
    with pytest.raises(ProviderFailure, match="not base64"):
        parse_openai({"data": broken}, 3)

