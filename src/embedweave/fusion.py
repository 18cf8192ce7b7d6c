"""Result fusion, one place for the query side and the stores: min-max normalisation,
relative-score fusion (what Weaviate's hybrid does) and (weighted) reciprocal rank fusion."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from embedweave.types import Hit


def minmax(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """Scale scores to [0, 1] over the list (all 1.0 when they are all equal).

    The normalisation of Weaviate's relative-score fusion; reranking's ``blend`` uses it
    too, so both stages are mixed on the same scale.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return s
    span = float(s.max() - s.min())
    return np.ones_like(s) if span == 0 else (s - s.min()) / span


def _minmax(hits: Sequence[Hit]) -> dict[str, float]:
    return dict(zip((h.id for h in hits), minmax([h.score for h in hits]).tolist(),
                    strict=True))


def relative_score_fusion(
    vector_hits: Sequence[Hit], keyword_hits: Sequence[Hit], alpha: float
) -> list[Hit]:
    """Min-max normalise each list and add them weighted by alpha (vector) and 1-alpha.

    Args:
        vector_hits: Results of the vector search, best first.
        keyword_hits: Results of the BM25 search, best first.
        alpha: Weight of the vector side in [0, 1].

    Returns:
        Fused hits, best first, ties broken by first appearance.
    """
    vec, kw = _minmax(vector_hits), _minmax(keyword_hits)
    by_id: dict[str, Hit] = {}
    spaces: dict[str, list[str]] = {}
    for h in list(vector_hits) + list(keyword_hits):
        by_id.setdefault(h.id, h)
        spaces.setdefault(h.id, [])
        spaces[h.id].extend(s for s in h.spaces if s not in spaces[h.id])
    fused = [
        Hit(
            by_id[i].chunk,
            alpha * vec.get(i, 0.0) + (1.0 - alpha) * kw.get(i, 0.0),
            tuple(spaces[i]),
        )
        for i in by_id
    ]
    order = sorted(range(len(fused)), key=lambda j: -fused[j].score)
    return [fused[j] for j in order]


def reciprocal_rank_fusion(
    result_lists: Sequence[Sequence[Hit]],
    k: int = 60,
    *,
    weights: Sequence[float] | None = None,
) -> list[Hit]:
    """Fuse ranked lists by sum of w / (k + rank); each hit keeps every space that found it.

    Args:
        result_lists: Ranked hit lists, best first (e.g. one per embedding space).
        k: RRF constant; larger values flatten the contribution of top ranks.
        weights: One weight per list (default 1 each), e.g. a space's share of trust.

    Returns:
        Fused hits, best first, with ``score`` = RRF score.
    """
    if k <= 0:
        raise ValueError(f"RRF k must be positive, got {k}")
    if weights is None:
        weights = [1.0] * len(result_lists)
    elif len(weights) != len(result_lists):
        raise ValueError(f"{len(weights)} weights for {len(result_lists)} result lists")
    scores: dict[str, float] = {}
    by_id: dict[str, Hit] = {}
    spaces: dict[str, list[str]] = {}
    for hits, weight in zip(result_lists, weights, strict=True):
        for rank, h in enumerate(hits):
            scores[h.id] = scores.get(h.id, 0.0) + weight / (k + rank + 1)
            by_id.setdefault(h.id, h)
            found = spaces.setdefault(h.id, [])
            found.extend(s for s in h.spaces if s not in found)
    order = sorted(scores, key=lambda i: -scores[i])
    return [Hit(by_id[i].chunk, scores[i], tuple(spaces[i])) for i in order]
