"""Ingest and query pipelines composing the core: chunk, route, embed, store, search, rerank.

``Index``: Document -> chunks -> language -> route -> embed per space -> ``store.upsert``.
``Retriever``: query -> language -> spaces -> embed per space -> search per space ->
reciprocal rank fusion -> optional funnel rescore -> optional rerank -> top k.

Both take a ``Router`` (or its route table) or a single ``Embedder`` (one space).
"""

from __future__ import annotations

import asyncio
import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embedweave.chunking import Chunker
from embedweave.errors import SpaceMismatchError
from embedweave.filters import FilterLike
from embedweave.funnel import funnel_search, low_fingerprint, low_vectors
from embedweave.fusion import reciprocal_rank_fusion
from embedweave.overlap import BackgroundWriter
from embedweave.routing import RouteDecision, Router, as_router
from embedweave.store.base import Store, validate_alpha, validate_k
from embedweave.store.values import check_metadata, check_text
from embedweave.types import Chunk, Document, Hit
from embedweave.versions import (
    DocumentPlan,
    IngestResult,
    chunker_key,
    content_hash,
    plan_document,
)

if TYPE_CHECKING:
    from embedweave.embedding import Embedder
    from embedweave.language import LanguageGuess
    from embedweave.rerank import Reranker

Mode = Literal["vector", "keyword", "hybrid"]

#: Chunks embedded and written per step of ``Index.add_documents`` (bounds memory).
DEFAULT_WINDOW = 512


class EmptyDocumentWarning(UserWarning):
    """Documents whose text held no tokens were ingested as zero chunks."""


def check_store_spaces(store: Store, router: Router) -> None:
    """Raise ``SpaceMismatchError`` unless ``store`` holds every space the router embeds into.

    The store checks its recorded spaces when opened; this catches a store opened with
    one configuration and used with another router.
    """
    for want in router.vector_spaces():
        if want.name not in store.spaces:
            raise SpaceMismatchError(
                f"store {store.name!r} has no space {want.name!r} (it has "
                f"{sorted(store.spaces)}); create it with router.vector_spaces()"
            )
        store.check_space(want)


def _low_companions(store: Store, router: Router) -> dict[str, list[tuple[str, int, bool]]]:
    """Funnel companions in the store: space -> [(low space, dims, layer_norm)].

    A low space is recognised by its fingerprint (``funnel.low_fingerprint``), so the
    index writes its vectors (truncated from the full ones) without being told.
    """
    out: dict[str, list[tuple[str, int, bool]]] = {}
    full = {name: store.spaces[name] for name in router.spaces if name in store.spaces}
    for low in store.spaces.values():
        if low.name in full:
            continue
        for name, vs in full.items():
            for layer_norm in (False, True):
                if low.dims < vs.dims and low.fingerprint == low_fingerprint(
                    vs, low.dims, layer_norm=layer_norm
                ):
                    out.setdefault(name, []).append((low.name, low.dims, layer_norm))
    return out


