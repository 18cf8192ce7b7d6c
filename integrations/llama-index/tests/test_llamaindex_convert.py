"""Node <-> chunk and MetadataFilters -> Filter conversions (no model, no server)."""

from __future__ import annotations

import pytest
from llama_index.core.schema import MetadataMode, NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)
from llama_index.vector_stores.embedweave.convert import (
    chunk_to_node,
    hit_to_node_with_score,
    node_to_chunk,
    nodes_to_chunks,
    to_filter,
)

from embedweave.filters import Condition, Filter, matches
from embedweave.types import Chunk, Hit


def _node(node_id: str = "n1", doc: str | None = "doc-1") -> TextNode:
    rel = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc)} if doc else {}
    rel[NodeRelationship.NEXT] = RelatedNodeInfo(node_id="n2")
    return TextNode(
        id_=node_id,
        text="Espresso is brewed under pressure.",
        metadata={"topic": "food", "year": 1901, "tags": ["coffee", "drink"]},
        relationships=rel,
        excluded_llm_metadata_keys=["year"],
        start_char_idx=3,
        end_char_idx=40,
        embedding=[0.1, 0.2],
    )


def test_node_round_trips_through_a_chunk() -> None:
    node = _node()
    chunk = node_to_chunk(node, index=4)
    assert chunk.id == "n1"
    assert chunk.document_id == "doc-1"
    assert chunk.index == 4
    assert chunk.text == node.text
    # User metadata stays filterable as is; the text is not duplicated in the node record.
    assert chunk.metadata["topic"] == "food" and chunk.metadata["year"] == 1901
    assert node.text not in str(chunk.metadata["_node_content"])

    back = chunk_to_node(chunk)
    assert back.node_id == node.node_id
    assert back.get_content() == node.get_content()
    assert back.metadata == node.metadata
    assert back.ref_doc_id == "doc-1"
    assert back.relationships[NodeRelationship.NEXT].node_id == "n2"
    assert back.excluded_llm_metadata_keys == ["year"]
    assert (back.start_char_idx, back.end_char_idx) == (3, 40)
    assert back.embedding is None


def test_node_without_source_is_its_own_document() -> None:
    chunk = node_to_chunk(_node("lonely", doc=None))
    assert chunk.document_id == "lonely"
    assert chunk_to_node(chunk).ref_doc_id is None


def test_nodes_are_numbered_within_their_document() -> None:
    nodes = [_node("a", "d1"), _node("b", "d2"), _node("c", "d1")]
    assert [c.index for c in nodes_to_chunks(nodes)] == [0, 0, 1]


def test_reserved_metadata_keys_are_refused() -> None:
    node = _node()
    node.metadata["_node_content"] = "mine"
    with pytest.raises(ValueError, match="reserved metadata keys"):
        node_to_chunk(node)


def test_core_chunk_becomes_text_node_with_source() -> None:
    chunk = Chunk("paper-7", 2, "Some abstract text.", {"year": 2020}, language="en")
    node = chunk_to_node(chunk)
    assert isinstance(node, TextNode)
    assert node.node_id == chunk.id and node.ref_doc_id == "paper-7"
    assert node.metadata == {"year": 2020}


def test_hit_keeps_retrieval_score_after_rerank() -> None:
    chunk = node_to_chunk(_node())
    plain = hit_to_node_with_score(Hit(chunk, 0.8))
    assert plain.score == pytest.approx(0.8) and "retrieval_score" not in plain.node.metadata
    reranked = hit_to_node_with_score(Hit(chunk, 3.5, first_stage_score=0.42))
    assert reranked.score == pytest.approx(3.5)
    assert reranked.node.metadata["retrieval_score"] == pytest.approx(0.42)
    # Kept for inspection, but not part of what embedders, rerankers or LLMs read.
    for mode in (MetadataMode.EMBED, MetadataMode.LLM):
        assert "retrieval_score" not in reranked.node.get_content(metadata_mode=mode)
    assert "topic" in reranked.node.get_content(metadata_mode=MetadataMode.LLM)


def test_filters_translate_operators_and_nesting() -> None:
    filters = MetadataFilters(
        filters=[
            MetadataFilter(key="topic", value="food"),
            MetadataFilter(key="year", value=1950, operator=FilterOperator.LT),
            MetadataFilters(
                filters=[
                    MetadataFilter(
                        key="tags", value=["tea", "coffee"], operator=FilterOperator.ANY
                    ),
                    MetadataFilter(key="ref_doc_id", value=["doc-1"], operator=FilterOperator.IN),
                ],
                condition=FilterCondition.OR,
            ),
        ]
    )
    flt = to_filter(filters)
    assert flt == Filter(
        (
            Condition("topic", "eq", "food"),
            Condition("year", "lt", 1950),
            Filter(
                (
                    Filter((Condition("tags", "contains", "tea"),
                            Condition("tags", "contains", "coffee")), "or"),
                    Condition("document_id", "in", ["doc-1"]),
                ),
                "or",
            ),
        ),
        "and",
    )
    meta = {"topic": "food", "year": 1901, "tags": ["coffee"], "document_id": "x"}
    assert matches(meta, flt)
    assert not matches({**meta, "year": 1960}, flt)
    assert not matches({**meta, "tags": ["milk"]}, flt)


def test_filters_combine_with_doc_ids() -> None:
    flt = to_filter(MetadataFilters(filters=[MetadataFilter(key="topic", value="food")]),
                    doc_ids=["a", "b"])
    assert flt == Filter(
        (Filter((Condition("topic", "eq", "food"),), "and"),
         Condition("document_id", "in", ["a", "b"])),
        "and",
    )
    assert to_filter(None) is None
    assert to_filter(MetadataFilters(filters=[])) is None


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (MetadataFilters(filters=[MetadataFilter(key="a", value=1)],
                         condition=FilterCondition.NOT), "condition 'not'"),
        (MetadataFilters(filters=[MetadataFilter(key="a", value=None,
                                                 operator=FilterOperator.IS_EMPTY)]),
         "operator 'is_empty'"),
        (MetadataFilters(filters=[MetadataFilter(key="a", value="x",
                                                 operator=FilterOperator.TEXT_MATCH)]),
         "operator 'text_match'"),
    ],
)
def test_unsupported_filters_fail_clearly(filters: MetadataFilters, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_filter(filters)
