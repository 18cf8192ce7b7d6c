"""Cohere's hosted rerank endpoint (``POST /v2/rerank``) through the ``cohere`` client."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from embedweave.errors import EmbedweaveError

DEFAULT_MODEL = "rerank-v3.5"
DEFAULT_BASE_URL = "https://api.cohere.com"
#: Cohere advises at most 1,000 documents per request; larger lists are split.
MAX_DOCUMENTS_PER_REQUEST = 1000


class CohereRerankError(EmbedweaveError):
    """The Cohere rerank endpoint refused a request or answered something unusable."""


class CohereScorer:
    """Scores texts against a query with Cohere rerank (relevance scores in [0, 1]).

    Args:
        model: Cohere model name; default ``rerank-v3.5``.
        api_key: Key; default ``$CO_API_KEY`` then ``$COHERE_API_KEY``.
        base_url: API root; default ``$CO_API_URL`` or ``https://api.cohere.com``.
        timeout: Seconds per HTTP request.

    Raises:
        ValueError: when no API key is given or found in the environment.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        try:
            import cohere
        except ImportError as exc:
            raise CohereRerankError(
                "the cohere backend needs the 'cohere' package: pip install 'embedweave[cohere]'"
            ) from exc
        key = api_key or os.environ.get("CO_API_KEY") or os.environ.get("COHERE_API_KEY")
        if not key:
            raise ValueError(
                "the cohere backend needs an API key: pass api_key= or set CO_API_KEY"
            )
        self.name = model or DEFAULT_MODEL
        self.url = (base_url or os.environ.get("CO_API_URL") or DEFAULT_BASE_URL).rstrip("/")
        self._client = cohere.ClientV2(api_key=key, base_url=self.url, timeout=timeout)
        self._aclient = cohere.AsyncClientV2(api_key=key, base_url=self.url, timeout=timeout)

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """One relevance score per text, in input order."""
        out = np.zeros(len(texts))
        for start in range(0, len(texts), MAX_DOCUMENTS_PER_REQUEST):
            part = list(texts[start : start + MAX_DOCUMENTS_PER_REQUEST])
            try:
                resp = self._client.rerank(
                    model=self.name, query=query, documents=part, top_n=len(part)
                )
            except Exception as exc:
                raise self._error(exc) from exc
            out[start : start + len(part)] = self._parse(resp, len(part))
        return out

    async def ascore(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Async ``score`` (``cohere.AsyncClientV2``)."""
        out = np.zeros(len(texts))
        for start in range(0, len(texts), MAX_DOCUMENTS_PER_REQUEST):
            part = list(texts[start : start + MAX_DOCUMENTS_PER_REQUEST])
            try:
                resp = await self._aclient.rerank(
                    model=self.name, query=query, documents=part, top_n=len(part)
                )
            except Exception as exc:
                raise self._error(exc) from exc
            out[start : start + len(part)] = self._parse(resp, len(part))
        return out

    def _error(self, exc: Exception) -> CohereRerankError:
        status = getattr(exc, "status_code", None)
        body = getattr(exc, "body", None)
        what = f"HTTP {status}: {str(body)[:500]}" if status else f"{type(exc).__name__}: {exc}"
        return CohereRerankError(f"Cohere rerank at {self.url}/v2/rerank answered {what}")

    def _parse(self, resp: Any, n: int) -> np.ndarray:
        try:
            pairs = [(int(r.index), float(r.relevance_score)) for r in resp.results]
        except (AttributeError, TypeError, ValueError) as exc:
            raise CohereRerankError(f"Cohere rerank answered an unexpected body: {resp!r}"[:600]
                                    ) from exc
        scores = np.full(n, np.nan)
        for i, s in pairs:
            if not 0 <= i < n or not np.isnan(scores[i]):
                raise CohereRerankError(f"Cohere rerank returned a bad or repeated index {i}")
            scores[i] = s
        if np.isnan(scores).any():
            raise CohereRerankError(
                f"Cohere rerank scored {len(pairs)} of {n} documents; expected all"
            )
        return scores
