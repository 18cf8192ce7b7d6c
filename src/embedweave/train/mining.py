"""Hard negatives: what BM25 and a dense model rank high for a query but is not relevant."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from embedweave.eval.beir import BeirDataset

if TYPE_CHECKING:
    from embedweave.train.reranker import RerankerTrainConfig

logger = logging.getLogger(__name__)

#: First stages that can mine hard negatives.
MINERS = ("bm25", "dense")
#: Bi-encoder of the dense miner (the bundled all-MiniLM-L6-v2).
DENSE_MINER = "minilm"


def bm25_candidates(
    corpus: Mapping[str, str], queries: Mapping[str, str], k: int
) -> dict[str, list[str]]:
    """BM25 top-``k`` document ids per query, with the project's own BM25 (MemoryStore).

    Args:
        corpus: Id -> text of every searchable document.
        queries: Id -> query text.
        k: How many ids to keep per query.
    """
    from embedweave.store.memory import MemoryStore
    from embedweave.types import Chunk

    store = MemoryStore([], name="bm25-candidates")
    chunks = [Chunk(document_id=did, index=0, text=text) for did, text in corpus.items()]
    store.upsert(chunks, {})
    return {
        qid: [h.chunk.document_id for h in store.keyword_search(text, k=k)]
        for qid, text in queries.items()
    }


def dense_candidates(
    corpus: Mapping[str, str],
    queries: Mapping[str, str],
    k: int,
    *,
    model: str = DENSE_MINER,
    device: str | None = None,
) -> dict[str, list[str]]:
    """Dense (cosine) top-``k`` document ids per query, exact (MemoryStore).

    Corpus vectors go through the shared embedding cache, so mining twice embeds once.

    Args:
        corpus: Id -> text of every searchable document.
        queries: Id -> query text.
        k: How many ids to keep per query.
        model: Bi-encoder (bundled name, folder or HF id).
        device: Torch device of the bi-encoder.
    """
    import warnings

    from embedweave.cache import EmbeddingCache
    from embedweave.embedding import Embedder, TruncationWarning
    from embedweave.store.memory import MemoryStore
    from embedweave.types import Chunk

    if not queries:
        return {}
    emb = Embedder(model, device=device, cache=EmbeddingCache())
    space = emb.space()
    store = MemoryStore([space], name="dense-candidates")
    ids = list(corpus)
    with warnings.catch_warnings():  # long abstracts are cut, as in BEIR/MTEB evaluation
        warnings.simplefilter("ignore", TruncationWarning)
        vecs = emb.embed_documents([corpus[d] for d in ids])
    store.upsert([Chunk(document_id=d, index=0, text=corpus[d]) for d in ids],
                 {space.name: vecs})
    qids = list(queries)
    qvecs = emb.embed_queries([queries[q] for q in qids])
    return {
        qid: [h.chunk.document_id for h in store.search(qv, space=space.name, k=k)]
        for qid, qv in zip(qids, qvecs, strict=True)
    }


def negative_candidates(
    corpus: Mapping[str, str],
    queries: Mapping[str, str],
    config: RerankerTrainConfig,
    *,
    extra: int = 0,
    device: str | None = None,
) -> dict[str, list[str]]:
    """Each query's candidate pool: every miner's top ``negative_pool + extra``, merged.

    Lists are interleaved rank by rank (BM25 1st, dense 1st, BM25 2nd, ...) without
    duplicates. ``extra`` makes room for the query's own positives, removed later.
    """
    k = config.negative_pool + extra
    lists = []
    for miner in config.miners:
        if miner == "bm25":
            lists.append(bm25_candidates(corpus, queries, k))
        else:
            lists.append(dense_candidates(corpus, queries, k, device=device))
    merged: dict[str, list[str]] = {}
    for qid in queries:
        ranked = [ls[qid] for ls in lists]
        merged[qid] = list(dict.fromkeys(
            d for rank in range(k) for ls in ranked if rank < len(ls) for d in [ls[rank]]
        ))
    return merged


def mine_groups(
    data: BeirDataset,
    config: RerankerTrainConfig,
    candidates: Mapping[str, Sequence[str]],
    rng: random.Random,
) -> list[tuple[str, str, list[str]]]:
    """(claim, cited abstract, hard negatives) training groups.

    Negatives are drawn with ``rng`` from the claim's candidate pool minus every abstract
    it cites; claims whose pool is too small to give ``config.negatives`` are skipped,
    and the skip count is logged.
    """
    groups: list[tuple[str, str, list[str]]] = []
    short = 0
    for qid in sorted(data.queries):
        cited = {d for d, rel in data.qrels[qid].items() if rel > 0}
        pool = [d for d in candidates.get(qid, []) if d not in cited]
        if len(pool) < config.negatives:
            short += 1
            continue
        for pos in sorted(cited):
            if pos not in data.corpus:
                raise ValueError(f"qrels cite abstract {pos!r} that is not in the corpus")
            negs = rng.sample(pool, config.negatives)
            groups.append(
                (data.queries[qid], data.doc_text(pos), [data.doc_text(n) for n in negs])
            )
    if short:
        logger.warning("%d queries skipped: fewer than %d hard negatives", short,
                       config.negatives)
    return groups
