"""Plain data carried between pipeline steps: documents, chunks and hits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

#: Namespace for deterministic chunk ids; changing it would duplicate every stored chunk.
CHUNK_NAMESPACE = uuid.UUID("6f1c2d0e-4b7a-5c3e-9a51-0e3b6d2f8a47")


def chunk_uuid(document_id: str, chunk_index: int) -> str:
    """Deterministic id of a chunk, so re-ingesting a document overwrites it.

    Args:
        document_id: Id of the source document.
        chunk_index: Position of the chunk within the document.

    Returns:
        A uuid5 string derived from both values.
    """
    return str(uuid.uuid5(CHUNK_NAMESPACE, f"{document_id}\x1f{chunk_index}"))


@dataclass
class Document:
    """A source document before chunking.

    Attributes:
        id: Caller-chosen stable id; re-ingesting the same id overwrites its chunks.
        text: Full text.
        metadata: JSON-serialisable scalar (or list of str) values, filterable in stores.
        language: ISO 639-1 code to force routing; ``None`` means detect.
    """

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    language: str | None = None


@dataclass
class Chunk:
    """One stored unit of text: a piece of a document.

    Attributes:
        document_id: Id of the document it came from.
        index: Position within the document (0-based).
        text: The chunk text that gets embedded and BM25-indexed.
        metadata: Filterable metadata, inherited from the document.
        language: Detected or forced language code, if known.
        id: Storage id; defaults to ``chunk_uuid(document_id, index)``.
        content_hash: Hash of the document version the chunk came from (``Index`` sets
            it, and skips documents whose stored hash is unchanged); ``""`` if unknown.
    """

    document_id: str
    index: int
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    language: str | None = None
    id: str = ""
    content_hash: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = chunk_uuid(self.document_id, self.index)


@dataclass
class Hit:
    """A search or rerank result.

    Attributes:
        chunk: The matching chunk.
        score: Score of the step that produced it (similarity, BM25, fused or rerank score).
        spaces: Names of the embedding spaces (or ``"bm25"``) whose search found it.
        first_stage_score: Score before reranking, kept so callers can inspect both.
        first_stage_rank: 0-based rank before reranking.
        rerank_score: The reranking model's own score (``score`` too, unless the reranker
            blends it with the first-stage score).
        vectors: Stored vectors by space name, when they were requested.
    """

    chunk: Chunk
    score: float
    spaces: tuple[str, ...] = ()
    first_stage_score: float | None = None
    first_stage_rank: int | None = None
    rerank_score: float | None = None
    vectors: dict[str, list[float]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Storage id of the chunk."""
        return self.chunk.id
