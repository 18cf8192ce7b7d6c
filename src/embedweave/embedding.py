"""``Embedder``: texts -> L2-normalised float32 vectors, with prompts, dims and a cache.

One class for every model (sentence-transformers folders and hub ids, the bundled
WordLlama static model, USE multilingual). It validates input before embedding
anything, counts and reports truncated inputs, truncates to Matryoshka dims, and looks
vectors up in a persistent cache so unchanged texts are never embedded twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedweave.backends import Backend, load_backend
from embedweave.cache import EmbeddingCache, sha256_text
from embedweave.matryoshka import check_dims, l2_normalize, truncate
from embedweave.models import ModelSpec, resolve_model
from embedweave.store.base import VectorSpace


class TruncationWarning(UserWarning):
    """Some inputs were longer than the model's token window and were cut."""


@dataclass(frozen=True)
class EmbedderStats:
    """Counters of one ``Embedder`` since it was made.

    Attributes:
        calls: Model invocations (one per ``embed_*`` call that had anything to embed).
        embedded: Texts sent to the model.
        truncated: Texts that exceeded the token window.
        cache_hits: Texts answered by the cache.
        cache_misses: Texts the cache did not have.
    """

    calls: int
    embedded: int
    truncated: int
    cache_hits: int
    cache_misses: int


