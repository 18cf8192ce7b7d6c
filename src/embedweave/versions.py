"""Document versions: content hashes, versioned chunk ids and the plan of a re-ingest.

A document's version is a hash of everything that decides its stored chunks: text,
metadata, forced language, chunker settings and the route table's spaces. Every chunk
carries it (``Chunk.content_hash``). Re-ingesting compares the new version with what
is stored and writes only the chunks that are not there yet; a changed document's
new chunks get ids that differ from the old ones, so the old version stays whole
(and searchable) until the new one is written, and only then are the stale chunks
deleted.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from embedweave.types import CHUNK_NAMESPACE, Chunk, Document, chunk_uuid


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"metadata value of type {type(value).__name__} cannot be hashed")


def chunker_key(chunker: Any) -> dict[str, Any]:
    """The settings of a chunker that change its output (class, sizes, tokenizer)."""
    tokenizer = getattr(chunker, "tokenizer", None)
    tok = None if tokenizer is None else str(
        getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
    )
    key: dict[str, Any] = {"class": f"{type(chunker).__module__}.{type(chunker).__qualname__}"}
    for attr in ("max_tokens", "min_tokens", "overlap", "headings"):
        if hasattr(chunker, attr):
            key[attr] = getattr(chunker, attr)
    key["tokenizer"] = tok
    return key


def content_hash(document: Document, settings: Mapping[str, Any]) -> str:
    """Hash of one document version under the given ingest settings (hex, 32 chars)."""
    payload = json.dumps(
        {"text": document.text, "metadata": document.metadata, "language": document.language,
         "settings": settings},
        sort_keys=True, ensure_ascii=False, default=_json_default,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def versioned_id(document_id: str, index: int, version: str) -> str:
    """Chunk id of one version of a document, distinct from every other version's."""
    return str(uuid.uuid5(CHUNK_NAMESPACE, f"{document_id}\x1f{index}\x1f{version}"))


@dataclass
class DocumentPlan:
    """What ingesting one document does.

    Attributes:
        document: The document.
        chunks: Its chunks in the new version (ids and hash set).
        to_write: Those not stored yet (to embed and write).
        stale: Stored chunk ids of other versions, deleted once ``to_write`` is written.
        status: ``added``, ``updated``, ``unchanged`` or ``deleted`` (now empty).
    """

    document: Document
    chunks: list[Chunk]
    to_write: list[Chunk] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    status: str = "unchanged"


def plan_document(
    document: Document, chunks: Sequence[Chunk], version: str, stored: Mapping[str, str]
) -> DocumentPlan:
    """Decide a document's chunk ids and what to write and delete.

    The first version of a document uses the plain ids ``chunk_uuid(document, i)``.
    A new version whose plain ids are taken by another version's chunks uses
    ``versioned_id`` instead, so nothing stored is overwritten; a version already
    (partly) stored keeps the ids it was written under, so a re-run resumes it.

    Args:
        document: The document.
        chunks: Its chunks from the chunker (ids are replaced).
        version: ``content_hash`` of the document.
        stored: The document's stored chunks, id -> content hash.
    """
    plain = [chunk_uuid(document.id, c.index) for c in chunks]
    salted = [versioned_id(document.id, c.index, version) for c in chunks]
    same = {cid for cid, h in stored.items() if h == version}
    if same:
        ids = salted if same & set(salted) else plain
    else:
        ids = salted if set(plain) & set(stored) else plain
    out = []
    for c, cid in zip(chunks, ids, strict=True):
        c.id, c.content_hash = cid, version
        out.append(c)
    keep = set(ids)
    plan = DocumentPlan(
        document, out,
        to_write=[c for c in out if stored.get(c.id) != version],
        stale=[cid for cid in stored if cid not in keep],
    )
    if not stored:
        plan.status = "added" if out else "unchanged"
    elif not out:
        plan.status = "deleted"
    elif plan.to_write or plan.stale:
        plan.status = "updated"
    return plan


class IngestResult(list[str]):
    """Ids of the given documents' chunks as now stored, with what the call did.

    A list, so code that used the ids ``add_documents`` returned keeps working.

    Attributes:
        added: Documents stored for the first time.
        updated: Documents whose stored version changed (or was completed).
        unchanged: Documents already stored in this version: not embedded, not written.
        deleted: Documents removed (emptied, or missing from a sync).
        chunks_written: Chunks embedded and written.
        chunks_deleted: Stale chunks deleted.
        chunks_repaired: Chunks a server crash had left half-written, deleted before
            planning (``Store.repair``) and, when still current, written again.
    """

    def __init__(self, ids: Sequence[str] = ()) -> None:
        super().__init__(ids)
        self.added = 0
        self.updated = 0
        self.unchanged = 0
        self.deleted = 0
        self.chunks_written = 0
        self.chunks_deleted = 0
        self.chunks_repaired = 0

    def counts(self) -> dict[str, int]:
        """The counts as a dict (for logs and JSON summaries)."""
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "deleted": self.deleted, "chunks_written": self.chunks_written,
                "chunks_deleted": self.chunks_deleted, "chunks_repaired": self.chunks_repaired}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.counts().items())
        return f"IngestResult({len(self)} chunk ids; {inner})"


__all__ = [
    "DocumentPlan",
    "IngestResult",
    "chunker_key",
    "content_hash",
    "plan_document",
    "versioned_id",
]
