"""Minimal loader for BEIR-format datasets (corpus.jsonl, queries.jsonl, qrels/*.tsv).

SciFact lives at ``<data_dir>/scifact`` (see ``embedweave.paths.data_dir``); it is read
in place, never copied.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from embedweave import paths


@dataclass(frozen=True)
class BeirDataset:
    """One split of a BEIR dataset.

    Attributes:
        name: Folder name, e.g. ``scifact``.
        split: Qrels split, e.g. ``test``.
        corpus: doc id -> ``{"title": ..., "text": ...}``.
        queries: query id -> text, only the queries judged in this split.
        qrels: query id -> {doc id: relevance}.
    """

    name: str
    split: str
    corpus: dict[str, dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    def doc_text(self, doc_id: str) -> str:
        """``title + " " + text`` (the MTEB/BEIR convention), stripped."""
        return doc_text(self.corpus[doc_id])

    def doc_ids(self) -> list[str]:
        """Corpus ids in file order."""
        return list(self.corpus)


def doc_text(doc: dict[str, str]) -> str:
    """``title + " " + text`` of one BEIR corpus record, stripped."""
    return f"{doc.get('title') or ''} {doc.get('text') or ''}".strip()


def _jsonl(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        raise FileNotFoundError(f"BEIR file missing: {path}")
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise ValueError(f"{path}:{n}: not JSON: {exc}") from exc
    return rows


def load_qrels(path: str | os.PathLike[str]) -> dict[str, dict[str, int]]:
    """``query-id corpus-id score`` TSV with a header line -> nested dict."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"qrels file missing: {path}")
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader, None)
        if header is None or header[:2] != ["query-id", "corpus-id"]:
            raise ValueError(f"{path}: expected a 'query-id corpus-id score' header, got {header}")
        for n, row in enumerate(reader, 2):
            if not row:
                continue
            if len(row) != 3:
                raise ValueError(f"{path}:{n}: expected 3 tab-separated fields, got {row}")
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def load_beir(folder: str | os.PathLike[str], split: str = "test") -> BeirDataset:
    """Load a BEIR dataset folder for one qrels split.

    Raises:
        FileNotFoundError: a file is missing (the message names it).
        ValueError: a judged query is absent from queries.jsonl.
    """
    folder = Path(folder)
    qrels = load_qrels(folder / "qrels" / f"{split}.tsv")
    corpus = {
        str(r["_id"]): {"title": str(r.get("title") or ""), "text": str(r.get("text") or "")}
        for r in _jsonl(folder / "corpus.jsonl")
    }
    all_queries = {str(r["_id"]): str(r["text"]) for r in _jsonl(folder / "queries.jsonl")}
    missing = [q for q in qrels if q not in all_queries]
    if missing:
        raise ValueError(f"{len(missing)} judged queries missing from queries.jsonl: {missing[:5]}")
    queries = {q: all_queries[q] for q in qrels}
    return BeirDataset(folder.name, split, corpus, queries, qrels)


def load_scifact(split: str = "test") -> BeirDataset:
    """SciFact from ``<data_dir>/scifact``."""
    return load_beir(paths.data_dir() / "scifact", split)
