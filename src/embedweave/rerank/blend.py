"""Blend rerank scores with first-stage scores (relative-score fusion of the two stages)."""

from __future__ import annotations

import math

import numpy as np

from embedweave.fusion import minmax

__all__ = ["blend_scores", "check_blend", "minmax"]


def blend_scores(rerank: np.ndarray, first_stage: np.ndarray, weight: float) -> np.ndarray:
    """``weight * minmax(rerank) + (1 - weight) * minmax(first_stage)``.

    Both stages are min-max normalised over the candidate list, as Weaviate's
    relative-score fusion does for hybrid search, so a cross-encoder's logits and a BM25
    or cosine score can be mixed. When the first-stage scores are all equal (hits that
    came without scores), their input order stands in: rank 0 -> 1.0, last -> 0.0.

    Args:
        rerank: Rerank scores, in candidate order.
        first_stage: First-stage scores, same order.
        weight: Share of the rerank score in (0, 1]; 1 = rerank score only.

    Raises:
        ValueError: on a weight outside (0, 1] or lists of different lengths.
    """
    check_blend(weight)
    r = np.asarray(rerank, dtype=np.float64)
    f = np.asarray(first_stage, dtype=np.float64)
    if r.shape != f.shape:
        raise ValueError(f"{r.shape[0]} rerank scores but {f.shape[0]} first-stage scores")
    if f.size > 1 and float(f.max() - f.min()) == 0:
        f = -np.arange(f.size, dtype=np.float64)
    return weight * minmax(r) + (1.0 - weight) * minmax(f)


def check_blend(weight: float | None) -> float | None:
    """Validate a blend weight: ``None`` (off) or a number in (0, 1]."""
    if weight is None:
        return None
    if (isinstance(weight, bool) or not isinstance(weight, (int, float))
            or not math.isfinite(weight) or not 0 < weight <= 1):
        raise ValueError(f"blend must be in (0, 1] or None, got {weight!r}")
    return float(weight)
