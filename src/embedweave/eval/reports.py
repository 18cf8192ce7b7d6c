"""Evaluation results and their reports: a fixed-width table, JSON, and a PNG plot.

A plot of a sweep draws the metric against the one field that varies (alpha, dims,
candidates, funnel shortlist); other result sets are drawn as bars per pipeline.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedweave.eval.configs import PipelineConfig

#: Columns of the printed table.
TABLE_METRICS = ("ndcg@10", "mrr@10", "recall@10", "recall@100", "map@100")


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
