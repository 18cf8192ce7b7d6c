"""Route tables and routing decisions: config round trips, decisions with reasons,
fingerprints that make an incompatible table detectable, unsupported-language reports."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from embedweave.embedding import Embedder
from embedweave.errors import SpaceMismatchError
from embedweave.pipeline import check_store_spaces
from embedweave.routing import (
    Router,
    RouteTable,
    RoutingError,
    Space,
    UnsupportedLanguageError,
    UnsupportedLanguageWarning,
    as_router,
    space_name_for,
)
from embedweave.store.memory import MemoryStore
from embedweave.types import Chunk

TABLE = {
    "routes": {"en": "minilm", "*": "use-multilingual"},
    "shared": "use-multilingual",
}

# XQuAD questions, one per benchmark language.
QUESTIONS = {
    "en": "How many points did the Panthers defense surrender?",
    "de": "Wie viele Punkte gab die Verteidigung der Panthers ab?",
    "es": "¿Cuántos puntos dejaron escapar en defensa los Panthers?",
    "ru": "Сколько очков уступила защита Пэнтерс?",
    "zh": "黑豹队的防守丢了多少分？",
}


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return Embedder("minilm")


@pytest.fixture(scope="module")
def use() -> Embedder:
    return Embedder("use-multilingual")


@pytest.fixture(scope="module")
def router(minilm: Embedder, use: Embedder) -> Router:
    return Router(TABLE, embedders={"minilm": minilm, "use_multilingual": use})


# -- configuration --------------------------------------------------------------------


def test_shorthand_declares_spaces_from_model_names() -> None:
    table = RouteTable.from_dict(TABLE)
    assert list(table.spaces) == ["minilm", "use_multilingual"]
    assert table.spaces["use_multilingual"] == Space("use_multilingual", "use-multilingual")
    assert table.routes == {"en": "minilm", "*": "use_multilingual"}
    assert table.shared == "use_multilingual"
    assert table.default_space == "use_multilingual"


def test_dict_and_yaml_round_trip(tmp_path: Path) -> None:
    table = RouteTable(
        routes={"en": "minilm", "de,es": "e5", "*": "use"},
        spaces={
            "minilm": Space("minilm", "minilm"),
            "e5": {
                "model": "intfloat/multilingual-e5-small",
                "dims": 256,
                "query_prompt": "query: ",
                "document_prompt": "passage: ",
            },
            "use": "use-multilingual",
        },
        shared="use",
        fallback="e5",
        detection={"min_confidence": 0.6},
        on_unsupported="error",
    )
    data = table.to_dict()
    assert list(data["routes"]) == ["en", "de,es", "*"]  # order kept
    assert RouteTable.from_dict(data) == table
    text = table.to_yaml()
    assert "passage: " in text
    assert RouteTable.from_yaml(text) == table
    path = tmp_path / "routes.yaml"
    path.write_text(text, encoding="utf-8")
    assert RouteTable.from_yaml(path) == table
    assert RouteTable.from_yaml(str(path)) == table
    assert RouteTable.from_dict(data).fingerprint == table.fingerprint


def test_space_fingerprint_is_deterministic_and_config_sensitive() -> None:
    a = Space("e5", "intfloat/multilingual-e5-small", query_prompt="query: ")
    assert a.fingerprint == Space("e5", "intfloat/multilingual-e5-small",
                                  query_prompt="query: ").fingerprint
    assert a.fingerprint != Space("e5", "intfloat/multilingual-e5-small").fingerprint
    assert a.fingerprint != Space("e5", "intfloat/multilingual-e5-small", dims=128,
                                  query_prompt="query: ").fingerprint


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"routes": {"*": "minilm", "en": "minilm"}}, "last rule"),
        ({"routes": {"en": "minilm", "en,de": "use-multilingual"}}, "appears in two routes"),
        ({"routes": {"english": "minilm"}}, "not a language code"),
        ({"routes": {"en": "minilm"}, "colour": 1}, "unknown route table key"),
        ({"routes": {"en": "a"}, "spaces": {"a": "minilm", "b": "minilm"}}, "no route uses"),
        ({"routes": {"en": "a"}, "spaces": {"a": {"model": "minilm", "dim": 3}}}, "unknown option"),
        ({"routes": {"en": "a"}, "spaces": {"a": {"model": "minilm", "dims": 0}}}, "dims"),
        ({"routes": {"en": "a"}, "spaces": {"a": {"dims": 3}}}, "'model' is required"),
        ({"routes": {"en": "minilm"}, "on_unsupported": "ignore"}, "on_unsupported"),
        ({"routes": {"en": "minilm"}, "detection": {"min_confidence": 2}}, "min_confidence"),
        ({"spaces": {}}, "needs 'routes'"),
    ],
)
def test_invalid_tables_are_rejected(data: dict, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises((RoutingError, ValueError), match=match):
        RouteTable.from_dict(data)


def test_space_names_from_models() -> None:
    assert space_name_for("use-multilingual") == "use_multilingual"
    assert space_name_for("intfloat/multilingual-e5-small") == "multilingual_e5_small"
    assert space_name_for("/models/3d-model/") == "m_3d_model"


# -- decisions ------------------------------------------------------------------------


def test_routes_the_five_benchmark_languages() -> None:
    router = Router(TABLE)  # routing needs no model
    for lang, question in QUESTIONS.items():
        d = router.route(question)
        assert d.language == lang, d.reason
        assert not d.forced
        assert d.confidence >= 0.5
        want = "minilm" if lang == "en" else "use_multilingual"
        assert d.space == want
        assert d.shared == "use_multilingual"
        assert d.spaces == ((want, "use_multilingual") if lang == "en" else (want,))
        assert f"detected {lang!r}" in d.reason
        assert ("rule 'en'" if lang == "en" else "rule '*'") in d.reason


def test_short_and_ambiguous_text_falls_back() -> None:
    table = dict(TABLE, routes={"en": "minilm", "de": "use-multilingual"}, fallback="minilm")
    router = Router(table)
    short = router.route("ok")
    assert short.language is None and short.space == "minilm"
    assert "too short" in short.reason and "fallback" in short.reason
    ambiguous = router.route("DNA repair")
    assert ambiguous.language is None and ambiguous.space == "minilm"
    assert "undetermined" in ambiguous.reason and "min_confidence" in ambiguous.reason
    # a language with no rule and no '*' goes to the shared space only
    fr = router.route("Où se trouve la bibliothèque la plus proche ?")
    assert fr.language == "fr" and fr.space is None and fr.spaces == ("use_multilingual",)


def test_default_fallback_is_the_star_route() -> None:
    d = Router(TABLE).route("ok")
    assert d.language is None and d.space == "use_multilingual"


def test_forced_language_per_text_or_chunk() -> None:
    router = Router(TABLE)
    assert router.route(QUESTIONS["de"], language="en").space == "minilm"
    forced = router.route(Chunk("d", 0, QUESTIONS["de"], language="en"))
    assert forced.forced and forced.language == "en" and forced.confidence == 1.0
    assert "forced 'en'" in forced.reason
    # a region subtag routes by its primary language
    assert router.route("anything", language="en-GB").space == "minilm"
    with pytest.raises(RoutingError, match="not a language code"):
        router.route("x", language="english!")


def test_undetermined_text_inherits_its_documents_language() -> None:
    table = dict(TABLE, routes={"en": "minilm", "de": "use-multilingual"}, fallback="minilm")
    router = Router(table)
    german = router.detector.detect(
        "Die Verteidigung der Panthers gab in der ganzen Saison nur wenige Punkte ab."
    )
    assert german.language == "de"
    d = router.route(Chunk("doc", 3, "Ok."), inherited_language=german)
    assert d.language == "de" and d.space == "use_multilingual" and not d.forced
    assert d.confidence == german.confidence
    why = f"chunk undetermined; document detected 'de' ({german.confidence:.2f})"
    assert d.reason.startswith(why)
    assert "rule 'de'" in d.reason
    # a text's own language, detected or forced, wins over its document's
    assert router.route(QUESTIONS["en"], inherited_language=german).language == "en"
    assert router.route("Ok.", language="en", inherited_language=german).space == "minilm"
    # an undetermined document changes nothing: the fallback route
    unknown = router.detector.detect("ok")
    assert router.route("Ok.", inherited_language=unknown).space == "minilm"
    assert "text too short" in router.route("Ok.", inherited_language=unknown).reason


def test_no_route_and_no_shared_space_is_an_error() -> None:
    router = Router({"routes": {"en": "minilm"}})
    with pytest.raises(RoutingError, match="no route for language 'de'"):
        router.route(QUESTIONS["de"])


# -- spaces, fingerprints, compatibility ------------------------------------------------


def test_vector_spaces_record_models_and_routes(router: Router, minilm: Embedder) -> None:
    spaces = {vs.name: vs for vs in router.vector_spaces()}
    assert set(spaces) == {"minilm", "use_multilingual"}
    assert spaces["minilm"].dims == 384 and spaces["use_multilingual"].dims == 512
    assert spaces["minilm"].model == "minilm [routes: en]"
    # the shared space holds every chunk, whatever the routes say
    assert spaces["use_multilingual"].model == "use-multilingual [routes: shared]"
    # deterministic across routers
    again = Router(TABLE, embedders={"minilm": minilm})
    assert [vs.fingerprint for vs in again.vector_spaces()] == [
        vs.fingerprint for vs in router.vector_spaces()
    ]


def test_incompatible_route_table_is_detected(router: Router, minilm: Embedder,
                                              use: Embedder) -> None:
    store = MemoryStore(router.vector_spaces(), name="xq")
    check_store_spaces(store, router)  # same table: fine
    other = Router(
        {"routes": {"en,de": "minilm", "*": "use-multilingual"}, "shared": "use-multilingual"},
        embedders={"minilm": minilm, "use_multilingual": use},
    )
    with pytest.raises(SpaceMismatchError) as err:
        check_store_spaces(store, other)
    msg = str(err.value)
    assert "'minilm [routes: en]'" in msg and "'minilm [routes: de, en]'" in msg
    # the shared space's content does not depend on the routes: same record
    assert other.vector_space("use_multilingual") == router.vector_space("use_multilingual")
    # a catch-all space records which languages it does not hold
    no_shared = Router({"routes": {"en": "minilm", "*": "use-multilingual"}},
                       embedders={"minilm": minilm, "use_multilingual": use})
    assert no_shared.vector_space("use_multilingual").model == (
        "use-multilingual [routes: * -en, fallback]"
    )
    more = Router({"routes": {"en": "minilm", "de": "minilm", "*": "use-multilingual"}},
                  embedders={"minilm": minilm, "use_multilingual": use})
    assert more.vector_space("use_multilingual").model == (
        "use-multilingual [routes: * -de -en, fallback]"
    )
    assert more.vector_space("use_multilingual").fingerprint != (
        no_shared.vector_space("use_multilingual").fingerprint
    )
    # a space the store lacks is named too
    renamed = Router(
        {"routes": {"en": "mini", "*": "use-multilingual"}, "shared": "use-multilingual",
         "spaces": {"mini": "minilm"}},
        embedders={"mini": minilm, "use_multilingual": use},
    )
    with pytest.raises(SpaceMismatchError, match="no space 'mini'"):
        check_store_spaces(store, renamed)


def test_single_embedder_is_one_space(minilm: Embedder) -> None:
    router = as_router(minilm)
    assert router.vector_spaces() == [minilm.space()]
    d = router.route(QUESTIONS["en"])
    assert d.spaces == (minilm.space().name,) and d.language == "en"


def test_one_constructor_for_settings(tmp_path: Path) -> None:
    # a route table wins (dict, object or YAML file), as the CLI's --routing and eval do
    path = tmp_path / "routes.yaml"
    path.write_text(RouteTable.from_dict(TABLE).to_yaml(), encoding="utf-8")
    for routing in (TABLE, RouteTable.from_dict(TABLE), path, str(path)):
        router = Router.from_settings(model="ignored", routing=routing)
        assert router.table == RouteTable.from_dict(TABLE)
    # else one model at some dims: the single-space router of that embedder
    single = Router.from_settings(model="wordllama-256", dims=64)
    assert single.vector_spaces() == [Embedder("wordllama-256", dimensions=64).space()]
    assert single.embedder(single.vector_spaces()[0].name).dims == 64


def test_prompts_reach_the_embedder() -> None:
    router = Router({
        "routes": {"*": "p"},
        "spaces": {"p": {"model": "minilm", "query_prompt": "query: ",
                         "document_prompt": "passage: "}},
    })
    emb = router.embedder("p")
    assert emb.query_prompt == "query: " and emb.document_prompt == "passage: "
    plain = Router({"routes": {"*": "minilm"}})
    # the document prompt changes the stored vectors, so the space's fingerprint differs
    assert router.vector_space("p").fingerprint != plain.vector_space("minilm").fingerprint


def test_embedder_dims_must_match_the_table(minilm: Embedder) -> None:
    with pytest.raises(RoutingError, match="outputs 384 dims; the table says 128"):
        Router({"routes": {"*": "m"}, "spaces": {"m": {"model": "minilm", "dims": 128}}},
               embedders={"m": minilm})


# -- unsupported languages ------------------------------------------------------------


def test_unsupported_language_is_reported_with_counts(minilm: Embedder) -> None:
    router = Router({"routes": {"*": "minilm"}}, embedders={"minilm": minilm})
    decisions = router.route_many([QUESTIONS["de"], QUESTIONS["zh"], QUESTIONS["de"],
                                   QUESTIONS["en"], "ok"])
    assert router.unsupported(decisions) == {"minilm": {"de": 2, "zh": 1}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        router.report_unsupported(decisions, what="chunks")
    msgs = [str(w.message) for w in caught if w.category is UnsupportedLanguageWarning]
    assert len(msgs) == 1
    assert "space 'minilm'" in msgs[0] and "3 chunks" in msgs[0] and "de: 2" in msgs[0]
    strict = Router({"routes": {"*": "minilm"}, "on_unsupported": "error"},
                    embedders={"minilm": minilm})
    with pytest.raises(UnsupportedLanguageError, match="zh: 1"):
        strict.report_unsupported(decisions, what="chunks")


def test_supported_languages_are_not_reported(router: Router) -> None:
    decisions = router.route_many(list(QUESTIONS.values()))
    assert router.unsupported(decisions) == {}