def default_chunker(router: Router) -> Chunker:
    """256-512 token chunks, 50 overlap, capped to fit the narrowest model window.

    Counts with the narrowest sentence-transformers model's own tokenizer when it ships
    a fast one (exact), else with the word approximation at 80% of the window.
    """
    narrowest = None
    for name in router.spaces:
        emb = router.embedder(name)
        if emb.max_seq_length and (narrowest is None or emb.max_seq_length < narrowest[1]):
            narrowest = (emb, int(emb.max_seq_length))
    if narrowest is None:
        return Chunker(512, 256, 50)
    emb, window = narrowest
    tokenizer = None
    folder = Path(emb.spec.path) if emb.spec.path else None
    if folder is not None and folder.is_dir() and (folder / "tokenizer.json").is_file():
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    budget = window - 2  # [CLS] and [SEP]
    if tokenizer is None:
        budget = int(budget * 0.8)
    if emb.document_prompt:
        budget -= Chunker(10, 0, 0, tokenizer=tokenizer).count_tokens(emb.document_prompt)
    max_tokens = max(16, min(512, budget))
    return Chunker(
        max_tokens, min(256, max_tokens // 2), min(50, max_tokens // 5), tokenizer=tokenizer
    )


class Index:
    """Ingest documents: chunk, identify language, route, embed per space, upsert.

    Incremental and without a loss window: every chunk carries its document's content
    hash (text, metadata, forced language, chunker settings, spaces; see
    ``embedweave.versions``). Re-ingesting skips unchanged documents (no embedding, no
    write), resumes half-written ones, and writes a changed document's new version
    under new ids *before* deleting its stale chunks, so a document searchable before
    stays searchable throughout, and a failed run converges when run again.

    Args:
        store: Where chunks go; must hold the router's spaces (``router.vector_spaces()``).
        embedder_or_router: A ``Router``, a route table, or one ``Embedder``.
        chunker: How documents are split; default: ``default_chunker(router)``.
        window: Chunks embedded and written per step (whole documents per step); the
            next window is embedded while the last one is written (``overlap``).

    Raises:
        SpaceMismatchError: when the store's spaces differ from the router's.
    """

    def __init__(
        self,
        store: Store,
        embedder_or_router: Embedder | Router | Any,
        chunker: Chunker | None = None,
        *,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        self.store = store
        self.router = as_router(embedder_or_router)
        check_store_spaces(store, self.router)
        self.chunker = chunker if chunker is not None else default_chunker(self.router)
        self.low_spaces = _low_companions(store, self.router)
        if window <= 0:
            raise ValueError(f"window must be positive, got {window}")
        self.window = window
        self._repaired: set[str | None] = set()  # tenants checked for torn writes

    def add_documents(
        self, documents: Sequence[Document], *, tenant: str | None = None, sync: bool = False
    ) -> IngestResult:
        """Chunk, route, embed and store what changed; return the documents' chunk ids.

        Unchanged documents are neither embedded nor written; a changed document's new
        chunks are written first, then its stale chunks deleted.

        Args:
            documents: Documents with unique ids; ``Document.language`` forces routing.
            tenant: Tenant of a multi-tenant collection.
            sync: Also delete every stored document not in ``documents`` (the given
                set becomes the store's whole content).

        Returns:
            The ids of the documents' chunks as now stored (a list), with counts
            ``added`` / ``updated`` / ``unchanged`` / ``deleted`` and
            ``chunks_written`` / ``chunks_deleted``.

        Raises:
            ValueError, TypeError: on bad input (duplicate or empty ids, text with NUL
                or lone surrogates, NaN/inf metadata), naming the item; nothing is written.
            UnsupportedLanguageError: when the route table says so (``on_unsupported``).
            BatchWriteError, StoreError: when the store fails; what was stored before
                stays whole, and running again converges.
        """
        docs = _check_documents(documents)
        repaired = self._repair(tenant)
        try:
            return self._add(docs, tenant, sync, repaired)
        except BaseException:
            self._repaired.discard(tenant)  # a failed write may have torn objects: check again
            raise

    def _repair(self, tenant: str | None) -> int:
        """``Store.repair`` once per tenant, and again after a failed call (the
        failure may have been a server crash that tore the objects in flight)."""
        if tenant in self._repaired:
            return 0
        repaired = self.store.repair(tenant=tenant)
        self._repaired.add(tenant)
        return repaired

    def _add(
        self, docs: list[Document], tenant: str | None, sync: bool, repaired: int
    ) -> IngestResult:
        plans = self._plan(docs, tenant)
        work = [p for p in plans if p.to_write]
        # route everything to write first: unsupported languages are reported once, and
        # with on_unsupported='error' nothing is written
        decided = self._route(
            [c for p in work for c in p.to_write],
            {p.document.id: p.document.text for p in work if len(p.chunks) > 1},
        )
        result = IngestResult([c.id for p in plans for c in p.chunks])
        result.chunks_repaired = repaired
        step: list[DocumentPlan] = []
        size = pos = 0
        with BackgroundWriter() as writer:  # embeds window n+1 while n is written
            for plan in plans:
                step.append(plan)
                size += len(plan.to_write)
                if size >= self.window:
                    self._apply(step, decided[pos : pos + size], tenant, result, writer)
                    pos += size
                    step, size = [], 0
            if step:
                self._apply(step, decided[pos : pos + size], tenant, result, writer)
        for plan in plans:
            setattr(result, plan.status, getattr(result, plan.status) + 1)
        if sync:
            result.deleted += self.sync([d.id for d in docs], tenant=tenant)
        empty = [p.document.id for p in plans if not p.chunks]
        if empty:
            warnings.warn(
                f"{len(empty)} document(s) had no text and were stored as zero chunks "
                f"(old chunks removed): {empty[:10]}{' ...' if len(empty) > 10 else ''}",
                EmptyDocumentWarning,
                stacklevel=3,
            )
        return result

    def sync(self, keep: Sequence[str], *, tenant: str | None = None) -> int:
        """Delete every stored document whose id is not in ``keep``; return how many.

        For a folder re-ingested in parts (as the CLI does): ingest each part, then
        call this once with every document id.
        """
        if isinstance(keep, str):
            raise TypeError("sync takes a list of document ids, not one string")
        self._repair(tenant)  # a torn chunk would survive its document's delete
        gone = sorted(self.store.document_ids(tenant=tenant) - set(keep))
        for start in range(0, len(gone), 500):
            self.store.delete_documents(gone[start : start + 500], tenant=tenant)
        return len(gone)

    def _settings(self) -> dict[str, Any]:
        """What besides a document's own content decides its chunks and vectors."""
        spaces = sorted(
            (vs.name, vs.fingerprint, vs.dims) for vs in self.router.vector_spaces()
        )
        low = sorted((n, d, ln) for lows in self.low_spaces.values() for n, d, ln in lows)
        return {"chunker": chunker_key(self.chunker), "spaces": spaces, "low": low}

    def _plan(self, docs: list[Document], tenant: str | None) -> list[DocumentPlan]:
        """Chunk each document and compare with what the store holds of it."""
        settings = self._settings()
        stored = self.store.document_chunks([d.id for d in docs], tenant=tenant)
        return [
            plan_document(d, self.chunker.chunk(d), content_hash(d, settings), stored.get(d.id, {}))
            for d in docs
        ]

    def _apply(
        self,
        step: Sequence[DocumentPlan],
        decisions: list[RouteDecision],
        tenant: str | None,
        result: IngestResult,
        writer: BackgroundWriter,
    ) -> None:
        """Embed one window's new chunks here, then (in ``writer``, after the previous
        window's write) write them and only then delete those documents' stale ones."""
        chunks = [c for p in step for c in p.to_write]
        vectors = self._embed(chunks, decisions) if chunks else {}
        stale = [cid for p in step for cid in p.stale]

        def write() -> None:
            if chunks:
                self._upsert(chunks, decisions, vectors, tenant)
                result.chunks_written += len(chunks)
            if stale:
                self.store.delete(stale, tenant=tenant)
                result.chunks_deleted += len(stale)

        writer.submit(write)

    async def aadd_documents(
        self, documents: Sequence[Document], *, tenant: str | None = None, sync: bool = False
    ) -> IngestResult:
        """``add_documents`` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.add_documents, documents, tenant=tenant, sync=sync)

    def add_chunks(self, chunks: Sequence[Chunk], *, tenant: str | None = None) -> list[str]:
        """Route, embed and upsert ready-made chunks (no chunking, no deletion).

        A chunk's ``language``, when set, forces its route; otherwise it is detected
        and stored on the chunk.
        """
        chunks = list(chunks)
        for i, c in enumerate(chunks):
            if not isinstance(c, Chunk):
                raise TypeError(f"item {i} is a {type(c).__name__}, not a Chunk")
        decided = self._route(chunks)
        with BackgroundWriter() as writer:  # embeds window n+1 while n is written
            for start in range(0, len(chunks), self.window):
                part = chunks[start : start + self.window]
                dec = decided[start : start + self.window]
                vecs = self._embed(part, dec)

                def write(p: list[Chunk] = part, d: list[RouteDecision] = dec,
                          v: dict[str, tuple[list[int], np.ndarray]] = vecs) -> None:
                    self._upsert(p, d, v, tenant)

                writer.submit(write)
        return [c.id for c in chunks]

    async def aadd_chunks(
        self, chunks: Sequence[Chunk], *, tenant: str | None = None
    ) -> list[str]:
        """``add_chunks`` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.add_chunks, chunks, tenant=tenant)

    def delete_documents(self, ids: Sequence[str], *, tenant: str | None = None) -> int:
        """Delete every chunk of the given documents; return how many were deleted."""
        if isinstance(ids, str):
            raise TypeError("delete_documents takes a list of document ids, not one string")
        return self.store.delete_documents(list(ids), tenant=tenant)

    def _route(
        self, chunks: list[Chunk], documents: Mapping[str, str] | None = None
    ) -> list[RouteDecision]:
        """Route every chunk, store its language on it, report unsupported languages.

        A chunk of undetermined language (a short last chunk, a table) from a document
        in ``documents`` (id -> full text) takes the document's language when that is
        determined, so one document's chunks do not scatter over spaces.
        """
        decisions = self.router.route_many(chunks)
        doc_lang: dict[str, LanguageGuess] = {}
        for i, (c, d) in enumerate(zip(chunks, decisions, strict=True)):
            if d.language is None and documents and c.document_id in documents:
                if c.document_id not in doc_lang:
                    doc_lang[c.document_id] = self.router.detector.detect(
                        documents[c.document_id]
                    )
                decisions[i] = self.router.route(c, inherited_language=doc_lang[c.document_id])
            c.language = decisions[i].language
        self.router.report_unsupported(decisions, what="chunks")
        return decisions

    def _embed(
        self, chunks: list[Chunk], decisions: list[RouteDecision]
    ) -> dict[str, tuple[list[int], np.ndarray]]:
        """Embed each chunk into each of its spaces: space -> (chunk positions, vectors)."""
        members: dict[str, list[int]] = {}
        for i, d in enumerate(decisions):
            for space in d.spaces:
                members.setdefault(space, []).append(i)
        vectors: dict[str, tuple[list[int], np.ndarray]] = {}
        for space, idx in members.items():
            emb = self.router.embedder(space)
            vecs = emb.embed_documents([chunks[i].text for i in idx])
            vectors[space] = (idx, np.asarray(vecs, dtype=np.float32))
        return vectors

    def _upsert(
        self,
        chunks: list[Chunk],
        decisions: list[RouteDecision],
        vectors: Mapping[str, tuple[list[int], np.ndarray]],
        tenant: str | None,
    ) -> list[str]:
        """One upsert per set of spaces (a batch must give every chunk the same spaces)."""
        row = {space: {i: r for r, i in enumerate(idx)} for space, (idx, _) in vectors.items()}
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, d in enumerate(decisions):
            groups.setdefault(d.spaces, []).append(i)
        for spaces, idx in groups.items():
            batch = {s: vectors[s][1][[row[s][i] for i in idx]] for s in spaces}
            for s in spaces:
                for low, dims, layer_norm in self.low_spaces.get(s, ()):
                    batch[low] = low_vectors(batch[s], dims, layer_norm=layer_norm)
            self.store.upsert([chunks[i] for i in idx], batch, tenant=tenant)
        return [c.id for c in chunks]


class Retriever:
    """Query a store through the router: search the query's spaces, fuse, rerank.

    Args:
        store: The store ``Index`` wrote to.
        embedder_or_router: The same router (or ``Embedder``) the index used.
        mode: ``vector`` (near-vector per space), ``keyword`` (BM25 only) or ``hybrid``
            (BM25 + vector per space, fused by relative score with ``alpha``).
        alpha: Hybrid weight of the vector side, 0 = BM25 only, 1 = vector only.
        k: Hits returned.
        rrf_k: Reciprocal rank fusion constant used when several spaces are searched.
        funnel: ``(dims, shortlist)``: search each space's ``<space>_d<dims>`` companion
            for ``shortlist`` candidates and rescore them at full dims before fusion
            (``embedweave.funnel``; build the store with ``router.vector_spaces(
            funnel_dims=dims)`` so ``Index`` writes the low vectors).
        reranker: A ``Reranker``; it reorders the fused union of all candidates.
        candidates: Hits fetched per space before fusion (at least ``k``).
        space_weights: RRF weight per space name (default 1.0; 0 drops the space's
            list), e.g. to let the shared space outweigh a monolingual routed space.

    Raises:
        SpaceMismatchError: when the store's spaces differ from the router's.
    """

    def __init__(
        self,
        store: Store,
        embedder_or_router: Embedder | Router | Any,
        *,
        mode: Mode = "vector",
        alpha: float = 0.5,
        k: int = 10,
        rrf_k: int = 60,
        funnel: tuple[int, int] | None = None,
        reranker: Reranker | None = None,
        candidates: int = 50,
        space_weights: Mapping[str, float] | None = None,
    ) -> None:
        if mode not in ("vector", "keyword", "hybrid"):
            raise ValueError(f"mode must be 'vector', 'keyword' or 'hybrid', got {mode!r}")
        if not isinstance(rrf_k, int) or rrf_k <= 0:
            raise ValueError(f"rrf_k must be a positive integer, got {rrf_k!r}")
        self.store = store
        self.router = as_router(embedder_or_router)
        self.mode: Mode = mode
        self.alpha = validate_alpha(alpha)
        self.k = validate_k(k)
        self.rrf_k = rrf_k
        self.candidates = validate_k(candidates)
        self.reranker = reranker
        self.funnel = _check_funnel(funnel, mode)
        self.space_weights = dict(space_weights or {})
        for name, w in self.space_weights.items():
            if name not in self.router.spaces:
                raise ValueError(
                    f"space_weights names unknown space {name!r}; "
                    f"spaces: {sorted(self.router.spaces)}"
                )
            if not (isinstance(w, (int, float)) and w >= 0):
                raise ValueError(f"space weight of {name!r} must be a number >= 0, got {w!r}")
        if mode != "keyword":
            check_store_spaces(store, self.router)

    def route(self, query: str) -> RouteDecision:
        """Where ``query`` would be searched, and why."""
        return self.router.route(_check_query(query))

    def retrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: FilterLike = None,
        tenant: str | None = None,
    ) -> list[Hit]:
        """Top ``k`` hits for one query; each hit's ``spaces`` says which searches found it.

        Scores: the space's similarity (or hybrid score) when one space was searched,
        the RRF score when several were, the rerank score when a reranker is set.
        """
        return self.retrieve_many([query], k=k, filters=filters, tenant=tenant)[0]

    async def aretrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: FilterLike = None,
        tenant: str | None = None,
    ) -> list[Hit]:
        """``retrieve`` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.retrieve, query, k=k, filters=filters, tenant=tenant)

    def retrieve_many(
        self,
        queries: Sequence[str],
        *,
        k: int | None = None,
        filters: FilterLike = None,
        tenant: str | None = None,
    ) -> list[list[Hit]]:
        """``retrieve`` for many queries, embedding them in one batch per space."""
        if isinstance(queries, str):
            raise TypeError("retrieve_many takes a list of queries, not one string")
        queries = [_check_query(q) for q in queries]
        k = self.k if k is None else validate_k(k)
        pool = max(k, self.candidates)
        if self.funnel is not None:
            pool = max(k, min(pool, self.funnel[1]))
        if self.mode == "keyword":
            return [
                self._finish(
                    q, [self.store.keyword_search(q, k=pool, filters=filters, tenant=tenant)], k
                )
                for q in queries
            ]
        decisions = self.router.route_many(queries)
        self.router.report_unsupported(decisions, what="queries")
        qvecs = self._embed_queries(queries, decisions)
        out = []
        for qi, (q, d) in enumerate(zip(queries, decisions, strict=True)):
            lists: list[list[Hit]] = []
            for space in d.spaces:
                vec = qvecs[space][qi]
                if self.funnel is not None:
                    hits = funnel_search(
                        self.store, vec, space=space, funnel=self.funnel, k=pool,
                        filters=filters, tenant=tenant,
                    )
                elif self.mode == "vector":
                    hits = self.store.search(
                        vec, space=space, k=pool, filters=filters, tenant=tenant
                    )
                else:
                    hits = self.store.hybrid_search(
                        q, vec, space=space, alpha=self.alpha, k=pool, filters=filters,
                        tenant=tenant,
                    )
                lists.append(hits)
            out.append(self._finish(q, lists, k, d.spaces))
        return out

    async def aretrieve_many(
        self,
        queries: Sequence[str],
        *,
        k: int | None = None,
        filters: FilterLike = None,
        tenant: str | None = None,
    ) -> list[list[Hit]]:
        """``retrieve_many`` in a worker thread."""
        return await asyncio.to_thread(
            self.retrieve_many, queries, k=k, filters=filters, tenant=tenant
        )

    def _embed_queries(
        self, queries: Sequence[str], decisions: Sequence[RouteDecision]
    ) -> dict[str, dict[int, np.ndarray]]:
        members: dict[str, list[int]] = {}
        for i, d in enumerate(decisions):
            for space in d.spaces:
                members.setdefault(space, []).append(i)
        out: dict[str, dict[int, np.ndarray]] = {}
        for space, idx in members.items():
            vecs = self.router.embedder(space).embed_queries([queries[i] for i in idx])
            out[space] = {i: np.asarray(vecs[r], dtype=np.float32) for r, i in enumerate(idx)}
        return out

    def _finish(
        self, query: str, lists: list[list[Hit]], k: int, spaces: Sequence[str] = ()
    ) -> list[Hit]:
        """Fuse the per-space lists (RRF), rerank the union when configured; cut to ``k``."""
        weights = [self.space_weights.get(s, 1.0) for s in spaces] or [1.0] * len(lists)
        pairs = [(hits, w) for hits, w in zip(lists, weights, strict=True) if hits and w > 0]
        if len(pairs) > 1:
            fused = reciprocal_rank_fusion(
                [h for h, _ in pairs], k=self.rrf_k, weights=[w for _, w in pairs]
            )
        else:
            fused = list(pairs[0][0]) if pairs else []
        if self.reranker is not None and fused:
            # the fused retrieval is the reranker's first stage
            first = [
                dataclasses.replace(h, first_stage_score=None, first_stage_rank=None)
                for h in fused
            ]
            return self.reranker.rerank(query, first, top_n=k)[:k]
        return fused[:k]


def _check_funnel(funnel: tuple[int, int] | None, mode: str) -> tuple[int, int] | None:
    if funnel is None:
        return None
    if mode != "vector":
        raise ValueError(f"funnel search applies to mode='vector' only, not {mode!r}")
    if (
        not isinstance(funnel, tuple)
        or len(funnel) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in funnel)
    ):
        raise ValueError(f"funnel must be (dims, shortlist), positive integers; got {funnel!r}")
    return funnel


def _check_query(query: str) -> str:
    if not isinstance(query, str):
        raise TypeError(f"query must be a str, got {type(query).__name__}")
    if not query.strip():
        raise ValueError("query is empty")
    return query


def _check_documents(documents: Sequence[Document]) -> list[Document]:
    if isinstance(documents, Document):
        raise TypeError("add_documents takes a list of Documents, not one Document")
    docs = list(documents)
    seen: set[str] = set()
    for i, d in enumerate(docs):
        if not isinstance(d, Document):
            raise TypeError(f"item {i} is a {type(d).__name__}, not a Document")
        if not isinstance(d.id, str) or not d.id:
            raise ValueError(f"document {i} has no id; ids must be non-empty strings")
        if not isinstance(d.text, str):
            raise TypeError(f"document {d.id!r} text must be a str, got {type(d.text).__name__}")
        check_text(d.id, f"document {i} id")
        check_text(d.text, f"document {d.id!r} text")
        if d.language is not None:
            check_text(d.language, f"document {d.id!r} language")
        check_metadata(d.metadata, f"document {d.id!r}")
        if d.id in seen:
            raise ValueError(f"document id {d.id!r} appears twice in one call")
        seen.add(d.id)
    return docs


__all__ = [
    "DEFAULT_WINDOW",
    "EmptyDocumentWarning",
    "Index",
    "IngestResult",
    "Retriever",
    "default_chunker",
]

