"""Conversions between LlamaIndex objects and embedweave core types.

Nothing here searches, scores or filters: each function maps one representation onto
the other, so LlamaIndex users get the core's behaviour unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from llama_index.core.schema import (
    BaseNode,
    MetadataMode,
    NodeRelationship,
    NodeWithScore,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node

from embedweave.filters import Condition, Filter
from embedweave.types import Chunk, Hit

#: Metadata keys LlamaIndex uses to rebuild a node (relationships, templates, node type).
NODE_CONTENT_KEY = "_node_content"
NODE_TYPE_KEY = "_node_type"
#: Metadata key that keeps the first-stage (retrieval) score after reranking.
RETRIEVAL_SCORE_KEY = "retrieval_score"
#: LlamaIndex spellings of the source-document id; the core calls it ``document_id``.
_DOC_ID_KEYS = ("document_id", "doc_id", "ref_doc_id")

_SIMPLE_OPS: dict[FilterOperator, str] = {
    FilterOperator.EQ: "eq",
    FilterOperator.NE: "ne",
    FilterOperator.GT: "gt",
    FilterOperator.GTE: "gte",
    FilterOperator.LT: "lt",
    FilterOperator.LTE: "lte",
    FilterOperator.IN: "in",
    FilterOperator.NIN: "nin",
    FilterOperator.CONTAINS: "contains",
}


def node_to_chunk(node: BaseNode, index: int = 0) -> Chunk:
    """Turn a LlamaIndex node into a core ``Chunk`` (its embedding travels separately).

    The node's own metadata becomes the chunk's filterable metadata. What LlamaIndex
    needs to rebuild the node (relationships, templates, excluded-key lists, node type)
    rides along under ``_node_content`` as a mapping, which stores keep as plain JSON
    (not a filterable or searchable field); text, metadata and embedding are not
    repeated there.

    Args:
        node: The node to store.
        index: Position of the node within its document, informational only; the
            chunk id is the node id.

    Returns:
        A chunk with ``id`` = node id and ``document_id`` = ref doc id (or the node id
        for a node without a source document).
    """
    content = node.model_dump(mode="json")
    for key in ("text", "text_resource", "metadata", "embedding"):
        content.pop(key, None)
    metadata = dict(node.metadata)
    clash = sorted(k for k in (NODE_CONTENT_KEY, NODE_TYPE_KEY) if k in metadata)
    if clash:
        raise ValueError(f"node {node.node_id!r} uses reserved metadata keys {clash}")
    metadata[NODE_CONTENT_KEY] = content
    metadata[NODE_TYPE_KEY] = node.class_name()
    return Chunk(
        document_id=node.ref_doc_id or node.node_id,
        index=index,
        text=node.get_content(metadata_mode=MetadataMode.NONE),
        metadata=metadata,
        id=node.node_id,
    )


def nodes_to_chunks(nodes: Sequence[BaseNode]) -> list[Chunk]:
    """Convert nodes, numbering each document's nodes in the order given."""
    seen: dict[str, int] = {}
    chunks = []
    for node in nodes:
        doc = node.ref_doc_id or node.node_id
        chunks.append(node_to_chunk(node, seen.get(doc, 0)))
        seen[doc] = seen.get(doc, 0) + 1
    return chunks


def chunk_to_node(chunk: Chunk) -> BaseNode:
    """Rebuild a LlamaIndex node from a stored chunk.

    Chunks written through LlamaIndex come back as the node that was added; chunks
    written by the core ``Index`` become a ``TextNode`` whose source is the document.
    """
    metadata = dict(chunk.metadata)
    content = metadata.pop(NODE_CONTENT_KEY, None)
    node_type = metadata.pop(NODE_TYPE_KEY, None)
    if isinstance(content, dict):
        node_json = {**content, "metadata": metadata, "embedding": None}
        return metadata_dict_to_node(
            {NODE_CONTENT_KEY: json.dumps(node_json), NODE_TYPE_KEY: node_type},
            text=chunk.text,
        )
    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata=metadata,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.document_id)},
    )


