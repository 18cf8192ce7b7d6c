"""Training pairs: (query, positive) examples drawn from labelled or unlabelled corpora."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import warnings
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from embedweave.eval.beir import BeirDataset

logger = logging.getLogger(__name__)


def title_dataset(data: BeirDataset, n: int, rng: random.Random) -> BeirDataset:
    """``n`` random corpus abstracts as queries (their titles) judged against bodies only.

    Bodies drop the title so the positive cannot be found by copying it.
    """
    ids = sorted(d for d, r in data.corpus.items() if r["title"].strip() and r["text"].strip())
    chosen = rng.sample(ids, min(n, len(ids)))
    return BeirDataset(
        data.name,
        "titles",
        {d: {"title": "", "text": r["text"]} for d, r in data.corpus.items()},
        {f"title:{d}": data.corpus[d]["title"] for d in chosen},
        {f"title:{d}": {d: 1} for d in chosen},
    )


# ---------------------------------------------------------------------------------------
# Embedder training data: labelled (BEIR train qrels, JSONL) or synthetic from a corpus.


class TrainingDataWarning(UserWarning):
    """Rows of training data were unusable; the warning gives the counts by reason."""


@dataclass
class DataReport:
    """What loading training data kept and what it could not use, by reason.

    Attributes:
        source: Where the data came from (path and kind).
        kept: Usable (query, positive) pairs.
        problems: Reason -> number of rows not used for it (``empty text``,
            ``unknown id``, ``no positive``, ...).
        examples: Reason -> up to 5 offending rows (line numbers or ids), to find them.
    """

    source: str
    kept: int = 0
    problems: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, where: str) -> None:
        """Count one unusable row under ``reason``."""
        self.problems[reason] = self.problems.get(reason, 0) + 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 5:
            shown.append(where)

    @property
    def dropped(self) -> int:
        """Rows not used, all reasons together."""
        return sum(self.problems.values())

    def summary(self) -> str:
        """One line: kept pairs and the dropped rows by reason, with examples."""
        if not self.problems:
            return f"{self.source}: {self.kept} pairs, no unusable rows"
        parts = [f"{n} {reason} (e.g. {', '.join(self.examples[reason])})"
                 for reason, n in sorted(self.problems.items())]
        return f"{self.source}: {self.kept} pairs kept; not used: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (recorded in the trained model's manifest)."""
        return {"source": self.source, "kept": self.kept, "problems": dict(self.problems),
                "examples": {k: list(v) for k, v in self.examples.items()}}


@dataclass(frozen=True)
class TrainingData:
    """(query, positive) training examples over one corpus, ready for mining and training.

    Attributes:
        name: Short name of the data (folder or file name).
        corpus: Doc id -> text of every document negatives may be mined from.
        queries: Query id -> text.
        positives: Query id -> ids of its relevant documents (at least one each).
        negatives: Query id -> ids of negatives given with the data (JSONL), maybe empty.
        report: What loading kept and dropped.
    """

    name: str
    corpus: dict[str, str]
    queries: dict[str, str]
    positives: dict[str, list[str]]
    negatives: dict[str, list[str]]
    report: DataReport

    def pairs(self) -> list[tuple[str, str]]:
        """(query id, positive id) for every positive, in a stable order."""
        return [(q, p) for q in self.queries for p in self.positives[q]]

    def subset(self, query_ids: Collection[str]) -> TrainingData:
        """The same corpus with only ``query_ids`` as queries."""
        keep = [q for q in self.queries if q in set(query_ids)]
        return replace(self, queries={q: self.queries[q] for q in keep},
                       positives={q: self.positives[q] for q in keep},
                       negatives={q: self.negatives.get(q, []) for q in keep})

    def split(self, held_out: int | float, seed: int = 0) -> tuple[TrainingData, TrainingData]:
        """Seeded (train, held-out) split by query, for evaluation without a test split.

        Args:
            held_out: Held-out queries: a count, or a share in (0, 1).
            seed: Seed of the shuffle.

        Raises:
            ValueError: when either side would be empty.
        """
        qids = sorted(self.queries)
        n = round(len(qids) * held_out) if isinstance(held_out, float) else int(held_out)
        if not 0 < n < len(qids):
            raise ValueError(f"cannot hold out {held_out!r} of {len(qids)} queries: both the "
                             "training and the held-out side need at least one")
        random.Random(seed).shuffle(qids)
        return self.subset(qids[n:]), self.subset(qids[:n])

    def as_beir(self, split: str = "train") -> BeirDataset:
        """The same data as a ``BeirDataset`` (for ``embedweave.eval`` metrics)."""
        return BeirDataset(self.name, split, {d: {"title": "", "text": t}
                                              for d, t in self.corpus.items()},
                           dict(self.queries),
                           {q: dict.fromkeys(ps, 1) for q, ps in self.positives.items()})


