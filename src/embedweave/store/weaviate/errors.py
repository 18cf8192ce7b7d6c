"""Server failures -> embedweave errors; bounded retries for idempotent requests.

Every call the store sends goes through ``call``: a weaviate-client or transport
exception becomes a ``StoreError`` naming the operation, collection, server URL and the
server's message (the original chained). Idempotent requests (batch upserts under fixed
ids, deletes) are retried with exponential backoff on transient failures (gRPC
``UNAVAILABLE`` / ``DEADLINE_EXCEEDED``, timeouts, refused connections, 502-504), and
the error says how many attempts were made when it gives up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from embedweave.errors import EmbedweaveError, StoreError

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Substrings of a failure message that mark it as transient (worth retrying).
TRANSIENT_MARKERS = (
    "UNAVAILABLE",
    "DEADLINE_EXCEEDED",
    "Connection refused",
    "connection refused",
    "Connection reset",
    "timed out",
    "Socket closed",
    "failed to connect",
    "Broken pipe",
    "Could not connect",
    "Connection to Weaviate failed",
)
_TRANSIENT_STATUS = (502, 503, 504)


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent requests are retried on transient failures.

    Attributes:
        attempts: Total tries (1 = no retry).
        backoff: Seconds before the first retry; doubled after each.
        max_backoff: Longest single wait.
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"retry attempts must be >= 1, got {self.attempts}")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ValueError("retry backoff must be >= 0")


def server_message(exc: BaseException) -> str:
    """The most informative one-line message of a client exception."""
    msg = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(msg).split())[:2000]


def is_transient(exc: BaseException) -> bool:
    """Whether a failure is worth retrying: the server or network may recover."""
    import httpx
    from weaviate.exceptions import (
        UnexpectedStatusCodeError,
        WeaviateConnectionError,
        WeaviateRetryError,
        WeaviateTimeoutError,
    )

    if isinstance(exc, WeaviateRetryError):
        return False  # weaviate-client already retried it with its own backoff
    if isinstance(exc, (WeaviateConnectionError, WeaviateTimeoutError, httpx.TransportError,
                        ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, UnexpectedStatusCodeError) and exc.status_code in _TRANSIENT_STATUS:
        return True
    text = f"{type(exc).__name__} {server_message(exc)}"
    return any(m in text for m in TRANSIENT_MARKERS)


def is_weaviate_failure(exc: BaseException) -> bool:
    """Failures of the server or the transport (not our own validation errors)."""
    import httpx
    from weaviate.exceptions import WeaviateBaseError

    try:
        import grpc

        grpc_error: tuple[type[BaseException], ...] = (grpc.RpcError,)
    except ImportError:  # pragma: no cover - grpc ships with weaviate-client
        grpc_error = ()
    return isinstance(exc, (WeaviateBaseError, httpx.HTTPError, ConnectionError, TimeoutError,
                            *grpc_error))


def _hint(exc: BaseException) -> str:
    from weaviate.exceptions import AuthenticationFailedError, UnexpectedStatusCodeError

    if isinstance(exc, AuthenticationFailedError) or (
        isinstance(exc, UnexpectedStatusCodeError) and exc.status_code in (401, 403)
    ):
        return "check the API key (api_key=) and its permissions"
    if is_transient(exc) or "UNAVAILABLE" in server_message(exc):
        return "is the server running and reachable?"
    return ""


def call(
    fn: Callable[[], T],
    *,
    operation: str,
    collection: str,
    url: str,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run one request; turn server failures into ``StoreError``, retrying if allowed.

    Args:
        fn: The request (no arguments).
        operation: What it does, for the message (e.g. ``delete 12 objects``).
        collection: Collection name, for the message.
        url: Server URL, for the message.
        retry: Retry transient failures under this policy; ``None`` for requests that
            are not idempotent (sent once).
        sleep: Waits between attempts (tests pass a recorder).

    Raises:
        StoreError: the request failed for good; ``attempts`` says how often it was sent.
    """
    attempts = retry.attempts if retry is not None else 1
    wait = retry.backoff if retry is not None else 0.0
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except EmbedweaveError:
            raise
        except Exception as exc:
            if not is_weaviate_failure(exc):
                raise
            if attempt < attempts and is_transient(exc):
                logger.warning(
                    "%s on %r at %s failed (%s); retry %d of %d in %.1fs",
                    operation, collection, url, server_message(exc), attempt,
                    attempts - 1, wait,
                )
                sleep(wait)
                assert retry is not None
                wait = min(wait * 2 or retry.backoff, retry.max_backoff)
                continue
            raise StoreError(
                operation=operation, collection=collection, url=url,
                server_message=server_message(exc), attempts=attempt, hint=_hint(exc),
            ) from exc
    raise AssertionError("unreachable")  # pragma: no cover
