"""How a ``Chunk`` maps to Weaviate properties and back: names, data types, ids."""

from __future__ import annotations

import json
import re
import uuid as uuid_mod
from datetime import datetime
from typing import Any

import numpy as np

from embedweave.types import Chunk

#: Properties every embedweave collection has; metadata keys never shadow them.
RESERVED = {"text", "document_id", "chunk_index", "chunk_id", "language", "metadata_json",
            "content_hash"}
_PROP_RE = re.compile(r"[^0-9A-Za-z_]")
#: Metadata value kind -> Weaviate data type name (``weaviate.classes.config.DataType``).
DATA_TYPES = {"text": "TEXT", "int": "INT", "number": "NUMBER", "boolean": "BOOL",
              "text[]": "TEXT_ARRAY", "int[]": "INT_ARRAY", "number[]": "NUMBER_ARRAY",
              "date": "DATE"}


def metadata_property(key: str) -> str:
    """Weaviate property name holding a user metadata key (``md_`` + sanitised key)."""
    if key in ("document_id", "language", "chunk_index"):
        return key
    return "md_" + _PROP_RE.sub("_", key)


def storage_uuid(chunk_id: str) -> str:
    """Weaviate object id for a chunk id: itself when it is a UUID, else a uuid5 of it."""
    try:
        return str(uuid_mod.UUID(chunk_id))
    except (ValueError, AttributeError, TypeError):
        return str(uuid_mod.uuid5(uuid_mod.NAMESPACE_URL, f"embedweave:{chunk_id}"))


def stored_property(key: str) -> str:
    """Property a metadata key is written to (``md_`` + key where it would shadow a field)."""
    prop = metadata_property(key)
    return "md_" + key if prop in ("document_id", "language", "chunk_index") else prop


def chunk_properties(c: Chunk) -> dict[str, Any]:
    """Weaviate properties of a chunk: its fields, its metadata as JSON, and each
    filterable metadata value in a typed property of its own."""
    props: dict[str, Any] = {
        "text": c.text, "document_id": c.document_id, "chunk_index": int(c.index),
        "chunk_id": c.id, "language": c.language, "content_hash": c.content_hash,
        "metadata_json": json.dumps(c.metadata, default=json_default, sort_keys=True),
    }
    for key, value in c.metadata.items():
        if value_kind(value, key, 0) is not None:
            props[stored_property(key)] = (
                value.isoformat() if isinstance(value, datetime) else value
            )
    return props


def value_kind(value: Any, key: str, index: int) -> str | None:
    """Weaviate data type for a metadata value; None for values kept only in JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "date"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, str) for v in value):
            return "text[]"
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return "int[]"
        if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return "number[]"
        return None
    if isinstance(value, dict):
        return None
    raise ValueError(
        f"metadata {key!r} of chunk {index} has unsupported type {type(value).__name__}; "
        "use str, int, float, bool, datetime, lists of those, or dicts"
    )


def kind_compatible(have: str, kind: str) -> bool:
    if have == kind:
        return True
    return {have, kind} in ({"int", "number"}, {"int[]", "number[]"}) and have.startswith("number")


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"metadata value of type {type(value).__name__} is not JSON-serialisable")


def to_chunk(obj: Any) -> Chunk:
    p = obj.properties
    meta_json = p.get("metadata_json")
    metadata = json.loads(meta_json) if meta_json else {}
    return Chunk(
        document_id=str(p.get("document_id") or ""),
        index=int(p.get("chunk_index") or 0),
        text=str(p.get("text") or ""),
        metadata=metadata,
        language=p.get("language"),
        id=str(p.get("chunk_id") or obj.uuid),
        content_hash=str(p.get("content_hash") or ""),
    )
