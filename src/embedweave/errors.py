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


@dataclass(frozen=True)
class ObjectFailure:
    """One object the store rejected: its id and the server's message."""

    id: str
    message: str


class BatchWriteError(EmbedweaveError):
    """Some objects of a batch write failed; ``failures`` lists every one."""

    def __init__(self, failures: Sequence[ObjectFailure], total: int) -> None:
        self.failures = list(failures)
        self.total = total
        lines = "\n".join(f"  {f.id}: {f.message}" for f in self.failures[:50])
        more = f"\n  ... and {len(self.failures) - 50} more" if len(self.failures) > 50 else ""
        super().__init__(
            f"{len(self.failures)} of {total} objects failed to write:\n{lines}{more}"
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
