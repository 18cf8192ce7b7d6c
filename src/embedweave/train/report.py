"""Before/after report of a fine-tune: nDCG@10 and Recall@100 per dims, base vs tuned.

Scores come from exact cosine search over the evaluation corpus, with each model's
vectors truncated (and renormalised) to every dims asked for, and the metrics of
``embedweave.eval.metrics``. Evaluate on a test split or held-out queries, never on
the training queries.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedweave.eval.beir import BeirDataset
from embedweave.eval.metrics import evaluate
from embedweave.matryoshka import truncate

#: Metrics of the report, as ``evaluate`` keys them.
REPORT_METRICS = ("ndcg@10", "recall@100")

#: ``encode(texts, kind)`` -> vectors at full dims; ``kind`` is ``"query"``/``"document"``.
Encode = Callable[[Sequence[str], str], np.ndarray]


def dims_scores(
    encode: Encode, data: BeirDataset, dims: Sequence[int], *, k: int = 100,
    vectors: dict[str, np.ndarray] | None = None,
) -> dict[int, dict[str, float]]:
    """nDCG@10 and Recall@100 of exact cosine search at each of ``dims``.

    Args:
        encode: The model (full-dims vectors).
        data: Evaluation split (its queries and qrels; the whole corpus is searched).
        dims: Truncation sizes, each <= the model's dims.
        k: Depth of the ranking kept per query.
        vectors: When given, receives the full-dims ``"documents"`` (corpus order) and
            ``"queries"`` (``data.queries`` order) vectors, for further use.
    """
    ids = data.doc_ids()
    docs = np.asarray(encode([data.doc_text(d) for d in ids], "document"), dtype=np.float32)
    qids = [q for q in data.queries if q in data.qrels]
    queries = np.asarray(encode([data.queries[q] for q in qids], "query"), dtype=np.float32)
    if vectors is not None:
        vectors.update(documents=docs, queries=queries)
    out: dict[int, dict[str, float]] = {}
    for d in dims:
        scores = truncate(queries, d) @ truncate(docs, d).T
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        run = {q: [ids[j] for j in top[i]] for i, q in enumerate(qids)}
        m = evaluate(run, data.qrels, k_values=(10, 100), metrics=("ndcg", "recall"))
        out[int(d)] = {key: m[key] for key in REPORT_METRICS}
    return out


@dataclass
class BeforeAfter:
    """Base vs fine-tuned scores per dims on one evaluation set.

    Attributes:
        dataset: What was evaluated (name and split).
        queries: Number of evaluation queries.
        base: Dims -> metric -> score of the base model (0..1).
        tuned: The same for the fine-tuned model.
        base_model: Base model name.
        tuned_model: Fine-tuned model folder.
    """

    dataset: str
    queries: int
    base: dict[int, dict[str, float]]
    tuned: dict[int, dict[str, float]]
    base_model: str = ""
    tuned_model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def table(self) -> str:
        """Markdown table: one row per dims, base -> tuned for each metric (x 100)."""
        head = "| dims | " + " | ".join(f"{m} base | {m} tuned" for m in REPORT_METRICS) + " |"
        rule = "|---:|" + "---:|---:|" * len(REPORT_METRICS)
        rows = [head, rule]
        for d in sorted(self.base, reverse=True):
            cells = [f"{100 * self.base[d][m]:.1f} | {100 * self.tuned[d][m]:.1f}"
                     for m in REPORT_METRICS]
            rows.append(f"| {d} | " + " | ".join(cells) + " |")
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"dataset": self.dataset, "queries": self.queries, "base_model": self.base_model,
                "tuned_model": self.tuned_model,
                "base": {str(d): v for d, v in self.base.items()},
                "tuned": {str(d): v for d, v in self.tuned.items()}, **self.extra}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BeforeAfter:
        """Inverse of ``to_dict``."""
        known = {"dataset", "queries", "base_model", "tuned_model", "base", "tuned"}
        return cls(str(data["dataset"]), int(data["queries"]),
                   {int(d): dict(v) for d, v in data["base"].items()},
                   {int(d): dict(v) for d, v in data["tuned"].items()},
                   str(data.get("base_model", "")), str(data.get("tuned_model", "")),
                   {k: v for k, v in data.items() if k not in known})

    def save(self, folder: str | os.PathLike[str], stem: str = "before_after") -> list[Path]:
        """Write ``<stem>.json``, ``<stem>.md`` (the table) and ``<stem>.png`` into ``folder``."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        js = out / f"{stem}.json"
        js.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        md = out / f"{stem}.md"
        md.write_text(f"{self.dataset}, {self.queries} queries\n\n{self.table()}\n",
                      encoding="utf-8")
        return [js, md, self.plot(out / f"{stem}.png")]

    def plot(self, path: str | os.PathLike[str]) -> Path:
        """PNG: each metric vs dims (log scale), base dashed, fine-tuned solid."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        dims = sorted(self.base)
        fig, ax = plt.subplots(figsize=(6.5, 4), dpi=120)
        for m, colour in zip(REPORT_METRICS, ("tab:blue", "tab:orange"), strict=False):
            for scores, style, who in ((self.base, "--", "base"), (self.tuned, "-", "tuned")):
                ys = [100 * scores[d][m] for d in dims]
                ax.plot(dims, ys, style, marker="o", color=colour, label=f"{m} {who}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(dims, [str(d) for d in dims])
        ax.set_xlabel("dims")
        ax.set_ylabel("score x 100")
        ax.set_title(f"{self.dataset} ({self.queries} queries): base vs fine-tuned")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        p = Path(path)
        fig.savefig(p)
        plt.close(fig)
        return p