def _finish(data: TrainingData) -> TrainingData:
    data.report.kept = sum(len(p) for p in data.positives.values())
    if data.report.problems:
        warnings.warn(data.report.summary(), TrainingDataWarning, stacklevel=3)
    if not data.report.kept:
        raise ValueError(f"no usable training pairs in {data.report.source}: "
                         f"{data.report.summary()}")
    logger.info("%s", data.report.summary())
    return data


def from_beir(folder: str | os.PathLike[str], split: str = "train") -> TrainingData:
    """Training pairs from a BEIR folder's ``qrels/<split>.tsv`` (relevance >= 1).

    Judgments naming an unknown query or document, empty texts, and queries left with no
    positive are counted in the report (and a ``TrainingDataWarning``), not used.

    Raises:
        FileNotFoundError: a BEIR file is missing.
        ValueError: no usable pair remains.
    """
    from embedweave.eval.beir import doc_text, load_qrels

    root = Path(folder)
    qrels = load_qrels(root / "qrels" / f"{split}.tsv")
    report = DataReport(f"{root} ({split} qrels)")
    corpus: dict[str, str] = {}
    for n, row in _json_rows(root / "corpus.jsonl", report):
        did = str(row.get("_id", ""))
        text = doc_text({"title": str(row.get("title") or ""), "text": str(row.get("text") or "")})
        if not did:
            report.add("document without _id", f"corpus.jsonl:{n}")
        elif not text:
            report.add("empty document text", f"doc {did}")
        else:
            corpus[did] = text
    all_queries = {str(r.get("_id", "")): str(r.get("text") or "").strip()
                   for _n, r in _json_rows(root / "queries.jsonl", report)}
    queries: dict[str, str] = {}
    positives: dict[str, list[str]] = {}
    for qid, judged in qrels.items():
        if qid not in all_queries:
            report.add("unknown query id", f"query {qid}")
            continue
        if not all_queries[qid]:
            report.add("empty query text", f"query {qid}")
            continue
        pos = []
        for did, rel in judged.items():
            if rel < 1:
                continue
            if did in corpus:
                pos.append(did)
            else:
                report.add("unknown document id", f"query {qid} -> doc {did}")
        if not pos:
            report.add("query with no positive", f"query {qid}")
            continue
        queries[qid] = all_queries[qid]
        positives[qid] = pos
    return _finish(TrainingData(root.name, corpus, queries, positives,
                                {q: [] for q in queries}, report))


def from_jsonl(path: str | os.PathLike[str]) -> TrainingData:
    """Training pairs from JSONL rows ``{"query", "positive"[, "negatives": [...]]}``.

    Rows with the same query text are one query with several positives. The corpus for
    mining is every distinct positive and negative text. Malformed rows and empty texts
    are counted in the report (and a ``TrainingDataWarning``), not used.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: no usable pair remains.
    """
    src = Path(path)
    report = DataReport(f"{src} (JSONL pairs)")
    ids: dict[str, str] = {}

    def doc_id(text: str) -> str:
        return ids.setdefault(text, f"d{len(ids)}")

    qid_of: dict[str, str] = {}
    positives: dict[str, list[str]] = {}
    negatives: dict[str, list[str]] = {}
    for n, row in _json_rows(src, report):
        query, positive, negs = row.get("query"), row.get("positive"), row.get("negatives", [])
        where = f"line {n}"
        if not isinstance(query, str) or not isinstance(positive, str):
            report.add("missing query or positive", where)
            continue
        if not isinstance(negs, list) or not all(isinstance(x, str) for x in negs):
            report.add("negatives not a list of strings", where)
            continue
        if not query.strip() or not positive.strip():
            report.add("empty query or positive", where)
            continue
        kept_negs = [x for x in negs if x.strip()]
        if len(kept_negs) < len(negs):
            report.add("empty negative", where)
        qid = qid_of.setdefault(query.strip(), f"q{len(qid_of)}")
        pid = doc_id(positive.strip())
        if pid not in positives.setdefault(qid, []):
            positives[qid].append(pid)
        negatives.setdefault(qid, []).extend(doc_id(x.strip()) for x in kept_negs)
    queries = {q: text for text, q in qid_of.items()}
    for q in queries:  # a text given as one row's negative and another row's positive
        negatives[q] = [d for d in dict.fromkeys(negatives[q]) if d not in positives[q]]
    corpus = {d: text for text, d in ids.items()}
    return _finish(TrainingData(src.stem, corpus, queries, positives, negatives, report))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")


