"""What every embeddings API backend shares: splitting, concurrency, retries, order.

A call is split into requests by the provider's caps (texts and estimated tokens per
request), at most ``max_concurrency`` of them in flight per event loop, each retried
on 429/5xx/timeouts/connection errors with exponential backoff and jitter (a
``Retry-After`` header wins), each bounded by ``timeout``. Answers are put back in input
order (OpenAI and Voyage answers carry ``index``), their shape checked, and the call
returns every vector or raises ``ApiEmbeddingError`` naming the batch; the SDKs' own
retries are off so these are the only ones. Tokens the API reports are counted.

Synchronous ``encode`` runs the same coroutine on one background event loop, so sync
and async callers share one code path; each event loop gets its own async client.
"""

from __future__ import annotations

import asyncio
import platform
import random
import threading
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from embedweave.backends.api_models import ApiModelName, Limits
from embedweave.errors import ApiEmbeddingError
from embedweave.model_spec import ModelSpec

Kind = Literal["query", "document"]

#: Fewest texts per request when a call is spread over the requests in flight.
MIN_SPREAD = 256
#: Statuses worth retrying: timeouts, conflicts, rate limits and server errors.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


class ProviderFailure(Exception):
    """One request failed; raised by a provider's ``_send`` for the shared retry loop.

    Args:
        message: The provider's own message (or what went wrong).
        status: HTTP status; ``None`` for timeouts and connection errors.
        retry_after: Seconds the provider asked to wait (``Retry-After``).
        retryable: Worth another attempt; default: by status (``None`` counts).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.retryable = (status is None or status in RETRY_STATUSES) if retryable is None else (
            retryable
        )


def malformed(message: str) -> ProviderFailure:
    """A 2xx answer we cannot use (short, misindexed, wrong width): never retried."""
    return ProviderFailure(f"unusable answer: {message}", status=None, retryable=False)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils
    import time

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class Reply:
    """One successful request: vectors in the request's input order, tokens billed."""

    vectors: np.ndarray
    tokens: int | None


def order_by_index(pairs: Sequence[tuple[Any, Any]], n: int) -> np.ndarray:
    """Rows ``(index, vector)`` -> (n, d) float32 in index order; each index once.

    Raises:
        ProviderFailure: a missing, repeated or out-of-range index, or ragged widths.
    """
    if len(pairs) != n:
        raise malformed(f"{len(pairs)} embeddings for {n} inputs")
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    seen = np.zeros(n, dtype=bool)
    out: np.ndarray | None = None
    for index, vec in pairs:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n:
            raise malformed(f"index {index!r} is not in 0..{n - 1}")
        if seen[index]:
            raise malformed(f"index {index} answered twice")
        seen[index] = True
        row = np.asarray(vec, dtype=np.float32).reshape(-1)
        if out is None:
            out = np.empty((n, row.shape[0]), dtype=np.float32)
        elif row.shape[0] != out.shape[1]:
            raise malformed(f"vectors of different lengths {sorted({row.shape[0], out.shape[1]})}")
        out[index] = row
    assert out is not None
    return out


def estimate_tokens(text: str) -> int:
    """An upper bound on a text's tokens: its UTF-8 bytes (a BPE token is >= 1 byte)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def split_batches(
    costs: Sequence[int], max_texts: int, max_tokens: int | None
) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` ranges under both caps (a lone oversize text goes alone)."""
    out: list[tuple[int, int]] = []
    start, total = 0, 0
    for i, cost in enumerate(costs):
        if i > start and (i - start >= max_texts or (max_tokens and total + cost > max_tokens)):
            out.append((start, i))
            start, total = i, 0
        total += cost
    if start < len(costs):
        out.append((start, len(costs)))
    return out


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried.

    Attributes:
        max_retries: Further attempts after the first.
        base_delay: First backoff in seconds; doubles each attempt.
        max_delay: Cap on one backoff, and on an honoured ``Retry-After``.
    """

    max_retries: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry ``attempt`` (0-based): ``Retry-After``, else backoff+jitter."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return ceiling * (0.5 + random.random() / 2)  # jitter, not crypto


@dataclass
class _LoopState:
    client: Any
    semaphore: asyncio.Semaphore
    closer: Any = None


async def _closing(backend: ApiBackend, client: Any) -> AsyncIterator[None]:
    """Parked for a loop's lifetime; ``asyncio.run`` finalises it, closing the client."""
    try:
        yield
    finally:
        await backend._close_client(client)


