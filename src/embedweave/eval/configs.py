"""Pipeline configurations to evaluate: one model or route table, and one way to search.

A ``PipelineConfig`` names one pipeline: a model (at some Matryoshka dims) or a route
table, and a search: dense, keyword (BM25), hybrid with ``alpha``, funnel, rerank.
``sweep_configs`` varies fields over a grid.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Mode = Literal["vector", "keyword", "hybrid"]


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
