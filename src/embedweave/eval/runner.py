"""Run a retrieval pipeline over a BEIR dataset through the real store, and score it.

``EvalRunner`` indexes the corpus with ``pipeline.Index`` (one chunk per document, as
BEIR/MTEB embed them) into Weaviate (HNSW) or the exact ``MemoryStore``, retrieves with
``pipeline.Retriever`` and scores with ``eval.metrics``. Datasets come from
``eval.datasets``, pipelines from ``eval.configs``; results print, save and plot
through ``eval.reports`` (all of their names are importable from here too).

Costly parts are cached: corpus embeddings in the shared ``EmbeddingCache`` (keyed by
model fingerprint and text hash; truncated dims are derived from the cached full-dims
vectors), and Weaviate collections named by a hash of the corpus and the index config
(kept unless ``keep=False``), so a rerun or a sweep over alpha re-embeds nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from embedweave.errors import EmbedweaveError
from embedweave.eval.beir import BeirDataset
from embedweave.eval.configs import Mode, PipelineConfig, sweep_configs
from embedweave.eval.datasets import BEIR_URL, dataset_checksum, load_dataset, resolve_dataset
from embedweave.eval.metrics import evaluate
from embedweave.eval.progress import disable_progress
from embedweave.eval.reports import (
    TABLE_METRICS,
    EvalResult,
    plot_results,
    results_table,
    swept_field,
    write_json,
)
from embedweave.types import Chunk

if TYPE_CHECKING:
    from embedweave.backends import Runtime
    from embedweave.routing import Router
    from embedweave.server import ManagedWeaviate
    from embedweave.store.base import Store
    from embedweave.store.config import HnswConfig

logger = logging.getLogger(__name__)

DEFAULT_K_VALUES = (1, 3, 5, 10, 100)
#: Chunks indexed per step (progress granularity, bounded memory).
INDEX_WINDOW = 256


class EvalRunner:
    """Evaluate pipelines on one dataset through a real store.

    Args:
        dataset: A loaded ``BeirDataset`` (``load_dataset``).
        store: ``"weaviate"`` (HNSW; needs ``url`` or ``server``) or ``"memory"`` (exact).
        url: Weaviate base URL; ``grpc_port``/``api_key`` with it.
        server: A started ``ManagedWeaviate`` instead of ``url``.
        hnsw: HNSW settings of new collections (default ``HnswConfig()``).
        k_values: Cut-offs of every metric; the largest is how many hits are retrieved.
        keep: Keep Weaviate collections for the next run (named by corpus + index hash).
        cache: Use the persistent embedding cache.
        show_progress: Progress bars: True, False, or None (when on a terminal).
        batch_size: Queries embedded and searched per step.
    """

    def __init__(
        self,
        dataset: BeirDataset,
        *,
        store: Literal["weaviate", "memory"] = "weaviate",
        url: str | None = None,
        grpc_port: int | None = None,
        api_key: str | None = None,
        server: ManagedWeaviate | None = None,
        hnsw: HnswConfig | None = None,
        k_values: Iterable[int] = DEFAULT_K_VALUES,
        keep: bool = True,
        cache: bool = True,
        show_progress: bool | None = None,
        batch_size: int = 64,
    ) -> None:
        if store not in ("weaviate", "memory"):
            raise ValueError(f"store must be 'weaviate' or 'memory', got {store!r}")
        if store == "weaviate" and url is None and server is None:
            raise ValueError("store='weaviate' needs url= or server=")
        self.dataset = dataset
        self.store_kind = store
        self._url, self._grpc_port, self._api_key, self._server = url, grpc_port, api_key, server
        from embedweave.store.config import HnswConfig

        self.hnsw = hnsw or HnswConfig()
        self.k_values = tuple(sorted(set(int(k) for k in k_values)))
        if not self.k_values or self.k_values[0] <= 0:
            raise ValueError(f"k_values must be positive integers, got {k_values!r}")
        self.keep = keep
        self.show_progress = show_progress
        self.batch_size = batch_size
        self.checksum = dataset_checksum(dataset)
        self._cache: Any = None
        if cache:
            from embedweave.cache import EmbeddingCache

            self._cache = EmbeddingCache()
        self._routers: dict[str, Router] = {}
        self._memory: dict[str, Store] = {}
        self._doc_ids = dataset.doc_ids()
        self._texts = [dataset.doc_text(d) for d in self._doc_ids]
        empty = [d for d, t in zip(self._doc_ids, self._texts, strict=True) if not t.strip()]
        if empty:
            raise ValueError(f"{len(empty)} corpus documents have no text, e.g. {empty[:3]}")

    # -- building blocks ---------------------------------------------------------------
    def router(self, config: PipelineConfig) -> Router:
        """The router of a config (built once per index key)."""
        from embedweave.routing import Router

        key = json.dumps(config.index_key(), sort_keys=True, default=str)
        if key not in self._routers:
            self._routers[key] = Router.from_settings(
                model=config.model, dims=config.dims, routing=config.routing, cache=self._cache
            )
        return self._routers[key]

    def collection_name(self, config: PipelineConfig) -> str:
        """Weaviate collection for (corpus, index config, HNSW settings)."""
        router = self.router(config)
        spaces = router.vector_spaces(funnel_dims=config.funnel[0] if config.funnel else None)
        blob = json.dumps({"data": self.checksum, "spaces": [s.to_dict() for s in spaces],
                           "hnsw": self.hnsw.to_dict()}, sort_keys=True)
        return "Eval_" + hashlib.sha256(blob.encode()).hexdigest()[:16]

    def _open_store(self, config: PipelineConfig) -> tuple[Store, bool, str]:
        """(store, needs indexing, description)."""
        router = self.router(config)
        spaces = router.vector_spaces(funnel_dims=config.funnel[0] if config.funnel else None)
        name = self.collection_name(config)
        if self.store_kind == "memory":
            from embedweave.store.memory import MemoryStore

            if name not in self._memory:
                self._memory[name] = MemoryStore(spaces)
            store = self._memory[name]
            return store, store.count() != len(self._doc_ids), "memory (exact search)"
        ws = self._weaviate(name, spaces)
        count = ws.count()
        if count not in (0, len(self._doc_ids)):
            logger.warning("collection %s holds %d of %d docs; rebuilding", name, count,
                           len(self._doc_ids))
            ws.drop()
            ws.close()
            ws = self._weaviate(name, spaces)
            count = 0
        version = self._server_version()
        h = self.hnsw
        ef = (f"dynamic {h.dynamic_ef_min}..{h.dynamic_ef_max}" if h.ef == -1 else str(h.ef))
        desc = (f"weaviate {version} HNSW (ef {ef}, efConstruction {h.ef_construction}, "
                f"maxConnections {h.max_connections}, quantization {h.quantization})")
        return ws, count != len(self._doc_ids), desc

    def _weaviate(self, name: str, spaces: Sequence[Any], *, create: bool = True) -> Any:
        from embedweave.store.weaviate import WeaviateStore

        return WeaviateStore(name, spaces, url=self._url, grpc_port=self._grpc_port,
                             api_key=self._api_key, server=self._server, hnsw=self.hnsw,
                             create=create)

    def _server_version(self) -> str:
        """Version the Weaviate server reports (for the result's ``store`` line)."""
        import httpx

        if self._server is not None:
            return str(self._server.server_version())
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        resp = httpx.get(f"{str(self._url).rstrip('/')}/v1/meta", headers=headers, timeout=10.0)
        resp.raise_for_status()
        return str(resp.json().get("version", "unknown"))

    def _prefill_truncated(self, router: Router) -> None:
        """Put truncated-dims corpus vectors in the cache, derived from cached full ones.

        Truncate-then-renormalise equals what a truncating ``Embedder`` computes, so a
        dims sweep embeds the corpus once at full dims instead of once per dims.
        """
        if self._cache is None:
            return
        from embedweave.cache import sha256_text
        from embedweave.embedding import Embedder
        from embedweave.matryoshka import truncate

        for space in router.spaces:
            emb = router.embedder(space)
            if not emb.truncating or emb.layer_norm or not emb.normalize:
                continue
            prompt = emb.document_prompt
            hashes = [sha256_text(t) for t in self._texts]
            found = self._cache.get(emb.fingerprint, emb.dims, prompt, hashes)
            missing = [i for i, v in enumerate(found) if v is None]
            if not missing:
                continue
            local = emb.runtime != "api"
            full = Embedder(emb.spec, batch_size=emb.batch_size, device=emb.device,
                            document_prompt=prompt, query_prompt=emb.query_prompt,
                            cache=self._cache,
                            runtime=cast("Runtime", emb.runtime) if local else None)
            vecs = self._embed_progress(full, [self._texts[i] for i in missing],
                                        f"embedding {full.model_name}")
            self._cache.put(emb.fingerprint, emb.dims, prompt, [hashes[i] for i in missing],
                            truncate(vecs, emb.dims))

    def _embed_progress(self, emb: Any, texts: list[str], desc: str) -> np.ndarray:
        from tqdm import tqdm

        out = []
        with tqdm(total=len(texts), desc=desc, unit="doc",
                  disable=disable_progress(self.show_progress)) as bar:
            for s in range(0, len(texts), INDEX_WINDOW):
                out.append(emb.embed_documents(texts[s:s + INDEX_WINDOW]))
                bar.update(min(INDEX_WINDOW, len(texts) - s))
        return np.concatenate(out) if out else np.zeros((0, emb.dims), np.float32)

    def index(self, config: PipelineConfig) -> tuple[Store, float, str]:
        """Open the config's store, indexing the corpus when it is not there yet."""
        import warnings

        from tqdm import tqdm

        from embedweave.embedding import TruncationWarning
        from embedweave.pipeline import Index

        store, needed, desc = self._open_store(config)
        if not needed:
            return store, 0.0, desc
        router = self.router(config)
        started = time.perf_counter()
        self._prefill_truncated(router)
        index = Index(store, router)
        chunks = [Chunk(document_id=d, index=0, text=t)
                  for d, t in zip(self._doc_ids, self._texts, strict=True)]
        truncated = 0
        with tqdm(total=len(chunks), desc=f"indexing {config.label}", unit="doc",
                  disable=disable_progress(self.show_progress)) as bar:
            for s in range(0, len(chunks), INDEX_WINDOW):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", TruncationWarning)
                    index.add_chunks(chunks[s:s + INDEX_WINDOW])
                for w in caught:
                    if issubclass(w.category, TruncationWarning):
                        truncated += 1
                    else:
                        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
                bar.update(min(INDEX_WINDOW, len(chunks) - s))
        seconds = time.perf_counter() - started
        if truncated:
            logger.info("some documents exceeded the model window and were truncated "
                        "(as in BEIR/MTEB)")
        return store, seconds, desc

    def run(self, config: PipelineConfig) -> EvalResult:
        """Index (if needed), retrieve every query, score."""
        from tqdm import tqdm

        from embedweave.pipeline import Retriever

        store, index_seconds, desc = self.index(config)
        try:
            reranker = None
            if config.rerank:
                from embedweave.rerank import Reranker

                reranker = Reranker(None if config.rerank == "default" else config.rerank)
            k = max(self.k_values)
            retriever = Retriever(
                store, self.router(config), mode=config.mode, alpha=config.alpha, k=k,
                rrf_k=config.rrf_k, funnel=config.funnel, reranker=reranker,
                candidates=max(config.candidates, k) if config.funnel is None else max(
                    config.funnel[1], k),
            )  # fmt: skip
            qids = list(self.dataset.queries)
            run: dict[str, list[str]] = {}
            started = time.perf_counter()
            with tqdm(total=len(qids), desc=f"querying {config.label}", unit="query",
                      disable=disable_progress(self.show_progress)) as bar:
                for s in range(0, len(qids), self.batch_size):
                    batch = qids[s:s + self.batch_size]
                    hits = retriever.retrieve_many([self.dataset.queries[q] for q in batch])
                    for q, hs in zip(batch, hits, strict=True):
                        run[q] = list(dict.fromkeys(h.chunk.document_id for h in hs))
                    bar.update(len(batch))
            query_seconds = time.perf_counter() - started
        finally:
            if self.store_kind == "weaviate":
                if not self.keep:
                    store.drop()
                store.close()
        metrics = evaluate(run, self.dataset.qrels, k_values=self.k_values)
        from embedweave.eval.metrics import per_query

        return EvalResult(
            config=config, dataset=self.dataset.name, split=self.dataset.split, metrics=metrics,
            n_docs=len(self._doc_ids), n_queries=len(qids), store=desc,
            index_seconds=index_seconds, query_seconds=query_seconds,
            per_query=per_query(run, self.dataset.qrels, "ndcg", 10) if 10 in self.k_values
            else {},
        )  # fmt: skip

    def sweep(self, configs: Sequence[PipelineConfig]) -> list[EvalResult]:
        """``run`` for each config, in order (collections shared where the index is)."""
        return [self.run(c) for c in configs]

    def drop_collections(self, configs: Sequence[PipelineConfig]) -> int:
        """Delete the kept Weaviate collections of these configs; return how many existed."""
        if self.store_kind != "weaviate":
            return 0
        names = {self.collection_name(c) for c in configs}
        dropped = 0
        for name in names:
            try:
                ws = self._weaviate(name, (), create=False)
            except EmbedweaveError:
                continue
            ws.drop()
            ws.close()
            dropped += 1
        return dropped


def evaluate_pipeline(dataset: BeirDataset, config: PipelineConfig, **runner_args: Any
                      ) -> EvalResult:
    """One-shot ``EvalRunner(dataset, **runner_args).run(config)``."""
    return EvalRunner(dataset, **runner_args).run(config)


__all__ = [
    "BEIR_URL",
    "DEFAULT_K_VALUES",
    "TABLE_METRICS",
    "EvalResult",
    "EvalRunner",
    "Mode",
    "PipelineConfig",
    "dataset_checksum",
    "evaluate_pipeline",
    "load_dataset",
    "plot_results",
    "resolve_dataset",
    "results_table",
    "sweep_configs",
    "swept_field",
    "write_json",
]
