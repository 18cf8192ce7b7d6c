"""Training pairs: (query, positive) examples drawn from labelled or unlabelled corpora."""

from __future__ import annotations

import random

from embedweave.eval.beir import BeirDataset


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
