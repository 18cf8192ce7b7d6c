"""Cross-encoder reranking with the SciFact reranker trained here (real model, no mocks)."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from embedweave.errors import ModelNotAvailableError
from embedweave.eval.beir import load_scifact
from embedweave.eval.metrics import mrr_at_k
from embedweave.rerank import Reranker, TruncationWarning
from embedweave.rerank.blend import minmax
from embedweave.rerank.named import record_named
from embedweave.train import (
    DEFAULT_BLEND,
    QUICK_CONFIG,
    SCIFACT_RERANKER,
    bm25_candidates,
)
from embedweave.types import Chunk, Hit

# The first run builds the quick SciFact recipe (minutes on CPU; the ``scifact_reranker``
# fixture); ``scifact-minilm`` itself is the same code with a longer recipe.
pytestmark = pytest.mark.slow

CLAIM = "Vitamin D supplementation reduces the risk of hip fractures in elderly people."
TEXTS = [
    "The stock market closed higher on Tuesday after strong earnings reports.",
    "A randomized trial of vitamin D and calcium supplements in older adults found fewer "
    "hip fractures in the treated group than in the placebo group.",
    "Photosynthesis converts light energy into chemical energy in plants.",
]


@pytest.fixture(scope="module")
def reranker(scifact_reranker: Path) -> Reranker:
    """The SciFact model blended as ``Reranker("scifact-minilm")`` blends by default."""
    return Reranker(scifact_reranker, device="cpu", blend=DEFAULT_BLEND)


def _hits(texts: list[str]) -> list[Hit]:
    return [Hit(Chunk("d", i, t), score=10.0 - i, spaces=("bm25",)) for i, t in enumerate(texts)]


def test_the_name_loads_the_recorded_model_blended(
    scifact_reranker: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDWEAVE_CACHE_DIR", str(tmp_path))  # the user's record untouched
    record_named(SCIFACT_RERANKER, scifact_reranker, QUICK_CONFIG.fingerprint())
    named = Reranker(SCIFACT_RERANKER, device="cpu")
    assert named.model_name == str(scifact_reranker.resolve())
    # used at the length it was trained at, not the 512 asked by default
    assert named.max_length == QUICK_CONFIG.max_length < 512
    # blended with the first stage by default; the same model by path is not
    assert named.blend == DEFAULT_BLEND
    by_path = Reranker(scifact_reranker, device="cpu")
    assert by_path.blend is None and by_path.max_length == QUICK_CONFIG.max_length


def test_relevant_text_first_and_contract_kept(reranker: Reranker, scifact_reranker: Path
                                              ) -> None:
    hits = _hits(TEXTS)
    raw = reranker.score(CLAIM, TEXTS)
    # the model alone puts the relevant text first
    alone = Reranker(scifact_reranker, device="cpu", blend=None).rerank(CLAIM, hits)
    assert alone[0].chunk.index == 1 and int(np.argmax(raw)) == 1
    for h in alone:
        assert h.score == h.rerank_score == pytest.approx(raw[h.chunk.index])
    # by default it is blended with the first stage's (min-max normalised) scores
    out = reranker.rerank(CLAIM, hits)
    mixed = DEFAULT_BLEND * minmax(raw) + (1 - DEFAULT_BLEND) * minmax(np.array([10, 9, 8]))
    assert [h.chunk.index for h in out] == sorted(range(3), key=lambda i: (-mixed[i], i))
    for h in out:
        assert h.rerank_score == pytest.approx(raw[h.chunk.index])
        assert h.score == pytest.approx(mixed[h.chunk.index])
        assert h.first_stage_rank == h.chunk.index
        assert h.first_stage_score == 10.0 - h.chunk.index
        assert h.spaces == ("bm25",)
    assert [h.score for h in hits] == [10.0, 9.0, 8.0]  # inputs untouched


def test_top_n_threshold_and_overrides(scifact_reranker: Path) -> None:
    rr = Reranker(scifact_reranker, device="cpu", blend=DEFAULT_BLEND, top_n=1, normalize=True)
    assert len(rr.rerank(CLAIM, _hits(TEXTS))) == 1
    assert len(rr.rerank(CLAIM, _hits(TEXTS), top_n=3)) == 3
    scores = sorted(rr.score(CLAIM, TEXTS), reverse=True)
    cut = (scores[0] + scores[1]) / 2
    kept = rr.rerank(CLAIM, _hits(TEXTS), top_n=3, score_threshold=cut)
    assert [h.chunk.index for h in kept] == [1]
    assert rr.rerank(CLAIM, _hits(TEXTS), score_threshold=1.0) == []


def test_normalize_is_the_sigmoid_of_the_logits(reranker: Reranker, scifact_reranker: Path
                                                ) -> None:
    raw = reranker.score(CLAIM, TEXTS)
    norm = Reranker(scifact_reranker, device="cpu", normalize=True).score(CLAIM, TEXTS)
    assert np.allclose(norm, 1 / (1 + np.exp(-raw)), atol=1e-5)
    assert ((norm > 0) & (norm < 1)).all()


def test_ties_keep_first_stage_order_and_earlier_stage_values(scifact_reranker: Path) -> None:
    same = "Hip fractures fell with vitamin D in elderly people."
    hits = _hits([same, TEXTS[0], same])
    hits[2] = dataclasses.replace(hits[2], first_stage_score=0.5, first_stage_rank=7)
    out = Reranker(scifact_reranker, device="cpu", blend=None).rerank(CLAIM, hits)
    assert [h.chunk.index for h in out[:2]] == [0, 2]
    assert (out[1].first_stage_score, out[1].first_stage_rank) == (0.5, 7)


@pytest.mark.asyncio
async def test_concurrent_async_calls_match_sync(reranker: Reranker) -> None:
    sync = reranker.rerank(CLAIM, _hits(TEXTS))
    results = await asyncio.gather(*(reranker.arerank(CLAIM, _hits(TEXTS)) for _ in range(4)))
    for asyn in results:
        assert [h.id for h in asyn] == [h.id for h in sync]
        assert [h.score for h in asyn] == pytest.approx([h.score for h in sync], abs=1e-5)


def test_truncation_is_reported(scifact_reranker: Path) -> None:
    rr = Reranker(scifact_reranker, device="cpu", blend=DEFAULT_BLEND, max_length=48)
    with pytest.warns(TruncationWarning, match=r"1 of 2 .* exceed max_length=48"):
        rr.rerank(CLAIM, _hits(["short text", " ".join(["fracture"] * 100)]))


def test_bad_arguments_are_named(reranker: Reranker, scifact_reranker: Path, tmp_path) -> None:
    assert reranker.rerank(CLAIM, []) == []
    with pytest.raises(ValueError, match="non-empty query"):
        reranker.rerank("  ", _hits(TEXTS))
    with pytest.raises(ValueError, match="top_n"):
        reranker.rerank(CLAIM, _hits(TEXTS), top_n=0)
    with pytest.raises(ValueError, match="score_threshold"):
        reranker.rerank(CLAIM, _hits(TEXTS), score_threshold=math.nan)
    with pytest.raises(ValueError, match="backend='cohere' only"):
        Reranker(api_key="k")
    with pytest.raises(ValueError, match="position embeddings"):
        Reranker(scifact_reranker, device="cpu", blend=DEFAULT_BLEND, max_length=1024)
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        Reranker(tmp_path / "missing")
    with pytest.raises(ModelNotAvailableError, match="could not be loaded"):
        Reranker("embedweave-test/no-such-cross-encoder")


def test_multi_label_models_are_refused(scifact_reranker: Path, tmp_path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    src = scifact_reranker
    AutoModelForSequenceClassification.from_pretrained(
        src, num_labels=3, ignore_mismatched_sizes=True
    ).save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(src).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="outputs 3 scores per pair"):
        Reranker(tmp_path, device="cpu")


def test_reranking_bm25_lifts_mrr_on_unseen_scifact_claims(reranker: Reranker) -> None:
    """The model was trained on SciFact train; these are test claims it never saw."""
    data = load_scifact("test")
    qids = sorted(data.queries)[:25]
    texts = {d: data.doc_text(d) for d in data.corpus}
    cands = bm25_candidates(texts, {q: data.queries[q] for q in qids}, 10)
    before, after = [], []
    for q in qids:
        hits = [Hit(Chunk(d, 0, texts[d]), score=1.0) for d in cands[q]]
        reranked = [h.chunk.document_id for h in reranker.rerank(data.queries[q], hits)]
        before.append(mrr_at_k(cands[q], data.qrels[q], 10))
        after.append(mrr_at_k(reranked, data.qrels[q], 10))
    assert np.mean(after) > np.mean(before) + 0.03, (np.mean(before), np.mean(after))
