"""``EmbedweaveRerank`` over real cross-encoders (no mocks).

Mechanics (order, scores, events, thresholds) use a seeded MiniLM cross-encoder; the
relevance check uses a SciFact cross-encoder trained here (``slow``: trained on first use).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.postprocessor.embedweave_rerank import EmbedweaveRerank

from embedweave.rerank import Reranker
from embedweave.train import DEFAULT_BLEND

QUERY = "Which pigment absorbs red and blue light in plants?"
TEXTS = [
    "Volcanoes erupt when magma rises through cracks in the crust.",
    "Espresso is brewed by forcing hot water through ground coffee.",
    "Chlorophyll in chloroplasts absorbs red and blue light and reflects green.",
    "BM25 weights term frequency with saturation.",
    "HNSW is a layered proximity graph for nearest neighbour search.",
]
RELEVANT = 2


def _nodes() -> list[NodeWithScore]:
    # First-stage order puts the relevant text third.
    return [
        NodeWithScore(node=TextNode(id_=f"n{i}", text=t), score=0.9 - 0.1 * i)
        for i, t in enumerate(TEXTS)
    ]


def test_returns_the_core_rerankers_order_and_keeps_retrieval_score(
    seeded_rerank: EmbedweaveRerank,
) -> None:
    nodes = _nodes()
    out = seeded_rerank.postprocess_nodes(nodes, query_str=QUERY)
    assert len(out) == 2  # top_n
    core = seeded_rerank.reranker.score(QUERY, TEXTS)
    order = sorted(range(len(TEXTS)), key=lambda i: -core[i])[:2]
    assert [n.node.node_id for n in out] == [f"n{i}" for i in order]
    assert [n.score for n in out] == pytest.approx([core[i] for i in order], abs=1e-5)
    for n, i in zip(out, order, strict=True):
        assert n.node.metadata["retrieval_score"] == pytest.approx(0.9 - 0.1 * i)


@pytest.mark.slow
def test_scifact_reranker_lifts_the_relevant_node(
    rerank: EmbedweaveRerank, scifact_reranker: Any
) -> None:
    assert rerank.reranker.model_name == str(scifact_reranker)
    assert rerank.reranker.blend == DEFAULT_BLEND  # blended with the retrieval scores
    out = rerank.postprocess_nodes(_nodes(), query_str=QUERY)  # top 2 of 5
    assert f"n{RELEVANT}" in [n.node.node_id for n in out]  # up from 3rd
    # the model alone puts it first
    alone = EmbedweaveRerank(reranker=Reranker(scifact_reranker, blend=None), top_n=2)
    assert alone.postprocess_nodes(_nodes(), query_str=QUERY)[0].node.node_id == f"n{RELEVANT}"


def test_score_threshold_and_wrapping_a_ready_reranker(seeded_rerank: EmbedweaveRerank) -> None:
    rerank = seeded_rerank
    core = sorted(rerank.reranker.score(QUERY, TEXTS), reverse=True)
    adopted = EmbedweaveRerank(reranker=rerank.reranker)
    assert adopted.top_n == 2 and adopted.reranker is rerank.reranker
    cut = (core[2] + core[3]) / 2  # between the 3rd and 4th score
    thresholded = EmbedweaveRerank(reranker=rerank.reranker, top_n=5, score_threshold=cut)
    out = thresholded.postprocess_nodes(_nodes(), query_bundle=QueryBundle(QUERY))
    assert len(out) == 3 and all(n.score >= cut for n in out)
    everything = EmbedweaveRerank(
        reranker=rerank.reranker, top_n=len(TEXTS), keep_retrieval_score=False
    )
    out = everything.postprocess_nodes(_nodes(), query_str=QUERY)
    assert [n.score for n in out] == pytest.approx(core, abs=1e-5)
    assert all("retrieval_score" not in n.node.metadata for n in out)
    with pytest.raises(ValueError, match="not both"):
        EmbedweaveRerank("other-model", reranker=rerank.reranker)


def test_rerank_events_reach_a_registered_handler(
    seeded_rerank: EmbedweaveRerank, events: Any
) -> None:
    rerank = seeded_rerank
    out = rerank.postprocess_nodes(_nodes(), query_str=QUERY)
    (start,) = events.of("ReRankStartEvent")
    (end,) = events.of("ReRankEndEvent")
    assert start.top_n == 2 and len(start.nodes) == len(TEXTS)
    assert start.query.query_str == QUERY
    assert start.model_name == rerank.reranker.model_name
    assert [n.node.node_id for n in end.nodes] == [n.node.node_id for n in out]
    assert events.names().index("ReRankStartEvent") < events.names().index("ReRankEndEvent")


@pytest.mark.asyncio
async def test_async_matches_sync(seeded_rerank: EmbedweaveRerank, events: Any) -> None:
    rerank = seeded_rerank
    sync = rerank.postprocess_nodes(_nodes(), query_str=QUERY)
    out = await rerank.apostprocess_nodes(_nodes(), query_str=QUERY)
    assert [n.node.node_id for n in out] == [n.node.node_id for n in sync]
    assert [n.score for n in out] == pytest.approx([n.score for n in sync], abs=1e-5)
    assert len(events.of("ReRankEndEvent")) == 2


def test_input_nodes_are_not_modified(seeded_rerank: EmbedweaveRerank) -> None:
    rerank = seeded_rerank
    nodes = _nodes()
    first = rerank.postprocess_nodes(nodes, query_str=QUERY)
    assert all(n.node.metadata == {} for n in nodes)
    again = rerank.postprocess_nodes(first, query_str=QUERY)  # rerank the reranked
    assert [n.score for n in again] == pytest.approx([n.score for n in first], abs=1e-5)


def test_empty_input_and_missing_query(seeded_rerank: EmbedweaveRerank) -> None:
    rerank = seeded_rerank
    assert rerank.postprocess_nodes([], query_str=QUERY) == []
    with pytest.raises(ValueError, match="query"):
        rerank.postprocess_nodes(_nodes())


def test_serialisation_never_holds_the_api_key() -> None:
    secret = "sk-test-do-not-serialise"
    cohere = EmbedweaveRerank(
        "rerank-v3.5", backend="cohere", api_key=secret, base_url="http://127.0.0.1:9", top_n=3
    )
    data = cohere.to_dict()
    assert data["class_name"] == "EmbedweaveRerank"
    assert data["backend"] == "cohere" and data["top_n"] == 3
    assert secret not in json.dumps(data)
    assert secret not in repr(cohere)
