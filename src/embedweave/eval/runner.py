"""Run a retrieval pipeline over a BEIR dataset through the real store, and report.

A ``PipelineConfig`` names one pipeline: a model (at some Matryoshka dims) or a route
table, and a search: dense, keyword (BM25), hybrid with ``alpha``, funnel, rerank.
``EvalRunner`` indexes the corpus with ``pipeline.Index`` (one chunk per document, as
BEIR/MTEB embed them) into Weaviate (HNSW) or the exact ``MemoryStore``, retrieves with
``pipeline.Retriever`` and scores with ``eval.metrics``. Results print as a table,
save as JSON, and plot as a PNG for sweeps.

Costly parts are cached: corpus embeddings in the shared ``EmbeddingCache`` (keyed by
model fingerprint and text hash; truncated dims are derived from the cached full-dims
vectors), and Weaviate collections named by a hash of the corpus and the index config
(kept unless ``keep=False``), so a rerun or a sweep over alpha re-embeds nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embedweave import paths
from embedweave.errors import EmbedweaveError
from embedweave.eval.beir import BeirDataset, load_beir
from embedweave.eval.metrics import evaluate
from embedweave.types import Chunk

if TYPE_CHECKING:
    from embedweave.routing import Router
    from embedweave.server import ManagedWeaviate
    from embedweave.store.base import Store
    from embedweave.store.config import HnswConfig

logger = logging.getLogger(__name__)

Mode = Literal["vector", "keyword", "hybrid"]

#: Where BEIR's datasets are published (``<name>.zip``); ``$EMBEDWEAVE_BEIR_URL`` overrides.
BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets"
DEFAULT_K_VALUES = (1, 3, 5, 10, 100)
#: Columns of the printed table.
TABLE_METRICS = ("ndcg@10", "mrr@10", "recall@10", "recall@100", "map@100")
#: Chunks indexed per step (progress granularity, bounded memory).
INDEX_WINDOW = 256


# ---------------------------------------------------------------------------------------
# Datasets: a folder, or a BEIR name (shared data dir, cache, then download).


def resolve_dataset(name_or_path: str | os.PathLike[str], *, base_url: str | None = None,
                    show_progress: bool | None = None) -> Path:
    """A BEIR dataset folder from a path or a BEIR dataset name.

    A name (``scifact``, ``nfcorpus``...) is looked up in the evaluation data dir
    (``$EMBEDWEAVE_DATA_DIR``), then in ``<cache>/beir/``, then downloaded from
    ``base_url`` (default ``$EMBEDWEAVE_BEIR_URL`` or BEIR's server) and unpacked there.

    Raises:
        FileNotFoundError: a path that is not a BEIR folder.
        EmbedweaveError: the download failed (the message names the URL).
    """
    text = os.fspath(name_or_path)
    p = Path(text).expanduser()
    if p.exists() or os.sep in text or text.startswith((".", "~")):
        if not (p / "corpus.jsonl").is_file():
            raise FileNotFoundError(
                f"{p} is not a BEIR dataset folder (needs corpus.jsonl, queries.jsonl, qrels/)"
            )
        return p
    name = text
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ValueError(f"{name!r} is neither a folder nor a BEIR dataset name")
    try:
        shared = paths.data_dir() / name
        if (shared / "corpus.jsonl").is_file():
            return shared
    except FileNotFoundError:
        pass
    cached = paths.cache_dir() / "beir" / name
    if (cached / "corpus.jsonl").is_file():
        return cached
    return _download(name, cached, base_url, show_progress)


def _download(name: str, target: Path, base_url: str | None,
              show_progress: bool | None) -> Path:
    import httpx
    from tqdm import tqdm

    base = (base_url or os.environ.get("EMBEDWEAVE_BEIR_URL") or BEIR_URL).rstrip("/")
    url = f"{base}/{name}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
        archive = Path(tmp) / f"{name}.zip"
        try:
            with httpx.stream("GET", url, follow_redirects=True, timeout=60.0) as resp:
                if resp.status_code != 200:
                    raise EmbedweaveError(
                        f"BEIR dataset {name!r}: GET {url} answered HTTP {resp.status_code}"
                    )
                total = int(resp.headers.get("content-length") or 0) or None
                with open(archive, "wb") as f, tqdm(
                    total=total, unit="B", unit_scale=True, desc=f"downloading {name}",
                    disable=_disable(show_progress),
                ) as bar:
                    for block in resp.iter_bytes(1 << 16):
                        f.write(block)
                        bar.update(len(block))
        except httpx.HTTPError as exc:
            raise EmbedweaveError(f"BEIR dataset {name!r}: cannot download {url}: {exc}") from exc
        try:
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp)
        except zipfile.BadZipFile as exc:
            raise EmbedweaveError(f"BEIR dataset {name!r}: {url} is not a zip file") from exc
        found = [c.parent for c in Path(tmp).rglob("corpus.jsonl")]
        if not found:
            raise EmbedweaveError(f"BEIR dataset {name!r}: {url} holds no corpus.jsonl")
        if target.exists():  # another process finished first
            return target
        shutil.move(str(found[0]), str(target))
    return target


def load_dataset(name_or_path: str | os.PathLike[str], split: str = "test", *,
                 max_queries: int | None = None) -> BeirDataset:
    """``resolve_dataset`` + ``load_beir``; optionally only the first ``max_queries`` queries."""
    data = load_beir(resolve_dataset(name_or_path), split)
    if max_queries is not None:
        if max_queries <= 0:
            raise ValueError(f"max_queries must be positive, got {max_queries}")
        keep = list(data.queries)[:max_queries]
        data = dataclasses.replace(
            data,
            queries={q: data.queries[q] for q in keep},
            qrels={q: data.qrels[q] for q in keep},
        )
    return data


def dataset_checksum(data: BeirDataset) -> str:
    """sha256 over the corpus ids and texts (what the index is built from)."""
    h = hashlib.sha256(data.name.encode())
    for doc_id in data.corpus:
        h.update(b"\x00" + doc_id.encode() + b"\x1f" + data.doc_text(doc_id).encode())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------
# Pipeline configurations.


@dataclass(frozen=True)
class PipelineConfig:
    """One retrieval pipeline to evaluate.

    Attributes:
        model: Embedding model (bundled name, HF id, folder); ignored with ``routing``.
        dims: Matryoshka dims; ``None`` = native.
        routing: Route table (YAML path or dict form) instead of one model.
        mode: ``vector`` (dense), ``keyword`` (BM25) or ``hybrid``.
        alpha: Hybrid weight of the vector side (0 = BM25, 1 = vector).
        funnel: ``(dims, shortlist)`` funnel search (mode ``vector`` only).
        rerank: Cross-encoder to rerank with: ``"default"`` (``Reranker()``'s general
            model), a reranker built here (``"scifact-minilm"``), a folder or a HF id;
            ``None`` = no reranking.
        candidates: First-stage hits per space (and reranked) before cutting to k.
        rrf_k: Reciprocal-rank-fusion constant when several spaces are searched.
        name: Label in tables and plots (default: derived).
    """

    model: str = "minilm"
    dims: int | None = None
    routing: str | Mapping[str, Any] | None = None
    mode: Mode = "vector"
    alpha: float = 0.5
    funnel: tuple[int, int] | None = None
    rerank: str | None = None
    candidates: int = 100
    rrf_k: int = 60
    name: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("vector", "keyword", "hybrid"):
            raise ValueError(f"mode must be vector, keyword or hybrid, got {self.mode!r}")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {self.alpha}")
        if self.funnel is not None and self.mode != "vector":
            raise ValueError("funnel applies to mode 'vector' only")
        if self.candidates <= 0:
            raise ValueError(f"candidates must be positive, got {self.candidates}")

    @property
    def label(self) -> str:
        """Short human label, e.g. ``minilm hybrid a=0.5`` or ``wordllama-256@64 dense``."""
        if self.name:
            return self.name
        if self.routing is not None:
            src = Path(self.routing).name if isinstance(self.routing, (str, os.PathLike)) else (
                "table")
            base = f"routing:{src}"
        else:
            base = self.model + (f"@{self.dims}" if self.dims else "")
        if self.mode == "keyword":
            out = "bm25"
        elif self.mode == "hybrid":
            out = f"{base} hybrid a={self.alpha:g}"
        elif self.funnel:
            out = f"{base} funnel {self.funnel[0]}:{self.funnel[1]}"
        else:
            out = f"{base} dense"
        if self.rerank:
            out += f" +rerank({'default' if self.rerank == 'default' else Path(self.rerank).name})"
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain form for JSON."""
        out = dataclasses.asdict(self)
        out["funnel"] = list(self.funnel) if self.funnel else None
        if isinstance(self.routing, os.PathLike):
            out["routing"] = os.fspath(self.routing)
        out["label"] = self.label
        return out

    def index_key(self) -> dict[str, Any]:
        """What determines the indexed vectors (not the search settings)."""
        routing: Any = self.routing
        if isinstance(routing, (str, os.PathLike)):
            routing = Path(routing).read_text(encoding="utf-8")
        return {"model": None if routing else self.model, "dims": self.dims,
                "routing": routing, "funnel_dims": self.funnel[0] if self.funnel else None}


def sweep_configs(base: PipelineConfig, **values: Sequence[Any]) -> list[PipelineConfig]:
    """Configs varying one or more fields over a grid, e.g. ``alpha=[0, .25, .5, .75, 1]``."""
    configs = [base]
    for key, options in values.items():
        if not hasattr(base, key):
            raise ValueError(f"PipelineConfig has no field {key!r}")
        configs = [dataclasses.replace(c, **{key: v}) for c in configs for v in options]
    return configs


# ---------------------------------------------------------------------------------------
# Results.


@dataclass
class EvalResult:
    """Scores of one pipeline on one dataset split.

    Attributes:
        config: The pipeline.
        dataset: Dataset name; ``split``: qrels split.
        metrics: Means over judged queries, ``"ndcg@10"`` etc., in [0, 1].
        n_docs: Corpus size; ``n_queries``: judged queries evaluated.
        store: What served the searches (Weaviate version and HNSW settings, or exact).
        index_seconds: Time to embed and write the corpus (0 when reused).
        query_seconds: Time to retrieve every query (embedding included).
        per_query: nDCG@10 of each query.
    """

    config: PipelineConfig
    dataset: str
    split: str
    metrics: dict[str, float]
    n_docs: int
    n_queries: int
    store: str
    index_seconds: float
    query_seconds: float
    per_query: dict[str, float] = field(default_factory=dict)

    @property
    def queries_per_second(self) -> float:
        """Retrieval throughput."""
        return self.n_queries / self.query_seconds if self.query_seconds > 0 else float("inf")

    def to_dict(self, *, per_query: bool = False) -> dict[str, Any]:
        """Plain form for JSON (metrics in [0, 1])."""
        out = {
            "config": self.config.to_dict(), "dataset": self.dataset, "split": self.split,
            "metrics": self.metrics, "n_docs": self.n_docs, "n_queries": self.n_queries,
            "store": self.store, "index_seconds": round(self.index_seconds, 3),
            "query_seconds": round(self.query_seconds, 3),
            "queries_per_second": round(self.queries_per_second, 2),
        }  # fmt: skip
        if per_query:
            out["per_query_ndcg@10"] = self.per_query
        return out


def results_table(results: Sequence[EvalResult], metrics: Sequence[str] = TABLE_METRICS) -> str:
    """A fixed-width table: one row per pipeline, metrics x 100 with two decimals."""
    cols = [m for m in metrics if any(m in r.metrics for r in results)]
    head = ["pipeline", *cols, "q/s"]
    rows = [
        [r.config.label, *(f"{100 * r.metrics[m]:.2f}" if m in r.metrics else "-" for m in cols),
         f"{r.queries_per_second:.1f}"]
        for r in results
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    lines = [
        "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths,
                                                                                       strict=True))),
        "  ".join("-" * w for w in widths),
    ]
    for row in rows:
        lines.append("  ".join(x.ljust(w) if i == 0 else x.rjust(w)
                               for i, (x, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(lines)


def write_json(results: Sequence[EvalResult], path: str | os.PathLike[str], *,
               per_query: bool = False, extra: Mapping[str, Any] | None = None) -> Path:
    """Save results (and ``extra`` fields, e.g. the command line) as JSON."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    payload = {**(extra or {}), "results": [r.to_dict(per_query=per_query) for r in results]}
    p.write_text(json.dumps(payload, indent=1))
    return p


#: Fields a sweep may vary, and their axis labels.
_SWEEPABLE = {"alpha": "hybrid alpha (0 = BM25, 1 = vector)", "dims": "dimensions",
              "candidates": "candidates", "funnel": "funnel shortlist"}


def _axis_value(config: PipelineConfig, name: str) -> Any:
    """A config's value on a sweep axis; on the alpha axis BM25 is 0 and dense search 1."""
    if name == "alpha":
        return {"keyword": 0.0, "vector": 1.0}.get(config.mode, config.alpha)
    if name == "dims" and config.dims is None and config.routing is None:
        return _native_dims(config.model)
    if name == "funnel":
        return config.funnel[1] if config.funnel else None
    return getattr(config, name)


def swept_field(results: Sequence[EvalResult]) -> str | None:
    """The one config field that varies across results, if exactly one does (one model)."""
    if len({json.dumps([r.config.model, r.config.routing], default=str) for r in results}) > 1:
        return None
    varying = []
    for name in _SWEEPABLE:
        values = {json.dumps(_axis_value(r.config, name)) for r in results}
        if len(values) > 1:
            varying.append(name)
    if "alpha" in varying and len(varying) > 1:
        return None
    if "funnel" in varying and any(r.config.funnel is None for r in results):
        return None
    return varying[0] if len(varying) == 1 else None


def plot_results(results: Sequence[EvalResult], path: str | os.PathLike[str], *,
                 metrics: Sequence[str] = ("ndcg@10", "recall@100"), title: str | None = None
                 ) -> Path:
    """A PNG: metric vs the swept parameter (a line per metric), else bars per pipeline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not results:
        raise ValueError("nothing to plot: no results")
    common = [m for m in results[0].metrics if all(m in r.metrics for r in results)]
    metrics = [m for m in metrics if m in common] or common[:1]
    x_field = swept_field(results)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    if x_field is not None:
        def x_of(r: EvalResult) -> float:
            return float(_axis_value(r.config, x_field))

        pts = sorted(results, key=x_of)
        xs = [x_of(r) for r in pts]
        for m in metrics:
            ys = [100 * r.metrics[m] for r in pts]
            ax.plot(xs, ys, marker="o", label=m)
            for x, y in zip(xs, ys, strict=True):
                ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(0, 5),
                            ha="center", fontsize=7)
        ax.set_xlabel(_SWEEPABLE[x_field])
        if x_field == "dims":
            ax.set_xscale("log", base=2)
            ax.set_xticks(xs, [f"{int(x)}" for x in xs])
    else:
        labels = [r.config.label for r in results]
        width = 0.8 / len(metrics)
        for i, m in enumerate(metrics):
            ax.bar([j + i * width for j in range(len(results))],
                   [100 * r.metrics[m] for r in results], width=width, label=m)
        ax.set_xticks([j + width * (len(metrics) - 1) / 2 for j in range(len(results))],
                      labels, rotation=20, ha="right", fontsize=7)
    ax.set_ylabel("score x 100")
    first = results[0]
    ax.set_title(title or f"{first.dataset} ({first.split}, {first.n_queries} queries)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p)
    plt.close(fig)
    return p


def _native_dims(model: str) -> int:
    from embedweave.models import resolve_model

    return resolve_model(model).dims


# ---------------------------------------------------------------------------------------
# The runner.


def _disable(show_progress: bool | None) -> bool | None:
    """tqdm ``disable``: ``None`` = on a terminal only."""
    return None if show_progress is None else not show_progress


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
            if config.routing is not None:
                if isinstance(config.routing, Mapping):
                    router = Router(dict(config.routing), cache=self._cache)
                else:
                    router = Router.from_yaml(config.routing, cache=self._cache)
            else:
                from embedweave.embedding import Embedder

                router = Router.single(
                    Embedder(config.model, dimensions=config.dims, cache=self._cache)
                )
            self._routers[key] = router
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
            full = Embedder(emb.spec, batch_size=emb.batch_size, device=emb.device,
                            document_prompt=prompt, query_prompt=emb.query_prompt,
                            cache=self._cache)
            vecs = self._embed_progress(full, [self._texts[i] for i in missing],
                                        f"embedding {full.model_name}")
            self._cache.put(emb.fingerprint, emb.dims, prompt, [hashes[i] for i in missing],
                            truncate(vecs, emb.dims))

    def _embed_progress(self, emb: Any, texts: list[str], desc: str) -> np.ndarray:
        from tqdm import tqdm

        out = []
        with tqdm(total=len(texts), desc=desc, unit="doc",
                  disable=_disable(self.show_progress)) as bar:
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
                  disable=_disable(self.show_progress)) as bar:
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
                      disable=_disable(self.show_progress)) as bar:
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
    "EvalResult",
    "EvalRunner",
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
