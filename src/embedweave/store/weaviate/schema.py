"""The shape of an embedweave collection: fixed properties, named vectors, space records.

The collection description records each space's model, fingerprint, dims and distance,
so a collection opened with another model is refused instead of mixing vectors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from embedweave.errors import SpaceMismatchError
from embedweave.store.base import VectorSpace
from embedweave.store.config import HnswConfig

DESCRIPTION_PREFIX = "embedweave:"
FORMAT_VERSION = 1
_COLLECTION_RE = re.compile(r"^[A-Za-z][_0-9A-Za-z]*$")


def collection_name(name: str) -> str:
    """The Weaviate spelling of a collection name (first letter capitalised).

    Raises:
        ValueError: when the name is not letters, digits and '_' starting with a letter.
    """
    if not isinstance(name, str) or not _COLLECTION_RE.match(name):
        raise ValueError(
            f"collection name {name!r} must start with a letter and hold only "
            "letters, digits and '_'"
        )
    return name[0].upper() + name[1:]


def base_properties() -> list[Any]:
    """The properties every embedweave collection is created with.

    Each inverted index costs the server work on every write, so a property is indexed
    only for what reads it: ``text`` is searchable (BM25, hybrid) but not filterable;
    ``document_id``, ``chunk_index`` and ``language`` are filterable (user filters,
    listing a document's chunks); ``chunk_id``, ``content_hash`` and ``metadata_json``
    are only read back, never filtered on.
    """
    from weaviate.classes.config import DataType, Property, Tokenization

    return [
        Property(name="text", data_type=DataType.TEXT, tokenization=Tokenization.WORD,
                 index_filterable=False),
        Property(name="document_id", data_type=DataType.TEXT,
                 tokenization=Tokenization.FIELD, index_searchable=False),
        Property(name="chunk_index", data_type=DataType.INT),
        Property(name="chunk_id", data_type=DataType.TEXT, tokenization=Tokenization.FIELD,
                 index_filterable=False, index_searchable=False),
        Property(name="language", data_type=DataType.TEXT,
                 tokenization=Tokenization.FIELD, index_searchable=False),
        Property(name="metadata_json", data_type=DataType.TEXT,
                 index_filterable=False, index_searchable=False),
        content_hash_property(),
    ]


def content_hash_property() -> Any:
    """The document-version hash ``Index`` compares to skip unchanged documents (read
    back with a document's chunks, never filtered on: not indexed)."""
    from weaviate.classes.config import DataType, Property, Tokenization

    return Property(name="content_hash", data_type=DataType.TEXT,
                    tokenization=Tokenization.FIELD, index_filterable=False,
                    index_searchable=False)


def metadata_property_config(prop: str, kind: str) -> Any:
    """A filterable (not searchable) property for one metadata key of a given kind."""
    from weaviate.classes.config import DataType, Property, Tokenization

    from embedweave.store.weaviate.properties import DATA_TYPES

    tok = Tokenization.FIELD if kind in ("text", "text[]") else None
    return Property(name=prop, data_type=getattr(DataType, DATA_TYPES[kind]),
                    tokenization=tok, index_searchable=False)


def vector_config(space: VectorSpace, hnsw: HnswConfig, *, flat: bool = False) -> Any:
    """Named-vector config of a space: HNSW (+ quantizer), or a flat index."""
    from weaviate.classes.config import Configure

    index, quantizer = hnsw.to_weaviate(space.distance)
    if flat:
        index = Configure.VectorIndex.flat(distance_metric=index.distance)
        quantizer = None
    return Configure.Vectors.self_provided(
        name=space.name, vector_index_config=index, quantizer=quantizer
    )


def describe(
    spaces: Sequence[VectorSpace], calibration: Mapping[str, Any] | None = None
) -> str:
    """The collection description that records the spaces (and HNSW calibrations)."""
    record: dict[str, Any] = {"format": FORMAT_VERSION,
                              "spaces": {s.name: s.to_dict() for s in spaces}}
    if calibration:
        record["calibration"] = dict(calibration)
    return DESCRIPTION_PREFIX + json.dumps(record, sort_keys=True)


def recorded_calibration(description: str | None) -> dict[str, Any]:
    """Space -> the last ``calibrate`` record kept in a collection description."""
    desc = description or ""
    if not desc.startswith(DESCRIPTION_PREFIX):
        return {}
    return dict(json.loads(desc[len(DESCRIPTION_PREFIX):]).get("calibration", {}))


def recorded_spaces(description: str | None, collection: str) -> dict[str, VectorSpace]:
    """The spaces a collection description records.

    Raises:
        SpaceMismatchError: when the collection was not created by embedweave.
    """
    desc = description or ""
    if not desc.startswith(DESCRIPTION_PREFIX):
        raise SpaceMismatchError(
            f"collection {collection!r} exists but was not created by embedweave "
            "(no space record in its description); use another collection name"
        )
    data = json.loads(desc[len(DESCRIPTION_PREFIX):])
    return {n: VectorSpace.from_dict(d) for n, d in data["spaces"].items()}