def synthetic_pairs(
    corpus: Mapping[str, Mapping[str, str]], *, limit: int | None = None, seed: int = 0,
    name: str = "synthetic", report: DataReport | None = None,
) -> TrainingData:
    """(title -> body) pairs, or (first sentence -> rest) for untitled documents.

    Needs no labels: the query is part of the document and the positive is the rest, so
    the query cannot be found by copying it. Documents with neither a title nor two
    sentences are counted in the report.

    Args:
        corpus: Doc id -> ``{"title", "text"}`` (BEIR corpus records).
        limit: At most this many pairs, a seeded sample; ``None`` = all.
        seed: Seed of the sample.
        name: Name of the data.
        report: Report to add to (one already holding the corpus file's bad lines).
    """
    report = report or DataReport(f"{name} (synthetic from {len(corpus)} documents)")
    bodies: dict[str, str] = {}
    queries: dict[str, str] = {}
    for did, rec in corpus.items():
        title, text = (rec.get("title") or "").strip(), (rec.get("text") or "").strip()
        if title and text:
            queries[f"title:{did}"], bodies[did] = title, text
            continue
        parts = _SENTENCE_END.split(text or title, maxsplit=1)
        if len(parts) == 2 and parts[0].strip() and parts[1].strip():
            queries[f"first:{did}"], bodies[did] = parts[0].strip(), parts[1].strip()
        else:
            report.add("document with no title and one sentence", f"doc {did}")
    chosen = sorted(queries)
    if limit is not None and limit < len(chosen):
        chosen = sorted(random.Random(seed).sample(chosen, limit))
    return _finish(TrainingData(
        name, bodies, {q: queries[q] for q in chosen},
        {q: [q.split(":", 1)[1]] for q in chosen}, {q: [] for q in chosen}, report,
    ))


def load_training_data(path: str | os.PathLike[str], *, split: str = "train",
                       synthetic_limit: int | None = None) -> TrainingData:
    """Training data from a BEIR folder (``qrels/<split>.tsv``), a JSONL file, or a bare corpus.

    A folder with ``corpus.jsonl`` but no ``qrels/<split>.tsv`` gives synthetic pairs.

    Raises:
        FileNotFoundError: the path holds none of these.
    """
    p = Path(path)
    if p.is_file():
        return from_jsonl(p)
    if (p / "qrels" / f"{split}.tsv").is_file():
        return from_beir(p, split)
    if (p / "corpus.jsonl").is_file():
        report = DataReport(f"{p} (synthetic pairs)")
        corpus = {str(r.get("_id", "")): {"title": str(r.get("title") or ""),
                                          "text": str(r.get("text") or "")}
                  for _n, r in _json_rows(p / "corpus.jsonl", report)}
        return synthetic_pairs(corpus, limit=synthetic_limit, name=p.name, report=report)
    raise FileNotFoundError(
        f"{p}: expected a JSONL file of {{query, positive}} rows, a BEIR folder with "
        f"qrels/{split}.tsv, or a folder with corpus.jsonl"
    )


def _json_rows(path: Path, report: DataReport) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each JSON-object line; other lines go into the report."""
    if not path.is_file():
        raise FileNotFoundError(f"training data file missing: {path}")
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                report.add("line not JSON", f"{path.name}:{n}")
                continue
            if not isinstance(row, dict):
                report.add("line not a JSON object", f"{path.name}:{n}")
                continue
            yield n, row
