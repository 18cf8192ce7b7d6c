"""Concurrent batch writes: bounded parallel insert requests, every failure reported.

A write is split into requests of ``request_size`` objects; up to ``concurrency`` of them
are in flight at once, so the client builds and serialises the next request while the
server indexes the current one (on one request at a time, each side idles half the time).
Objects are built per request inside the worker, never all up front. Each request
reports its rejected objects one by one; a request that fails as a whole marks its
objects failed and stops further requests from being sent (they are reported as not
sent), so nothing is dropped without being named.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from embedweave.errors import ObjectFailure

T = TypeVar("T")

#: Requests in flight at once by default: one indexing on the server while the next is
#: built and serialised on the client (measured in ``benchmarks/end_to_end.py``).
DEFAULT_CONCURRENCY = 2
NOT_SENT = "not sent: an earlier request failed"


@dataclass
class WriteOutcome:
    """What a concurrent write did.

    Attributes:
        failures: Every object not written, in input order, with the server's message.
        cause: The exception of the first request that failed as a whole, if any.
        requests: Requests sent (a failed one included).
    """

    failures: list[ObjectFailure] = field(default_factory=list)
    cause: BaseException | None = None
    requests: int = 0


class OnDemand(Sequence[T]):
    """A sequence whose items are built only when a request takes them.

    Args:
        count: Length.
        build: ``build(start, end)`` -> the items at positions start..end.
    """

    def __init__(self, count: int, build: Callable[[int, int], Sequence[T]]) -> None:
        self._count = count
        self._build = build

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...

    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            if step != 1:
                raise ValueError("OnDemand slices take step 1")
            return self._build(start, max(start, stop))
        i = index + self._count if index < 0 else index
        if not 0 <= i < self._count:
            raise IndexError(index)
        return self._build(i, i + 1)[0]


def all_failed_errors(exc: BaseException, size: int) -> dict[int, str] | None:
    """Per-object errors for weaviate-client's "every object of the request failed".

    The client raises instead of returning errors when no object of a request was
    written (e.g. all vectors of the wrong length); that is an object-level rejection,
    not a server failure, so every object gets the server's messages.
    """
    from weaviate.exceptions import WeaviateInsertManyAllFailedError

    if not isinstance(exc, WeaviateInsertManyAllFailedError):
        return None
    message = " ".join(str(getattr(exc, "message", None) or exc).split())
    return dict.fromkeys(range(size), message)


def write_concurrently(
    count: int,
    build: Callable[[int, int], Sequence[T]],
    send: Callable[[Sequence[T]], Mapping[int, str]],
    label: Callable[[int], str],
    *,
    request_size: int,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> WriteOutcome:
    """Write ``count`` objects in requests of ``request_size``, ``concurrency`` at a time.

    Args:
        count: Objects to write.
        build: ``build(start, end)`` -> the request's objects (input positions start..end).
        send: Sends one request; returns ``{position in request: server message}`` for
            each rejected object, raises when the request fails as a whole.
        label: Input position -> the id that names the object in failures.
        request_size: Objects per request.
        concurrency: Requests in flight at most (1 = one after another).

    Returns:
        Every object not written, in input order, and the first request-level failure.
    """
    if request_size <= 0:
        raise ValueError(f"request_size must be positive, got {request_size}")
    if concurrency <= 0:
        raise ValueError(f"concurrency must be positive, got {concurrency}")
    starts = list(range(0, count, request_size))
    stopped = threading.Event()
    per_request: dict[int, list[ObjectFailure]] = {}
    causes: dict[int, BaseException] = {}
    sent = [0]
    lock = threading.Lock()

    def one(start: int) -> None:
        end = min(start + request_size, count)
        if stopped.is_set():
            per_request[start] = [ObjectFailure(label(i), NOT_SENT) for i in range(start, end)]
            return
        with lock:
            sent[0] += 1
        try:
            objects = build(start, end)
            errors = send(objects)
        except Exception as exc:  # the whole request failed: name each object, stop
            stopped.set()
            causes[start] = exc
            message = " ".join(str(getattr(exc, "server_message", None) or exc).split())
            per_request[start] = [ObjectFailure(label(i), message) for i in range(start, end)]
            return
        per_request[start] = [
            ObjectFailure(label(start + idx), str(msg)) for idx, msg in sorted(errors.items())
        ]

    if concurrency == 1 or len(starts) <= 1:
        for s in starts:
            one(s)
    else:
        with ThreadPoolExecutor(max_workers=concurrency,
                                thread_name_prefix="embedweave-write") as pool:
            for future in [pool.submit(one, s) for s in starts]:
                future.result()
    outcome = WriteOutcome(requests=sent[0])
    for s in starts:
        outcome.failures += per_request.get(s, [])
    if causes:
        outcome.cause = causes[min(causes)]
    return outcome


def insert_sender(target: Any) -> Callable[[Sequence[Any]], dict[int, str]]:
    """``send`` for ``write_concurrently`` over a collection's gRPC ``insert_many``.

    The collection (or its tenant / consistency view) is shared by the worker threads:
    weaviate-client's sync gRPC channel is thread-safe, as its own batcher relies on.
    """

    def send(objects: Sequence[Any]) -> dict[int, str]:
        try:
            result = target.data.insert_many(list(objects))
        except Exception as exc:
            errors = all_failed_errors(exc, len(objects))
            if errors is None:
                raise
            return errors
        return {int(idx): str(err.message) for idx, err in result.errors.items()}

    return send
