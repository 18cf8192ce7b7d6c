"""Hard negatives: what BM25 and a dense model rank high for a query but is not relevant."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from embedweave.eval.beir import BeirDataset

if TYPE_CHECKING:
    import numpy as np


class PoolRecipe(Protocol):
    """The mining settings of a recipe (``reranker.RerankerTrainConfig`` has them)."""

    @property
    def negatives(self) -> int: ...

    @property
    def negative_pool(self) -> int: ...

    @property
    def miners(self) -> tuple[str, ...]: ...

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
    config: PoolRecipe,
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
    config: PoolRecipe,
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


# ---------------------------------------------------------------------------------------
# Mining for any trainer: BM25 / dense / random pools, minus positives, false-negative guard.

#: Miners ``mine_negatives`` knows (``random``: uniform corpus samples, an ablation baseline).
POOL_MINERS = ("random", "bm25", "dense")

#: ``encode(texts, kind)`` -> L2-normalised rows; ``kind`` is ``"query"`` or ``"document"``.
Encoder = Callable[[Sequence[str], str], "np.ndarray"]


@dataclass
class MinedPools:
    """Each query's hard-negative pool and what mining took out of it.

    Attributes:
        pools: Query id -> candidate negative ids, best first (miners interleaved).
        positives_removed: Candidates dropped because they are a known positive.
        guard_removed: Candidates dropped by the false-negative guard (scoring above
            ``guard`` x the query's lowest positive score: likely unlabelled positives).
        guard: The guard's fraction, ``None`` when off.
    """

    pools: dict[str, list[str]]
    positives_removed: int = 0
    guard_removed: int = 0
    guard: float | None = None

    def summary(self) -> str:
        """One line for logs and reports."""
        sizes = [len(p) for p in self.pools.values()]
        mean = sum(sizes) / len(sizes) if sizes else 0.0
        guard = f"guard {self.guard}" if self.guard is not None else "guard off"
        return (f"{len(self.pools)} queries, {mean:.1f} candidates each; removed "
                f"{self.positives_removed} known positives and {self.guard_removed} by the "
                f"false-negative {guard}")


def mine_negatives(
    corpus: Mapping[str, str],
    queries: Mapping[str, str],
    positives: Mapping[str, Sequence[str]],
    *,
    miners: Sequence[str] = ("bm25", "dense"),
    k: int = 30,
    encode: Encoder | None = None,
    guard: float | None = 0.95,
    seed: int = 0,
) -> MinedPools:
    """Hard-negative pools: the union of each miner's top ``k``, minus positives, guarded.

    The false-negative guard is NV-Retriever's TopK-PercPos: a candidate whose dense score
    exceeds ``guard`` times the query's (lowest) positive score is probably relevant
    but unlabelled, so it is dropped instead of being taught as a negative.

    Args:
        corpus: Doc id -> text.
        queries: Query id -> text.
        positives: Query id -> its known positive doc ids; none of them is ever returned.
        miners: Any of ``"random"``, ``"bm25"``, ``"dense"``.
        k: Candidates each miner contributes per query (before removals).
        encode: Dense scorer (the model being trained); needed for ``dense`` or a guard.
        guard: Fraction in (0, 1]; ``None`` turns the guard off.
        seed: Seed of the ``random`` miner.

    Raises:
        ValueError: on an unknown miner, a bad ``k``/``guard``, or a missing ``encode``.
    """
    import numpy as np

    if not miners or set(miners) - set(POOL_MINERS):
        raise ValueError(f"miners must be a non-empty subset of {POOL_MINERS}, got {miners!r}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if guard is not None and not 0 < guard <= 1:
        raise ValueError(f"guard must be in (0, 1] or None, got {guard}")
    if encode is None and ("dense" in miners or guard is not None):
        raise ValueError("dense mining and the false-negative guard need encode=")
    known = {q: set(positives.get(q, ())) for q in queries}
    unknown = {p for ps in known.values() for p in ps} - set(corpus)
    if unknown:
        raise ValueError(f"positives not in the corpus: {sorted(unknown)[:5]}")
    ids = list(corpus)
    row = {d: i for i, d in enumerate(ids)}
    qids = list(queries)
    scores = None
    if encode is not None:
        dvecs = np.asarray(encode([corpus[d] for d in ids], "document"), dtype=np.float32)
        qvecs = np.asarray(encode([queries[q] for q in qids], "query"), dtype=np.float32)
        scores = qvecs @ dvecs.T
    extra = max((len(p) for p in known.values()), default=0)
    lists: list[dict[str, list[str]]] = []
    for miner in miners:
        if miner == "bm25":
            lists.append(bm25_candidates(corpus, queries, k + extra))
        elif miner == "dense":
            assert scores is not None
            top = np.argsort(-scores, axis=1, kind="stable")[:, : k + extra]
            lists.append({q: [ids[j] for j in top[i]] for i, q in enumerate(qids)})
        else:
            rng = random.Random(seed)
            lists.append({q: rng.sample(ids, min(len(ids), k + extra)) for q in qids})
    out = MinedPools({}, guard=guard)
    for i, q in enumerate(qids):
        kept_lists = []
        for ranked in lists:  # each miner's top k without positives
            clean = [d for d in ranked[q] if d not in known[q]]
            out.positives_removed += len(ranked[q]) - len(clean)
            kept_lists.append(clean[:k])
        merged = _interleave(kept_lists)
        if guard is not None and scores is not None and known[q]:
            ceiling = guard * min(float(scores[i, row[p]]) for p in known[q])
            kept = [d for d in merged if float(scores[i, row[d]]) <= ceiling]
            out.guard_removed += len(merged) - len(kept)
            merged = kept
        out.pools[q] = merged
    logger.info("mined negatives: %s", out.summary())
    return out


def _interleave(lists: Sequence[Sequence[str]]) -> list[str]:
    """Rank by rank across lists (1st of each, then 2nd of each, ...), without repeats."""
    longest = max((len(ls) for ls in lists), default=0)
    return list(dict.fromkeys(ls[r] for r in range(longest) for ls in lists if r < len(ls)))