def with_retrieval_score(node: BaseNode, score: float | None) -> BaseNode:
    """A copy of ``node`` whose metadata records its first-stage score.

    The key is excluded from the embed and LLM views of the node, so the score does not
    leak into what a reranker or an LLM reads; the original node is left untouched.
    """
    excluded = [RETRIEVAL_SCORE_KEY]
    return node.model_copy(
        update={
            "metadata": {**node.metadata, RETRIEVAL_SCORE_KEY: score},
            "excluded_embed_metadata_keys": _plus(node.excluded_embed_metadata_keys, excluded),
            "excluded_llm_metadata_keys": _plus(node.excluded_llm_metadata_keys, excluded),
        }
    )


def _plus(keys: list[str], extra: list[str]) -> list[str]:
    return [*keys, *(k for k in extra if k not in keys)]


def hit_to_node_with_score(hit: Hit) -> NodeWithScore:
    """A core ``Hit`` as a ``NodeWithScore``; a reranked hit keeps its retrieval score."""
    node = chunk_to_node(hit.chunk)
    if hit.first_stage_score is not None:
        node = with_retrieval_score(node, hit.first_stage_score)
    return NodeWithScore(node=node, score=float(hit.score))


def to_filter(
    filters: MetadataFilters | None,
    *,
    doc_ids: Sequence[str] | None = None,
) -> Filter | None:
    """Translate LlamaIndex ``MetadataFilters`` (and a doc id restriction) to a core ``Filter``.

    ``ref_doc_id`` / ``doc_id`` / ``document_id`` keys all mean the chunk's document.
    ``ANY`` / ``ALL`` become an or / and of ``contains`` conditions.

    Raises:
        ValueError: for operators or conditions the core filter cannot express
            (``NOT``, ``IS_EMPTY``, ``TEXT_MATCH``, ``TEXT_MATCH_INSENSITIVE``).
    """
    parts: list[Condition | Filter] = []
    if filters is not None and filters.filters:
        converted = _convert_filters(filters)
        if converted is not None:
            parts.append(converted)
    if doc_ids:
        parts.append(Condition("document_id", "in", list(doc_ids)))
    if not parts:
        return None
    if len(parts) == 1 and isinstance(parts[0], Filter):
        return parts[0]
    return Filter(tuple(parts), combine="and")


def _convert_filters(filters: MetadataFilters) -> Filter | None:
    condition = filters.condition or FilterCondition.AND
    if condition not in (FilterCondition.AND, FilterCondition.OR):
        raise ValueError(
            f"MetadataFilters condition {condition.value!r} is not supported by embedweave "
            "filters; use 'and' or 'or' (negate each filter with '!=' / 'nin' instead)"
        )
    parts: list[Condition | Filter] = []
    for item in filters.filters:
        if isinstance(item, MetadataFilters):
            sub = _convert_filters(item)
            if sub is not None:
                parts.append(sub)
        else:
            parts.append(_convert_one(item))
    if not parts:
        return None
    return Filter(tuple(parts), combine="and" if condition == FilterCondition.AND else "or")


def _convert_one(item: MetadataFilter) -> Condition | Filter:
    key = "document_id" if item.key in _DOC_ID_KEYS else item.key
    op = FilterOperator(item.operator)
    value: Any = item.value
    if op in _SIMPLE_OPS:
        return Condition(key, _SIMPLE_OPS[op], value)  # type: ignore[arg-type]
    if op in (FilterOperator.ANY, FilterOperator.ALL):
        if not isinstance(value, list) or not value:
            raise ValueError(f"filter operator {op.value!r} on {item.key!r} needs a non-empty list")
        return Filter(
            tuple(Condition(key, "contains", v) for v in value),
            combine="or" if op == FilterOperator.ANY else "and",
        )
    supported = sorted(o.value for o in (*_SIMPLE_OPS, FilterOperator.ANY, FilterOperator.ALL))
    raise ValueError(
        f"filter operator {op.value!r} on {item.key!r} is not supported by embedweave filters; "
        f"supported: {supported}"
    )
