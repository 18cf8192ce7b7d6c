"""Exceptions raised by embedweave; each names what went wrong and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class EmbedweaveError(Exception):
    """Base class of every embedweave error."""


class ModelNotAvailableError(EmbedweaveError):
    """A model could not be resolved (missing offline, unknown name)."""


class SpaceMismatchError(EmbedweaveError):
    """A collection was opened with a model, dims or distance other than it was built with."""


class ServerError(EmbedweaveError):
    """The managed Weaviate server could not be found, built or started."""


class StoreError(EmbedweaveError):
    """A request to the vector store server failed (after any retries).

    The message names the operation, the collection, the server URL and the server's
    own message; the client's exception is chained as ``__cause__``.

    Attributes:
        operation: What was being done, e.g. ``insert 256 objects`` or ``search``.
        collection: Collection name.
        url: Server URL.
        server_message: The server's (or client library's) message.
        attempts: How many times the request was sent.
    """

    def __init__(
        self, *, operation: str, collection: str, url: str, server_message: str,
        attempts: int = 1, hint: str = "",
    ) -> None:
        self.operation = operation
        self.collection = collection
        self.url = url
        self.server_message = server_message
        self.attempts = attempts
        tried = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
        super().__init__(
            f"{operation} on collection {collection!r} at {url} failed{tried}: "
            f"{server_message}{f'. {hint}' if hint else ''}"
        )


@dataclass(frozen=True)
class ObjectFailure:
    """One object the store rejected: its id and the server's message."""

    id: str
    message: str


class BatchWriteError(EmbedweaveError):
    """Some objects of a batch write failed; ``failures`` lists every one."""

    def __init__(self, failures: Sequence[ObjectFailure], total: int, where: str = "") -> None:
        self.failures = list(failures)
        self.total = total
        self.where = where
        lines = "\n".join(f"  {f.id}: {f.message}" for f in self.failures[:50])
        more = f"\n  ... and {len(self.failures) - 50} more" if len(self.failures) > 50 else ""
        super().__init__(
            f"{where + ': ' if where else ''}{len(self.failures)} of {total} objects failed "
            f"to write (not written):\n{lines}{more}"
        )


class ApiEmbeddingError(EmbedweaveError):
    """An embeddings API request failed for good (after retries) or answered badly.

    The message names the provider, the batch (input index range), the HTTP status and
    the provider's own message; it never contains the API key.

    Attributes:
        provider: ``openai``, ``cohere`` or ``voyage``.
        start: First input index of the failed batch.
        end: One past its last input index.
        status: HTTP status, ``None`` for timeouts, connection errors and bad answers.
    """

    def __init__(
        self, message: str, *, provider: str, start: int, end: int, status: int | None
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.start = start
        self.end = end
        self.status = status