_BG_LOOP: asyncio.AbstractEventLoop | None = None
_BG_LOCK = threading.Lock()


def background_loop() -> asyncio.AbstractEventLoop:
    """The event loop (in a daemon thread) that synchronous API calls run on."""
    global _BG_LOOP
    with _BG_LOCK:
        if _BG_LOOP is None or _BG_LOOP.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="embedweave-api", daemon=True
            ).start()
            _BG_LOOP = loop
        return _BG_LOOP


class ApiBackend:
    """Base of the OpenAI, Cohere and Voyage backends (``Backend`` plus ``aencode``).

    Subclasses set ``provider`` and implement ``_new_client`` (one async SDK client,
    retries off) and ``_send`` (one request -> ``Reply``, failures as
    ``ProviderFailure``).

    Args:
        spec: The model's spec (``spec.path`` is the API root).
        name: Parsed ``provider:model``.
        api_key: The key; kept private, never shown.
        server_dims: Size to ask the API for (``dimensions``/``output_dimension``);
            ``None``: the model's default size.
        expect_dims: Width every answer must have; ``None`` while probing.
        limits: Per-request caps.
        max_concurrency: Requests in flight at once (per event loop).
        timeout: Seconds per request attempt.
        retry: Retry policy.
        request_size: Texts per request, below the provider's cap (e.g. 32 for TEI).

    Attributes:
        requests: Successful requests. retries: Attempts repeated. tokens: Tokens the
        API reported (0 when it reports none).
    """

    provider: str = "api"
    device = "api"

    def __init__(
        self,
        spec: ModelSpec,
        name: ApiModelName,
        *,
        api_key: str,
        server_dims: int | None,
        expect_dims: int | None,
        limits: Limits,
        max_concurrency: int = 8,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        request_size: int | None = None,
    ) -> None:
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ValueError(f"max_concurrency must be a positive integer, got {max_concurrency!r}")
        if not timeout or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if request_size is not None and (not isinstance(request_size, int) or request_size < 1):
            raise ValueError(f"request_size must be a positive integer, got {request_size!r}")
        self.spec = spec
        self.name = name
        self.model = name.model
        self.url = spec.path
        self._key = api_key
        self.server_dims = server_dims
        self.expect_dims = expect_dims
        self.limits = limits
        self.max_texts = min(limits.texts, request_size or limits.texts)
        self.max_concurrency = max_concurrency
        self.timeout = float(timeout)
        self.retry = retry or RetryPolicy()
        self.max_seq_length: int | None = spec.max_seq_length
        self.requests = 0
        self.retries = 0
        self.tokens = 0
        self._lock = threading.Lock()
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        # Built now, outside any loop: the SDKs import their client modules lazily and
        # build TLS contexts on construction (seconds on a busy machine), which must not
        # happen on the caller's event loop. The first caller's loop takes this client.
        self._spare: Any = self._new_client()
        # The SDKs describe the machine in a header of their first request; the processor
        # field of ``platform.uname()`` runs ``uname -p`` in a subprocess (once per
        # process, then cached), on the caller's loop: the likely cause of a 0.49 s stall
        # seen once in a cold test run (8-13 ms on an idle machine). Do it here.
        platform.uname().processor  # noqa: B018 - computed for its cache
        platform.platform()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.name)!r}, url={self.url!r})"

    # ---- provider hooks ------------------------------------------------------------

    def _new_client(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    async def _send(self, client: Any, texts: list[str], kind: Kind) -> Reply:
        raise NotImplementedError  # pragma: no cover - abstract

    async def _close_client(self, client: Any) -> None:
        """Release a client's connections (when its event loop shuts down)."""

    # ---- Backend interface ---------------------------------------------------------

    def encode(
        self,
        texts: list[str],
        *,
        prompt: str,
        batch_size: int = 0,
        show_progress: bool = False,
        kind: Kind = "document",
    ) -> np.ndarray:
        """Synchronous ``aencode`` (run on the background loop); ``batch_size`` is unused."""
        future = asyncio.run_coroutine_threadsafe(
            self.aencode(texts, prompt=prompt, kind=kind), background_loop()
        )
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def too_long(self, texts: list[str], prompt: str) -> list[int]:
        """Always empty: the server counts tokens (and truncates or refuses) itself."""
        return []

    async def aencode(
        self, texts: Sequence[str], *, prompt: str = "", kind: Kind = "document"
    ) -> np.ndarray:
        """Embed texts -> (n, dims) float32 in input order, or raise ``ApiEmbeddingError``."""
        inputs = [prompt + t for t in texts] if prompt else list(texts)
        n = len(inputs)
        if n == 0:
            return np.zeros((0, self.expect_dims or 0), dtype=np.float32)
        # Spread a call over the allowed requests in flight (at least MIN_SPREAD texts
        # each), so the round trips overlap instead of queueing behind a few large ones.
        spread = max(MIN_SPREAD, -(-n // self.max_concurrency))
        batches = split_batches(
            [estimate_tokens(t) for t in inputs], min(self.max_texts, spread), self.limits.tokens
        )
        state = await self._state()
        parts: dict[int, np.ndarray] = {}

        async def one(start: int, end: int) -> None:
            async with state.semaphore:
                parts[start] = await self._attempts(state.client, inputs[start:end], kind,
                                                    start, end, n)

        tasks = [asyncio.ensure_future(one(s, e)) for s, e in batches]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        out = np.concatenate([parts[s] for s, _ in batches], axis=0)
        if out.shape[0] != n:  # pragma: no cover - guarded per batch
            raise ApiEmbeddingError(
                f"{self.provider}: {out.shape[0]} vectors for {n} inputs",
                provider=self.provider, start=0, end=n, status=None,
            )
        return out

    # ---- internals -----------------------------------------------------------------

    async def _state(self) -> _LoopState:
        """This loop's client and in-flight limit, made on first use."""
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._states.get(loop)
            fresh = state is None
            if state is None:
                if loop is _BG_LOOP or self._spare is None:
                    client = self._new_client()  # our own thread may block; a caller's not
                else:
                    client, self._spare = self._spare, None
                state = _LoopState(client, asyncio.Semaphore(self.max_concurrency))
                self._states[loop] = state
        if fresh:
            state.closer = _closing(self, state.client)
            await state.closer.__anext__()
        return state

    async def _attempts(
        self, client: Any, texts: list[str], kind: Kind, start: int, end: int, n: int
    ) -> np.ndarray:
        attempt = 0
        while True:
            try:
                reply = await asyncio.wait_for(self._send(client, texts, kind), self.timeout)
                vectors = self._check(reply, len(texts))
            except asyncio.TimeoutError:
                failure = ProviderFailure(f"no answer within {self.timeout:g} s")
            except ProviderFailure as exc:
                failure = exc
            else:
                with self._lock:
                    self.requests += 1
                    self.tokens += int(reply.tokens or 0)
                return vectors
            if not failure.retryable or attempt >= self.retry.max_retries:
                raise self._error(failure, start, end, n, attempt + 1) from None
            with self._lock:
                self.retries += 1
            await asyncio.sleep(self.retry.delay(attempt, failure.retry_after))
            attempt += 1

    def _check(self, reply: Reply, n: int) -> np.ndarray:
        vecs = np.asarray(reply.vectors, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[0] != n:
            raise malformed(f"{vecs.shape[0] if vecs.ndim else 0} embeddings for {n} inputs")
        if self.expect_dims is not None and vecs.shape[1] != self.expect_dims:
            raise malformed(f"vectors have {vecs.shape[1]} dims, expected {self.expect_dims}")
        if not np.isfinite(vecs).all():
            raise malformed("vectors hold NaN or inf")
        return vecs

    def _error(
        self, failure: ProviderFailure, start: int, end: int, n: int, attempts: int
    ) -> ApiEmbeddingError:
        status = f"HTTP {failure.status}: " if failure.status is not None else ""
        message = self.redact(str(failure.message))[:500]
        return ApiEmbeddingError(
            f"{self.provider} embeddings ({self.model!r} at {self.url}) failed for inputs "
            f"{start}..{end - 1} of {n} after {attempts} attempt(s): {status}{message}",
            provider=self.provider, start=start, end=end, status=failure.status,
        )

    def redact(self, text: str) -> str:
        """``text`` with the API key (should a server echo it) replaced by ``***``."""
        return text.replace(self._key, "***") if self._key else text