def validate_texts(texts: Iterable[Any], what: str = "text") -> list[str]:
    """Check every item is a non-blank ``str``; raise naming the first bad index.

    Raises:
        TypeError: ``texts`` is a single string or not iterable.
        ValueError: an item is None, not a str, or empty/whitespace only.
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            f"expected a list of strings, got a single {type(texts).__name__}; wrap it in a "
            "list, or use embed_query for one query"
        )
    try:
        items = list(texts)
    except TypeError as exc:
        raise TypeError(f"expected a list of strings, got {type(texts).__name__}") from exc
    for i, t in enumerate(items):
        if t is None:
            raise ValueError(f"{what} at index {i} is None; nothing was embedded")
        if not isinstance(t, str):
            raise ValueError(
                f"{what} at index {i} is a {type(t).__name__}, not a str; nothing was embedded"
            )
        if not t.strip():
            raise ValueError(f"{what} at index {i} is empty or blank; nothing was embedded")
    return items


def space_name(model_name: str, dims: int | None = None) -> str:
    """A valid named-vector name for a model (and dims): ``BAAI/bge-small`` -> ``BAAI_bge_small``.

    Example: ``space_name("minilm", 128)`` -> ``minilm_d128``.
    """
    base = re.sub(r"[^0-9A-Za-z_]+", "_", model_name).strip("_") or "model"
    if not (base[0].isalpha() or base[0] == "_"):
        base = f"m_{base}"
    return f"{base}_d{dims}" if dims else base


class Embedder:
    """Embeds documents and queries with one model.

    Args:
        model: Bundled name (``minilm``, ``wordllama-256``, ``use-multilingual``), local
            folder, Hugging Face id, or a ``ModelSpec``.
        dimensions: Output dims (Matryoshka truncation, then renormalisation); ``None``
            keeps the native dims. Must be <= native dims; warns once when the model was
            not trained for that size.
        batch_size: Texts per forward pass.
        device: ``cuda``, ``mps``, ``cpu``...; ``None`` picks cuda > mps > cpu.
        normalize: L2-normalise outputs (cosine = dot product).
        query_prompt: Prepended to queries; ``None`` uses the prompt saved with the model
            (if any), ``""`` disables it.
        document_prompt: Prepended to documents; same rules.
        cache: ``EmbeddingCache`` or path of its SQLite file; ``None``: no cache.
        layer_norm: Layer-norm before Matryoshka slicing; ``None`` follows the model spec.
        fp16: Half-precision weights; ``None`` means on CUDA only.
        trust_remote_code: Let a sentence-transformers model run code from its folder.

    Attributes:
        spec: The resolved model.
        model_name: ``spec.name``.
        dims: Output dims.
        fingerprint: Identifies the vectors this embedder makes: model weights, dims,
            normalisation (and layer norm / document prompt when used).
        calls: Model invocations so far; 0 new calls when everything came from the cache.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | ModelSpec = "minilm",
        *,
        dimensions: int | None = None,
        batch_size: int = 64,
        device: str | None = None,
        normalize: bool = True,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        cache: EmbeddingCache | str | os.PathLike[str] | None = None,
        layer_norm: bool | None = None,
        fp16: bool | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        for label, value in (("query_prompt", query_prompt), ("document_prompt", document_prompt)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{label} must be a str or None, got {type(value).__name__}")
        self.spec: ModelSpec = resolve_model(model)
        self.model_name = self.spec.name
        if dimensions is None:
            self.dims = self.spec.dims
        else:
            check_dims(self.spec, dimensions)
            self.dims = int(dimensions)
        self.truncating = self.dims < self.spec.dims
        self.normalize = bool(normalize)
        self.layer_norm = self.spec.layer_norm if layer_norm is None else bool(layer_norm)
        self.batch_size = batch_size
        self.query_prompt = self.spec.query_prompt if query_prompt is None else query_prompt
        self.document_prompt = (
            self.spec.document_prompt if document_prompt is None else document_prompt
        )
        self.cache: EmbeddingCache | None = (
            cache if isinstance(cache, EmbeddingCache) or cache is None else EmbeddingCache(cache)
        )
        self._backend: Backend = load_backend(
            self.spec, device, fp16=fp16, trust_remote_code=trust_remote_code
        )
        self.device = self._backend.device
        self.max_seq_length = self._backend.max_seq_length
        self.fingerprint = self._make_fingerprint()
        self._lock = threading.Lock()
        self.calls = 0
        self.embedded = 0
        self.truncated = 0
        self._cache_hits = 0
        self._cache_misses = 0

    def _make_fingerprint(self) -> str:
        parts = [self.spec.fingerprint, f"d{self.dims}", "l2" if self.normalize else "raw"]
        if self.layer_norm and self.truncating:
            parts.append("ln")
        if self.document_prompt:
            # Stored vectors depend on the document prompt; the query prompt may change freely.
            parts.append("p" + hashlib.sha256(self.document_prompt.encode()).hexdigest()[:8])
        return "-".join(parts)

    # ---- public API --------------------------------------------------------------------

    def embed_documents(
        self, texts: Sequence[str], *, prompt: str | None = None, show_progress: bool = False
    ) -> np.ndarray:
        """Embed documents -> float32 array (len(texts), dims).

        Args:
            texts: Non-blank strings.
            prompt: Overrides the document prompt for this call (``""``: none).
            show_progress: Show the model's progress bar.
        """
        p = self.document_prompt if prompt is None else prompt
        return self._embed(validate_texts(texts), p, show_progress)

    def embed_queries(self, texts: Sequence[str], *, prompt: str | None = None) -> np.ndarray:
        """Embed queries (query prompt applied) -> float32 array (len(texts), dims)."""
        p = self.query_prompt if prompt is None else prompt
        return self._embed(validate_texts(texts, "query"), p, False)

    def embed_query(self, text: str, *, prompt: str | None = None) -> np.ndarray:
        """Embed one query -> float32 vector (dims,)."""
        p = self.query_prompt if prompt is None else prompt
        return self._embed(validate_texts([text], "query"), p, False)[0]

    async def aembed_documents(
        self, texts: Sequence[str], *, prompt: str | None = None
    ) -> np.ndarray:
        """``embed_documents`` in a worker thread."""
        return await asyncio.to_thread(self.embed_documents, texts, prompt=prompt)

    async def aembed_queries(
        self, texts: Sequence[str], *, prompt: str | None = None
    ) -> np.ndarray:
        """``embed_queries`` in a worker thread."""
        return await asyncio.to_thread(self.embed_queries, texts, prompt=prompt)

    async def aembed_query(self, text: str, *, prompt: str | None = None) -> np.ndarray:
        """``embed_query`` in a worker thread."""
        return await asyncio.to_thread(self.embed_query, text, prompt=prompt)

    def space(self, name: str | None = None) -> VectorSpace:
        """The store space (named vector) these vectors belong in.

        Args:
            name: Named-vector name; defaults to the model name (plus ``_d<dims>`` when
                truncated), e.g. ``minilm`` or ``minilm_d128``.
        """
        label = Path(self.model_name).name if self.spec.source == "local" else self.model_name
        return VectorSpace(
            name=name or space_name(label, self.dims if self.truncating else None),
            model=self.model_name,
            fingerprint=self.fingerprint,
            dims=self.dims,
            distance="cosine",
        )

    @property
    def stats(self) -> EmbedderStats:
        """Model calls, texts embedded and truncated, cache hits and misses."""
        with self._lock:
            return EmbedderStats(
                self.calls, self.embedded, self.truncated, self._cache_hits, self._cache_misses
            )

    def __repr__(self) -> str:
        return (
            f"Embedder({self.model_name!r}, dims={self.dims}, device={self.device!r}, "
            f"fingerprint={self.fingerprint!r})"
        )

    # ---- internals ---------------------------------------------------------------------

    def _embed(self, items: list[str], prompt: str, show_progress: bool) -> np.ndarray:
        n = len(items)
        if n == 0:
            return np.zeros((0, self.dims), dtype=np.float32)
        cache = self.cache
        if cache is None:
            missing = list(range(n))
            out: np.ndarray | None = None
            hashes: list[str] = []
        else:
            hashes = [sha256_text(t) for t in items]
            found = cache.get(self.fingerprint, self.dims, prompt, hashes)
            missing = [i for i, v in enumerate(found) if v is None]
            with self._lock:
                self._cache_hits += n - len(missing)
                self._cache_misses += len(missing)
            out = np.empty((n, self.dims), dtype=np.float32)
            for i, v in enumerate(found):
                if v is not None:
                    out[i] = v
            if not missing:
                return out
        # Embed each distinct missing text once.
        first: dict[str, int] = {}
        for i in missing:
            first.setdefault(items[i], i)
        todo = list(first)
        vecs = self._run(todo, list(first.values()), prompt, show_progress)
        if cache is not None:
            cache.put(
                self.fingerprint, self.dims, prompt, [hashes[i] for i in first.values()], vecs
            )
        if out is None and len(todo) == n:
            return vecs  # no cache, no duplicates: the model's output in input order
        if out is None:
            out = np.empty((n, self.dims), dtype=np.float32)
        row = {t: j for j, t in enumerate(todo)}
        for i in missing:
            out[i] = vecs[row[items[i]]]
        return out

    def _run(
        self, texts: list[str], positions: list[int], prompt: str, show_progress: bool
    ) -> np.ndarray:
        """One model call, truncation counted and reported, then dims and normalisation."""
        over = self._backend.too_long(texts, prompt)
        if over:
            with self._lock:
                self.truncated += len(over)
            warnings.warn(
                f"{len(over)} of {len(texts)} texts sent to the model exceed the "
                f"{self.max_seq_length}-token window "
                f"of {self.model_name!r} and were truncated (first at index {positions[over[0]]})",
                TruncationWarning,
                stacklevel=4,
            )
        raw = self._backend.encode(
            texts, prompt=prompt, batch_size=self.batch_size, show_progress=show_progress
        )
        with self._lock:
            self.calls += 1
            self.embedded += len(texts)
        if self.truncating:
            return truncate(
                raw, self.dims, normalize=self.normalize, layer_norm_first=self.layer_norm
            )
        return np.ascontiguousarray(l2_normalize(raw) if self.normalize else raw)
