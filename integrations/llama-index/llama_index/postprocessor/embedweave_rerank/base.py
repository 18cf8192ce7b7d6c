"""``EmbedweaveRerank``: LlamaIndex ``BaseNodePostprocessor`` over the core ``Reranker``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle
from llama_index.vector_stores.embedweave.convert import with_retrieval_score

from embedweave.rerank import Reranker

dispatcher = get_dispatcher(__name__)


class EmbedweaveRerank(BaseNodePostprocessor):
    """Rerank retrieved nodes with a cross-encoder (or Cohere) through embedweave.

    Scoring, ``top_n`` and ``score_threshold`` are the core ``Reranker``'s; this class
    hands the nodes' texts (and retrieval scores, for ``blend``) to ``Reranker.rank``,
    maps the ranking back to the nodes, keeps each node's retrieval score in its
    metadata (``retrieval_score``, on a copy of the node and left out of the text
    embedders and LLMs see) and emits LlamaIndex's rerank start/end events.

    Example:
        ```python
        from llama_index.postprocessor.embedweave_rerank import EmbedweaveRerank

        rerank = EmbedweaveRerank(top_n=3)  # cross-encoder/ms-marco-MiniLM-L6-v2
        engine = index.as_query_engine(similarity_top_k=20, node_postprocessors=[rerank])
        ```

    Args:
        model: Cross-encoder path or Hugging Face id, ``"scifact-minilm"`` (the SciFact
            cross-encoder built by ``embedweave train reranker``), or a Cohere model name;
            ``None`` = ``cross-encoder/ms-marco-MiniLM-L6-v2`` (needs Hugging Face access
            or its files in the HF cache).
        top_n: Nodes to keep, best first; ``None`` keeps all.
        score_threshold: Drop nodes scoring below this.
        backend: ``"cross-encoder"`` (local) or ``"cohere"``.
        normalize: Map cross-encoder logits to [0, 1].
        batch_size: Pairs per model call.
        max_length: Token limit of a query + text pair.
        device: Torch device; ``None`` picks one.
        base_url: Cohere-compatible endpoint.
        api_key: Cohere API key; used, never stored or serialised.
        keep_retrieval_score: Record the pre-rerank score in node metadata.
        reranker: A ready core ``Reranker`` to wrap instead of building one (its model,
            backend and, unless given here, ``top_n`` / ``score_threshold`` are used).
    """

    model: str | None = Field(default=None, description="Reranker model; None = default.")
    top_n: int | None = Field(default=None, description="Nodes to return; None = all.")
    score_threshold: float | None = Field(
        default=None, description="Drop nodes whose rerank score is below this."
    )
    backend: Literal["cross-encoder", "cohere"] = Field(default="cross-encoder")
    normalize: bool = Field(default=False, description="Sigmoid-normalise scores.")
    batch_size: int = Field(default=32, gt=0)
    max_length: int = Field(default=512, gt=0)
    device: str | None = Field(default=None)
    base_url: str | None = Field(default=None, description="Cohere-compatible endpoint.")
    keep_retrieval_score: bool = Field(
        default=True, description="Keep the retrieval score in node metadata."
    )

    _reranker: Reranker = PrivateAttr()

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        top_n: int | None = None,
        score_threshold: float | None = None,
        backend: Literal["cross-encoder", "cohere"] = "cross-encoder",
        normalize: bool = False,
        batch_size: int = 32,
        max_length: int = 512,
        device: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        keep_retrieval_score: bool = True,
        reranker: Reranker | None = None,
        **kwargs: Any,
    ) -> None:
        if top_n is not None and top_n <= 0:
            raise ValueError(f"top_n must be a positive integer or None, got {top_n!r}")
        if reranker is not None:
            if not isinstance(reranker, Reranker):
                raise TypeError(
                    f"reranker must be an embedweave.rerank.Reranker, got {type(reranker).__name__}"
                )
            if model is not None or api_key is not None or base_url is not None:
                raise ValueError("pass either reranker= or model/api_key/base_url, not both")
            backend = reranker.backend
            top_n = reranker.top_n if top_n is None else top_n
            score_threshold = (
                reranker.score_threshold if score_threshold is None else score_threshold
            )
        fields: dict[str, Any] = dict(
            model=os.fspath(model) if model is not None else None,
            top_n=top_n,
            score_threshold=score_threshold,
            backend=backend,
            normalize=normalize,
            batch_size=batch_size,
            max_length=max_length,
            device=device,
            base_url=base_url,
            keep_retrieval_score=keep_retrieval_score,
        )
        super().__init__(**fields, **kwargs)
        self._reranker = reranker or Reranker(
            model,
            backend=backend,
            top_n=top_n,
            score_threshold=score_threshold,
            normalize=normalize,
            batch_size=batch_size,
            max_length=max_length,
            device=device,
            api_key=api_key,
            base_url=base_url,
        )

    @classmethod
    def class_name(cls) -> str:
        """Name LlamaIndex records when serialising this component."""
        return "EmbedweaveRerank"

    @property
    def reranker(self) -> Reranker:
        """The core ``Reranker`` doing the work."""
        return self._reranker

    @property
    def model_label(self) -> str:
        """Model name reported in events: the one given, else the core's resolved model."""
        return self.model or self._reranker.model_name

    def _postprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        query = self._start(nodes, query_bundle)
        with self._reranking(nodes, query) as finish:
            return finish(self._reranker.rank(query, **self._inputs(nodes)) if nodes else [])

    async def _apostprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        query = self._start(nodes, query_bundle)
        with self._reranking(nodes, query) as finish:
            ranked = await self._reranker.arank(query, **self._inputs(nodes)) if nodes else []
            return finish(ranked)

    @contextmanager
    def _reranking(
        self, nodes: list[NodeWithScore], query: str
    ) -> Iterator[Callable[[Sequence[tuple[int, float]]], list[NodeWithScore]]]:
        """The ``RERANKING`` callback event around a ranking, then ``ReRankEndEvent``.

        Yields the function turning the core's ranking into the returned nodes.
        """
        out: list[NodeWithScore] = []
        with self.callback_manager.event(
            CBEventType.RERANKING, payload=self._cb_payload(nodes, query)
        ) as event:

            def finish(ranked: Sequence[tuple[int, float]]) -> list[NodeWithScore]:
                out.extend(self._ranked(nodes, ranked))
                event.on_end(payload={EventPayload.NODES: out})
                return out

            yield finish
        dispatcher.event(ReRankEndEvent(nodes=out))

    def _start(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None) -> str:
        if query_bundle is None:
            raise ValueError("EmbedweaveRerank needs the query: pass query_bundle or query_str")
        dispatcher.event(
            ReRankStartEvent(
                query=query_bundle,
                nodes=nodes,
                top_n=self.top_n if self.top_n is not None else len(nodes),
                model_name=self.model_label,
            )
        )
        return query_bundle.query_str

    def _cb_payload(self, nodes: list[NodeWithScore], query: str) -> dict[str, Any]:
        return {
            EventPayload.NODES: nodes,
            EventPayload.MODEL_NAME: self.model_label,
            EventPayload.QUERY_STR: query,
            EventPayload.TOP_K: self.top_n,
        }

    def _inputs(self, nodes: Sequence[NodeWithScore]) -> dict[str, Any]:
        """``Reranker.rank`` arguments: the embed view of each node, retrieval scores."""
        return {
            "texts": [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes],
            "first_stage": [n.score or 0.0 for n in nodes],
            "top_n": self.top_n,
            "score_threshold": self.score_threshold,
        }

    def _ranked(
        self, nodes: Sequence[NodeWithScore], ranked: Sequence[tuple[int, float]]
    ) -> list[NodeWithScore]:
        out = []
        for i, score in ranked:
            original = nodes[i]
            node = (
                with_retrieval_score(original.node, original.score)
                if self.keep_retrieval_score
                else original.node
            )
            out.append(NodeWithScore(node=node, score=score))
        return out
