"""The runtime ``Router``: detect a text's language, pick its spaces, embed it there.

Vectors of different spaces are never compared: each space is its own named vector,
and its recorded fingerprint covers the model weights, dims, prompts *and* which
languages the table routes to it, so a collection built with one route table refuses
to open with an incompatible one (``SpaceMismatchError``).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from embedweave.errors import EmbedweaveError
from embedweave.language import LanguageDetector, LanguageGuess
from embedweave.routing.table import (
    _LANG_RE,
    ANY,
    RouteTable,
    RoutingError,
    Space,
    _base_language,
    _hash,
)
from embedweave.store.base import VectorSpace
from embedweave.types import Chunk

if TYPE_CHECKING:
    from embedweave.embedding import Embedder


class UnsupportedLanguageWarning(UserWarning):
    """Text was embedded by a model that was not trained on its language."""


class UnsupportedLanguageError(EmbedweaveError):
    """Text would go to a model not trained on its language (``on_unsupported='error'``)."""


@dataclass(frozen=True)
class RouteDecision:
    """Where one text goes, and why.

    Attributes:
        language: Detected or forced language; ``None`` when undetermined.
        confidence: Detection confidence (1.0 when forced, 0.0 when too short).
        space: The routed space, or ``None`` when the text only goes to the shared space.
        shared: The shared space, or ``None``.
        forced: Whether the language was given (document or chunk), not detected.
        reason: Human-readable explanation, e.g. ``detected 'de' (0.99) -> rule '*'``.
    """

    language: str | None
    confidence: float
    space: str | None
    shared: str | None
    forced: bool
    reason: str

    @property
    def spaces(self) -> tuple[str, ...]:
        """Spaces to embed into / search, routed first, without duplicates."""
        out = [s for s in (self.space, self.shared) if s is not None]
        return tuple(dict.fromkeys(out))



class Router:
    """Route texts to embedding spaces and embed them there.

    Args:
        table: A ``RouteTable``, or its dict form.
        embedders: Ready ``Embedder`` objects by space name (share loaded models
            between routers); the others are built on first use from the table.
        detector: Language detector; defaults to one built from ``table.detection``.
        cache: Embedding cache handed to the embedders this router builds.
        batch_size: Batch size of the embedders this router builds; ``None``: each
            runtime's default (see ``Embedder``).
        device: Device of the embedders this router builds.
    """

    def __init__(
        self,
        table: RouteTable | Mapping[str, Any],
        *,
        embedders: Mapping[str, Embedder] | None = None,
        detector: LanguageDetector | None = None,
        cache: Any = None,
        batch_size: int | None = None,
        device: str | None = None,
    ) -> None:
        self.table = table if isinstance(table, RouteTable) else RouteTable.from_dict(table)
        self.detector = detector or LanguageDetector.from_dict(self.table.detection)
        self._embedders: dict[str, Embedder] = {}
        for name, emb in (embedders or {}).items():
            if name not in self.table.spaces:
                raise RoutingError(
                    f"embedder given for unknown space {name!r}; "
                    f"spaces: {sorted(self.table.spaces)}"
                )
            self._check_embedder(name, emb)
            self._embedders[name] = emb
        self._cache = cache
        self._batch_size = batch_size
        self._device = device
        self._lock = threading.Lock()
        self._single: VectorSpace | None = None

    @classmethod
    def single(cls, embedder: Embedder, name: str | None = None) -> Router:
        """A router with one space and no shared space: what a bare ``Embedder`` means.

        The store space is exactly ``embedder.space(name)``, so a store built from the
        embedder alone is compatible.
        """
        vs = embedder.space(name)
        space = Space(
            vs.name,
            embedder.model_name,
            embedder.dims,
        )
        router = cls(RouteTable(routes={ANY: vs.name}, spaces={vs.name: space}))
        router._embedders[vs.name] = embedder
        router._single = vs
        return router

    @property
    def spaces(self) -> dict[str, Space]:
        """The table's spaces by name."""
        return dict(self.table.spaces)  # type: ignore[arg-type]

    def _check_embedder(self, name: str, emb: Embedder) -> None:
        want = self.table.spaces[name]
        assert isinstance(want, Space)
        if want.dims is not None and emb.dims != want.dims:
            raise RoutingError(
                f"embedder for space {name!r} outputs {emb.dims} dims; the table says {want.dims}"
            )

    def embedder(self, space: str) -> Embedder:
        """The embedder of one space, built on first use."""
        with self._lock:
            if space not in self._embedders:
                if space not in self.table.spaces:
                    raise RoutingError(
                        f"unknown space {space!r}; spaces: {sorted(self.table.spaces)}"
                    )
                from embedweave.embedding import Embedder

                sp = self.table.spaces[space]
                assert isinstance(sp, Space)
                self._embedders[space] = Embedder(
                    sp.model,
                    dimensions=sp.dims,
                    batch_size=self._batch_size,
                    device=self._device,
                    query_prompt=sp.query_prompt,
                    document_prompt=sp.document_prompt,
                    cache=self._cache,
                )
            return self._embedders[space]

    def vector_space(self, space: str) -> VectorSpace:
        """The store's record of one space.

        Its fingerprint covers the embedder's (model weights, dims, normalisation,
        document prompt) and the route keys that send text to this space; its ``model``
        names those keys too, so a mismatch error says what changed.
        """
        if self._single is not None:
            return self._single
        emb = self.embedder(space)
        keys = self.table.languages_of(space)
        fp = _hash({"embedder": emb.fingerprint, "routes": keys})
        return VectorSpace(
            space, f"{emb.model_name} [routes: {', '.join(keys)}]", fp, emb.dims,
            dims_source=emb.dims_source,
        )  # fmt: skip

    def vector_spaces(self, *, funnel_dims: int | None = None) -> list[VectorSpace]:
        """Every space as the store should hold it; pass to ``MemoryStore``/``WeaviateStore``.

        Args:
            funnel_dims: Also add each space's low-dim funnel companion
                (``<space>_d<dims>``, see ``embedweave.funnel``); ``Index`` fills it and
                ``Retriever(funnel=(dims, shortlist))`` searches it.
        """
        spaces = [self.vector_space(name) for name in self.table.spaces]
        if funnel_dims is None:
            return spaces
        from embedweave.funnel import low_space

        return spaces + [low_space(vs, funnel_dims) for vs in spaces]

    # -- routing ----------------------------------------------------------------------
    def route(
        self,
        item: str | Chunk,
        *,
        language: str | None = None,
        inherited_language: LanguageGuess | None = None,
    ) -> RouteDecision:
        """Decide where a text or chunk goes.

        Args:
            item: A text, or a chunk (its ``language``, when set, is forced).
            language: Force this language instead of detecting it.
            inherited_language: The detected language of the text's document; taken,
                with its confidence, when the text's own language is undetermined (a
                short last chunk, a table), so one document's chunks stay together.

        Returns:
            The decision, with the reason.

        Raises:
            RoutingError: when the text has neither a routed nor a shared space.
        """
        if isinstance(item, Chunk):
            text, forced = item.text, language or item.language
        elif isinstance(item, str):
            text, forced = item, language
        else:
            raise TypeError(f"route() takes a str or Chunk, got {type(item).__name__}")
        if forced:
            if not _LANG_RE.match(forced):
                raise RoutingError(f"forced language {forced!r} is not a language code")
            lang: str | None = forced
            conf, why, is_forced = 1.0, f"forced {forced!r}", True
        else:
            guess = self.detector.detect(text)
            lang, conf, is_forced = guess.language, guess.confidence, False
            if guess.language is not None:
                why = f"detected {guess.language!r} ({guess.confidence:.2f})"
            elif guess.reason == "too_short":
                why = f"undetermined: text too short (< {self.detector.min_chars} letters)"
            elif guess.reason == "low_confidence":
                why = (
                    f"undetermined: best guess {guess.best!r} at {guess.confidence:.2f} "
                    f"< min_confidence {self.detector.min_confidence}"
                )
            else:
                why = "undetermined: no linguistic content"
            if lang is None and inherited_language is not None and inherited_language.language:
                lang, conf = inherited_language.language, inherited_language.confidence
                what = "chunk" if isinstance(item, Chunk) else "text"
                why = f"{what} undetermined; document detected {lang!r} ({conf:.2f})"
        space, rule = self.table.space_for(lang)
        shared = self.table.shared
        if space is None and shared is None:
            raise RoutingError(
                f"no route for language {lang!r} ({why}) and no shared space; add a '*' "
                "route, a fallback or a shared space"
            )
        target = f"{space!r}" if space else "shared space only"
        return RouteDecision(lang, conf, space, shared, is_forced, f"{why} -> {rule} -> {target}")

    def route_many(
        self, items: Sequence[str | Chunk], *, language: str | None = None
    ) -> list[RouteDecision]:
        """``route`` for each item, in order."""
        return [self.route(it, language=language) for it in items]

    def unsupported(
        self, decisions: Iterable[RouteDecision]
    ) -> dict[str, Counter[str]]:
        """Per space, counts of languages its model was not trained on."""
        out: dict[str, Counter[str]] = {}
        for d in decisions:
            if d.language is None:
                continue
            for space in d.spaces:
                langs = self.embedder(space).spec.languages
                if langs is None:
                    continue
                if _base_language(d.language) not in {_base_language(x) for x in langs}:
                    out.setdefault(space, Counter())[d.language] += 1
        return out

    def report_unsupported(self, decisions: Sequence[RouteDecision], *, what: str) -> None:
        """Warn (or raise, per ``on_unsupported``) about texts in unsupported languages.

        Args:
            decisions: Routing decisions of the texts about to be embedded.
            what: What the texts are (``chunks``, ``query``), for the message.

        Raises:
            UnsupportedLanguageError: when ``on_unsupported`` is ``error`` and any
                text's language is not supported by a space it goes to.
        """
        found = self.unsupported(decisions)
        if not found:
            return
        parts = []
        for space, counts in found.items():
            emb = self.embedder(space)
            langs = ", ".join(emb.spec.languages or ())
            detail = ", ".join(f"{lang}: {n}" for lang, n in counts.most_common())
            parts.append(
                f"space {space!r} (model {emb.model_name}, trained on {langs}) got "
                f"{sum(counts.values())} {what} in unsupported languages ({detail})"
            )
        msg = "; ".join(parts)
        if self.table.on_unsupported == "error":
            raise UnsupportedLanguageError(
                msg + ". Route these languages to a multilingual space."
            )
        warnings.warn(
            msg + "; embedded anyway (on_unsupported='warn'). Route these languages to a "
            "multilingual space.",
            UnsupportedLanguageWarning,
            stacklevel=3,
        )

    def to_dict(self) -> dict[str, Any]:
        """The route table's dict form."""
        return self.table.to_dict()

    def to_yaml(self) -> str:
        """The route table's YAML form."""
        return self.table.to_yaml()

    @classmethod
    def from_yaml(cls, source: str | os.PathLike[str], **kwargs: Any) -> Router:
        """A router from YAML text or file; ``kwargs`` go to the constructor."""
        return cls(RouteTable.from_yaml(source), **kwargs)

    @classmethod
    def from_settings(
        cls,
        *,
        model: str = "minilm",
        dims: int | None = None,
        routing: RouteTable | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        cache: Any = None,
        base_url: str | None = None,
    ) -> Router:
        """The router that command-line flags or an evaluation config describe.

        Args:
            model: The one model when there is no ``routing``; ignored with it.
            dims: Its Matryoshka dims; ``None`` = native.
            routing: A route table, its dict form, or YAML text or file.
            cache: Embedding cache of every embedder.
            base_url: API root of an ``openai:`` model (an OpenAI-compatible server).
        """
        if routing is not None:
            if isinstance(routing, (str, os.PathLike)):
                return cls.from_yaml(routing, cache=cache)
            return cls(routing, cache=cache)
        from embedweave.embedding import Embedder

        return cls.single(Embedder(model, dimensions=dims, cache=cache, base_url=base_url))

    def __repr__(self) -> str:
        return f"Router({self.table.to_dict()!r})"


def as_router(embedder_or_router: Any) -> Router:
    """A ``Router`` from a router, a route table (object or dict) or a single ``Embedder``."""
    if isinstance(embedder_or_router, Router):
        return embedder_or_router
    if isinstance(embedder_or_router, RouteTable):
        return Router(embedder_or_router)
    if isinstance(embedder_or_router, Mapping):
        return Router(RouteTable.from_dict(embedder_or_router))
    if hasattr(embedder_or_router, "embed_documents") and hasattr(embedder_or_router, "space"):
        return Router.single(embedder_or_router)
    raise TypeError(
        "expected an Embedder, a Router or a route table, got "
        f"{type(embedder_or_router).__name__}"
    )
