"""Second-stage reranking: rescore first-stage hits with a cross-encoder or Cohere.

A cross-encoder reads query and text together, so it sees interactions a bi-encoder or
BM25 cannot; it is too slow for a whole corpus, hence it reorders a few dozen candidates.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np

from embedweave.precision import Precision
from embedweave.rerank.blend import blend_scores, check_blend
from embedweave.rerank.cohere import CohereRerankError, CohereScorer
from embedweave.rerank.cross_encoder import (
    CrossEncoderRuntime,
    CrossEncoderScorer,
    TruncationWarning,
)
from embedweave.rerank.named import DEFAULT_RERANKER, NAMED_RERANKERS
from embedweave.types import Hit

__all__ = [
    "DEFAULT_RERANKER", "NAMED_RERANKERS", "CohereRerankError", "Reranker", "TruncationWarning",
]

Backend = Literal["cross-encoder", "cohere"]


class _Scorer(Protocol):
    name: str

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray: ...

    async def ascore(self, query: str, texts: Sequence[str]) -> np.ndarray: ...


class Reranker:
    """Reorders hits by a reranking model's relevance score.

    Args:
        model: Cross-encoder folder, Hugging Face id, or the name of a reranker built here
            (``"scifact-minilm"``, built by ``embedweave train reranker``); ``None`` = the
            general ``cross-encoder/ms-marco-MiniLM-L6-v2`` (needs Hugging Face access or
            its files in the HF cache). ``BAAI/bge-reranker-v2-m3`` is the multilingual
            pick. For Cohere a model name (``None`` = ``rerank-v3.5``).
        backend: ``"cross-encoder"`` (local, sentence-transformers) or ``"cohere"``.
        top_n: Default number of hits to keep; ``None`` keeps all.
        score_threshold: Default minimum rerank score to keep a hit; ``None`` keeps all.
            It applies to the model's own score (``rerank_score``), blended or not.
        blend: ``None`` orders by the rerank score alone. A weight in (0, 1] orders by
            ``blend * minmax(rerank) + (1 - blend) * minmax(first stage)`` over the
            candidate list, keeping what the first stage knew (useful when the reranker
            is weaker than, or different from, the first stage; see docs/reranking.md).
            ``"auto"``: the weight recorded for a named model built here (0.3 for
            ``scifact-minilm``, which alone ranks below its first stages); ``None`` for any
            other model.
        normalize: Cross-encoder only: sigmoid the logits into (0, 1), which makes one
            threshold meaningful across queries. Cohere scores are already in [0, 1].
        batch_size: Cross-encoder pairs per forward pass.
        max_length: Cross-encoder token limit of a (query, text) pair, capped at the
            model's own (the default model's is the length it was trained at); longer
            pairs are cut and reported with a ``TruncationWarning``.
        device: Cross-encoder torch device; ``None`` = CUDA when available, else CPU.
        precision: Cross-encoder arithmetic: ``auto`` (bf16 autocast where it beats fp32
            on the device: 2.3x on an AMD EPYC, same nDCG on 20 SciFact claims; else fp32),
            ``fp32`` or ``bf16``.
        runtime: What runs the cross-encoder: ``torch``, or ``openvino`` (CPU only,
            ``pip install 'embedweave[openvino]'``; converted once and cached, the same
            scores; a full query 1.9x faster than PyTorch bf16 on a 2-core Zen 5 CPU,
            docs/reranking.md). ``None`` (default): ``$EMBEDWEAVE_RUNTIME`` where the
            cross-encoder runs on the CPU, else ``torch``.
        api_key: Cohere key; default ``$CO_API_KEY``.
        base_url: Cohere API root; default ``https://api.cohere.com``.

    Raises:
        ValueError: on an unknown backend, a bad limit, or an option the backend ignores.
        ModelNotAvailableError: when the cross-encoder cannot be loaded.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        backend: Backend = "cross-encoder",
        top_n: int | None = None,
        score_threshold: float | None = None,
        normalize: bool = False,
        batch_size: int = 32,
        max_length: int = 512,
        device: str | None = None,
        precision: Precision = "auto",
        runtime: CrossEncoderRuntime | None = None,
        blend: float | Literal["auto"] | None = "auto",
        api_key: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self.top_n = _check_top_n(top_n)
        self.score_threshold = _check_threshold(score_threshold)
        if blend == "auto":
            named = NAMED_RERANKERS.get(model) if isinstance(model, str) else None
            blend = named.blend if named is not None and backend == "cross-encoder" else None
        self.blend = check_blend(blend)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_length < 2:
            raise ValueError(f"max_length must be >= 2, got {max_length}")
        self.backend = backend
        self._scorer: _Scorer
        if backend == "cross-encoder":
            if api_key is not None or base_url is not None:
                raise ValueError("api_key and base_url apply to backend='cohere' only")
            self._scorer = CrossEncoderScorer(
                model, batch_size=batch_size, max_length=max_length, device=device,
                normalize=normalize, precision=precision, runtime=runtime,
            )
        elif backend == "cohere":
            if device is not None or precision != "auto" or runtime is not None:
                raise ValueError(
                    "device, precision and runtime apply to backend='cross-encoder' only")
            if model is not None and not isinstance(model, str):
                raise ValueError(f"a Cohere model is a name, not a path: {model!r}")
            self._scorer = CohereScorer(model, api_key=api_key, base_url=base_url)
        else:
            raise ValueError(f"unknown reranker backend {backend!r}; use 'cross-encoder' or "
                             "'cohere'")

    @property
    def model_name(self) -> str:
        """The model's folder, Hugging Face id or Cohere name."""
        return self._scorer.name

    @property
    def max_length(self) -> int | None:
        """Token limit in effect for the cross-encoder (``None`` for Cohere)."""
        return getattr(self._scorer, "max_length", None)

    @property
    def precision(self) -> str | None:
        """Cross-encoder arithmetic in effect, ``fp32`` or ``bf16`` (``None`` for Cohere)."""
        return getattr(self._scorer, "precision", None)

    @property
    def runtime(self) -> str | None:
        """What runs the cross-encoder, ``torch`` or ``openvino`` (``None`` for Cohere)."""
        return getattr(self._scorer, "runtime", None)

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Relevance score of each text for ``query``, in input order."""
        _check_query(query)
        return self._scorer.score(query, list(texts))

    def rank(
        self,
        query: str,
        texts: Sequence[str],
        *,
        first_stage: Sequence[float] | None = None,
        top_n: int | None = None,
        score_threshold: float | None = None,
    ) -> list[tuple[int, float]]:
        """Plain texts ranked for ``query``: ``(position in texts, score)``, best first.

        For callers holding their own objects (a framework's documents or nodes): they
        map positions back, nothing else is built.

        Args:
            query: The query.
            texts: Candidate texts, in first-stage order.
            first_stage: Their first-stage scores, for ``blend``; ``None`` = the input
                order stands in.
            top_n: Keep at most this many; default the constructor's ``top_n``.
            score_threshold: Drop texts whose model score is below it; default the
                constructor's.

        Returns:
            ``score`` is the rerank score, or the blended score with ``blend``.
        """
        _check_query(query)
        texts, first = _check_texts(texts, first_stage)
        limit, threshold = self._limits(top_n, score_threshold)
        if not texts:
            return []
        return _ranking(self._scorer.score(query, texts), first, limit, threshold, self.blend)

    async def arank(
        self,
        query: str,
        texts: Sequence[str],
        *,
        first_stage: Sequence[float] | None = None,
        top_n: int | None = None,
        score_threshold: float | None = None,
    ) -> list[tuple[int, float]]:
        """Async ``rank``: the cross-encoder runs in a worker thread, Cohere over async HTTP."""
        _check_query(query)
        texts, first = _check_texts(texts, first_stage)
        limit, threshold = self._limits(top_n, score_threshold)
        if not texts:
            return []
        scores = await self._scorer.ascore(query, texts)
        return _ranking(scores, first, limit, threshold, self.blend)

    def rerank(
        self,
        query: str,
        hits: Sequence[Hit],
        *,
        top_n: int | None = None,
        score_threshold: float | None = None,
    ) -> list[Hit]:
        """Hits reordered by rerank score, best first.

        Args:
            query: The query the hits were retrieved for.
            hits: First-stage hits, best first (their order gives ``first_stage_rank``).
            top_n: Keep at most this many; default the constructor's ``top_n``.
            score_threshold: Drop hits scoring below it; default the constructor's.

        Returns:
            New ``Hit`` objects: ``score`` is the rerank score (or the blended score with
            ``blend``), ``rerank_score`` the model's own; ``first_stage_score`` and
            ``first_stage_rank`` keep earlier values when set, else the input score and
            position. Ties keep first-stage order.
        """
        _check_query(query)
        hits = list(hits)
        limit, threshold = self._limits(top_n, score_threshold)
        if not hits:
            return []
        scores = self._scorer.score(query, [h.chunk.text for h in hits])
        return _order(hits, scores, limit, threshold, self.blend)

    async def arerank(
        self,
        query: str,
        hits: Sequence[Hit],
        *,
        top_n: int | None = None,
        score_threshold: float | None = None,
    ) -> list[Hit]:
        """Async ``rerank``: the cross-encoder runs in a worker thread, Cohere over async HTTP."""
        _check_query(query)
        hits = list(hits)
        limit, threshold = self._limits(top_n, score_threshold)
        if not hits:
            return []
        scores = await self._scorer.ascore(query, [h.chunk.text for h in hits])
        return _order(hits, scores, limit, threshold, self.blend)

    def _limits(
        self, top_n: int | None, score_threshold: float | None
    ) -> tuple[int | None, float | None]:
        limit = self.top_n if top_n is None else _check_top_n(top_n)
        threshold = (
            self.score_threshold if score_threshold is None else _check_threshold(score_threshold)
        )
        return limit, threshold

    def __repr__(self) -> str:
        return (f"Reranker(model={self.model_name!r}, backend={self.backend!r}, "
                f"top_n={self.top_n}, score_threshold={self.score_threshold}, "
                f"blend={self.blend})")


def _ranking(
    scores: np.ndarray,
    first: Sequence[float],
    top_n: int | None,
    threshold: float | None,
    blend: float | None,
) -> list[tuple[int, float]]:
    """(position, final score), best first; ties keep input order; threshold on ``scores``."""
    final = scores if blend is None else blend_scores(scores, np.array(first), blend)
    order = sorted(range(len(final)), key=lambda i: (-float(final[i]), i))
    ranked = [(i, float(final[i])) for i in order
              if threshold is None or float(scores[i]) >= threshold]
    return ranked if top_n is None else ranked[:top_n]


def _order(
    hits: list[Hit],
    scores: np.ndarray,
    top_n: int | None,
    threshold: float | None,
    blend: float | None = None,
) -> list[Hit]:
    first = [h.score if h.first_stage_score is None else h.first_stage_score for h in hits]
    return [
        dataclasses.replace(
            hits[i],
            score=final,
            rerank_score=float(scores[i]),
            first_stage_score=first[i],
            first_stage_rank=i if hits[i].first_stage_rank is None else hits[i].first_stage_rank,
        )
        for i, final in _ranking(scores, first, top_n, threshold, blend)
    ]


def _check_texts(
    texts: Sequence[str], first_stage: Sequence[float] | None
) -> tuple[list[str], list[float]]:
    if isinstance(texts, str):
        raise TypeError("rank takes a list of texts, not one string")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"text at index {i} is {type(t).__name__}, not str")
    if first_stage is None:
        return texts, [0.0] * len(texts)
    first = [float(x) for x in first_stage]
    if len(first) != len(texts):
        raise ValueError(f"got {len(first)} first-stage scores for {len(texts)} texts")
    return texts, first


def _check_query(query: str) -> None:
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"rerank needs a non-empty query string, got {query!r}")


def _check_top_n(top_n: int | None) -> int | None:
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int)
                              or top_n < 1):
        raise ValueError(f"top_n must be a positive int or None, got {top_n!r}")
    return top_n


def _check_threshold(threshold: float | None) -> float | None:
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(
        threshold
    ):
        raise ValueError(f"score_threshold must be a finite number or None, got {threshold!r}")
    return float(threshold)
