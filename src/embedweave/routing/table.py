"""Route-table configuration: spaces, language rules, fallback and shared space, as dict/YAML.

A *space* is one embedding configuration (model + output dims + prompts) stored as one
named vector. The *route table* sends each language to a space, in order, with ``*``
for every other language; text whose language is undetermined (too short, ambiguous)
goes to the *fallback* space. Every chunk is also embedded into the *shared* space,
when one is configured, so a query in any language can find it there: that is what
makes cross-lingual search work when the routed spaces are monolingual.

This module only describes and validates a table; ``embedweave.routing.router`` runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from embedweave.errors import EmbedweaveError
from embedweave.language import LanguageDetector
from embedweave.store.base import VectorSpace

OnUnsupported = Literal["warn", "error"]

#: Route key that matches every determined language not matched by an earlier rule.
ANY = "*"

_LANG_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$", re.IGNORECASE)


class RoutingError(EmbedweaveError):
    """A route table is invalid, or a text has no space to go to."""


def space_name_for(model: str) -> str:
    """A valid named-vector name for a model: ``use-multilingual`` -> ``use_multilingual``."""
    base = str(model).rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^0-9A-Za-z_]+", "_", base).strip("_") or "space"
    return name if (name[0].isalpha() or name[0] == "_") else "m_" + name


def _base_language(code: str) -> str:
    """Primary subtag, lower case: ``zh-TW`` -> ``zh``."""
    return code.split("-", 1)[0].split("_", 1)[0].lower()


def _hash(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Space:
    """One embedding space: a model at some output dims with its prompts.

    Attributes:
        name: Named-vector name in the store (letters, digits, ``_``).
        model: Bundled name, Hugging Face id or local path (see ``resolve_model``).
        dims: Output dims (Matryoshka truncation); ``None`` = the model's native dims.
        query_prompt: Prefix for queries; ``None`` = the prompt saved with the model.
        document_prompt: Prefix for documents; ``None`` = the prompt saved with the model.
    """

    name: str
    model: str
    dims: int | None = None
    query_prompt: str | None = None
    document_prompt: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise RoutingError(f"space {self.name!r}: model must be a non-empty string")
        if self.dims is not None and (not isinstance(self.dims, int) or self.dims <= 0):
            raise RoutingError(
                f"space {self.name!r}: dims must be a positive integer, got {self.dims!r}"
            )
        # validates the name with the store's rules
        VectorSpace(self.name, self.model, "-", 1)

    @property
    def fingerprint(self) -> str:
        """Deterministic hash of this configuration (not of the weights: see ``Router``)."""
        return _hash(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """Plain form for the route table's dict/YAML."""
        out: dict[str, Any] = {"model": self.model}
        for key in ("dims", "query_prompt", "document_prompt"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any] | str) -> Space:
        """Inverse of ``to_dict``; a bare string is a model name."""
        if isinstance(data, str):
            return cls(name, data)
        allowed = {"model", "dims", "query_prompt", "document_prompt"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise RoutingError(
                f"space {name!r}: unknown option(s) {unknown}; use {sorted(allowed)}"
            )
        if "model" not in data:
            raise RoutingError(f"space {name!r}: 'model' is required")
        return cls(name, **dict(data))



@dataclass
class RouteTable:
    """Ordered language -> space rules, a fallback, and an optional shared space.

    Route values and ``shared``/``fallback`` may name a declared space or, for short,
    a model: ``{"en": "minilm", "*": "use-multilingual"}`` declares the spaces
    ``minilm`` and ``use_multilingual`` itself.

    Args:
        routes: Ordered mapping: language code (``"en"``), comma-separated codes
            (``"de,es"``) or ``"*"`` (last) -> space or model name.
        spaces: Declared spaces by name (``Space``, a dict, or a model name string).
        shared: Space every chunk is also embedded into (cross-lingual search).
        fallback: Space for text of undetermined language; defaults to the ``*`` route,
            else the shared space.
        detection: ``LanguageDetector`` options (``min_chars``, ``min_confidence``,
            ``languages``, ``aliases``).
        on_unsupported: ``warn`` (embed and warn with counts) or ``error`` when a text's
            language is not among those its space's model was trained on.

    Raises:
        RoutingError: naming the problem (unknown space, duplicate language, ...).
    """

    routes: Mapping[str, str]
    spaces: Mapping[str, Space | Mapping[str, Any] | str] = field(default_factory=dict)
    shared: str | None = None
    fallback: str | None = None
    detection: Mapping[str, Any] = field(default_factory=dict)
    on_unsupported: OnUnsupported = "warn"

    def __post_init__(self) -> None:
        declared: dict[str, Space] = {}
        for name, spec in dict(self.spaces).items():
            sp = spec if isinstance(spec, Space) else Space.from_dict(name, spec)
            if sp.name != name:
                raise RoutingError(f"space declared as {name!r} is named {sp.name!r}")
            declared[name] = sp
        self.spaces = declared
        if not isinstance(self.routes, Mapping):
            raise RoutingError(f"routes must be a mapping, got {type(self.routes).__name__}")
        rules: dict[str, str] = {}
        self._lang_to_space: dict[str, str] = {}
        self._any: str | None = None
        keys = list(self.routes)
        for pos, key in enumerate(keys):
            target = self._space_ref(self.routes[key], f"route {key!r}")
            langs = [k.strip() for k in str(key).split(",") if k.strip()]
            if not langs:
                raise RoutingError(f"route key {key!r} names no language")
            if ANY in langs:
                if langs != [ANY]:
                    raise RoutingError(f"route key {key!r}: '*' must stand alone")
                if pos != len(keys) - 1:
                    raise RoutingError(
                        "route '*' must be the last rule (rules after it would never "
                        f"match): {keys}"
                    )
                self._any = target
            for lang in langs:
                if lang == ANY:
                    continue
                if not _LANG_RE.match(lang):
                    raise RoutingError(f"route key {key!r}: {lang!r} is not a language code")
                low = lang.lower()
                if low in self._lang_to_space:
                    raise RoutingError(f"language {lang!r} appears in two routes")
                self._lang_to_space[low] = target
            rules[",".join(langs)] = target
        self.routes = rules
        self.shared = self._space_ref(self.shared, "shared") if self.shared else None
        if self.fallback:
            self.fallback = self._space_ref(self.fallback, "fallback")
        if not self.routes and self.shared is None:
            raise RoutingError("a route table needs at least one route or a shared space")
        if self.on_unsupported not in ("warn", "error"):
            raise RoutingError(
                f"on_unsupported must be 'warn' or 'error', got {self.on_unsupported!r}"
            )
        self.detection = dict(self.detection)
        LanguageDetector.from_dict(self.detection)  # validate early
        used = set(self.routes.values()) | {self.shared, self.fallback} - {None}
        unused = sorted(set(self.spaces) - used)
        if unused:
            raise RoutingError(f"space(s) {unused} are declared but no route uses them")

    def _space_ref(self, ref: str | None, where: str) -> str:
        """Resolve a space-or-model reference, declaring a space for a bare model name."""
        if not isinstance(ref, str) or not ref:
            raise RoutingError(f"{where}: expected a space or model name, got {ref!r}")
        assert isinstance(self.spaces, dict)
        if ref in self.spaces:
            return ref
        name = space_name_for(ref)
        if name in self.spaces:
            if self.spaces[name].model != ref:
                raise RoutingError(
                    f"{where}: {ref!r} would be space {name!r}, already declared for model "
                    f"{self.spaces[name].model!r}"
                )
            return name
        self.spaces[name] = Space(name, ref)
        return name

    @property
    def default_space(self) -> str | None:
        """The space of undetermined text: fallback, else ``*``, else none (shared only)."""
        return self.fallback or self._any

    def space_for(self, language: str | None) -> tuple[str | None, str]:
        """The routed space of a language, and which rule chose it."""
        if language is None:
            space = self.default_space
            return space, ("fallback" if self.fallback else "rule '*'" if space else "no route")
        low = language.lower()
        if low in self._lang_to_space:
            return self._lang_to_space[low], f"rule {language!r}"
        base = _base_language(low)
        if base in self._lang_to_space:
            return self._lang_to_space[base], f"rule {base!r}"
        if self._any is not None:
            return self._any, "rule '*'"
        return None, "no route"

    def languages_of(self, space: str) -> list[str]:
        """What the space holds, as route keys: the basis of its store fingerprint.

        The shared space holds every chunk whatever the routes say (``["shared"]``);
        another space holds its explicit languages, ``* -xx ...`` for the catch-all
        route minus the languages routed elsewhere, and ``fallback``. Two tables give a
        space the same keys exactly when they put the same chunks into it.
        """
        if self.shared == space:
            return ["shared"]
        keys = sorted(lang for lang, s in self._lang_to_space.items() if s == space)
        if self._any == space:
            others = sorted(lang for lang, s in self._lang_to_space.items() if s != space)
            keys.append(" ".join([ANY] + [f"-{lang}" for lang in others]))
        if self.default_space == space:
            keys.append("fallback")
        return keys

    @property
    def fingerprint(self) -> str:
        """Hash of the whole table's configuration (routes, spaces, shared, fallback)."""
        return _hash(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """Plain, ordered form; ``RouteTable.from_dict(t.to_dict())`` equals ``t``."""
        out: dict[str, Any] = {
            "spaces": {n: s.to_dict() for n, s in self.spaces.items()},  # type: ignore[union-attr]
            "routes": dict(self.routes),
        }
        if self.shared:
            out["shared"] = self.shared
        if self.fallback:
            out["fallback"] = self.fallback
        if self.detection:
            out["detection"] = dict(self.detection)
        if self.on_unsupported != "warn":
            out["on_unsupported"] = self.on_unsupported
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RouteTable:
        """Build from the dict form (``routes`` required; see the class doc)."""
        if not isinstance(data, Mapping):
            raise RoutingError(f"route table must be a mapping, got {type(data).__name__}")
        allowed = {"routes", "spaces", "shared", "fallback", "detection", "on_unsupported"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise RoutingError(f"unknown route table key(s) {unknown}; use {sorted(allowed)}")
        if "routes" not in data and "shared" not in data:
            raise RoutingError("route table needs 'routes' (language -> space) or 'shared'")
        return cls(
            routes=dict(data.get("routes") or {}),
            spaces=dict(data.get("spaces") or {}),
            shared=data.get("shared"),
            fallback=data.get("fallback"),
            detection=dict(data.get("detection") or {}),
            on_unsupported=data.get("on_unsupported", "warn"),
        )

    def to_yaml(self) -> str:
        """YAML text of ``to_dict`` (key order kept)."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, source: str | os.PathLike[str]) -> RouteTable:
        """Build from YAML text or a ``.yaml``/``.yml`` file path."""
        import yaml

        text = str(source)
        if isinstance(source, os.PathLike) or (
            "\n" not in text and text.endswith((".yaml", ".yml"))
        ):
            text = Path(source).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        return cls.from_dict(data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RouteTable) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]
