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
from typing import Any, Literal

import numpy as np

from embedweave.backends import (
    Backend,
    Runtime,
    load_backend,
    pick_device,
    preferred_runtime,
)
from embedweave.backends.api import ApiBackend, Kind
from embedweave.backends.api_models import API_BACKEND, ApiModelName, parse_api_model
from embedweave.cache import EmbeddingCache, sha256_text
from embedweave.matryoshka import check_dims, l2_normalize, truncate
from embedweave.model_spec import ST_BACKEND
from embedweave.models import ModelSpec, resolve_model
from embedweave.precision import use_bf16
from embedweave.store.base import VectorSpace

#: Texts per forward pass when ``batch_size`` is not given, per runtime. On a 2-core
#: AMX CPU OpenVINO's bf16 kernels ran batches of 16 at 0.93x-1.72x the speed of
#: batches of 64 in five side-by-side runs (median 1.18x), with a quarter of the
#: activations per batch; PyTorch keeps 64 (benchmarks/end_to_end.py --only embed,
#: benchmarks/embed_bf16_limits.py; figures in docs/benchmarks.md).
DEFAULT_BATCH_SIZE: dict[str, int] = {"torch": 64, "openvino": 16}
#: PyTorch running a transformer in fp32 on a CPU (no bf16 there, or ``precision="fp32"``):
#: batches of 16 ran 1.14-1.26x batches of 64 on a 2-core AVX2 Zen 3, where LlamaIndex's
#: batches of 10 had out-run the old default (benchmarks/embed_batch_size.py).
CPU_FP32_BATCH_SIZE = 16

#: ``Embedder(precision=...)``: ``auto`` picks per device (see ``Embedder``).
EmbedPrecision = Literal["auto", "fp32", "bf16", "fp16"]


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
        api_requests: Successful embeddings API requests (API models; else 0).
        api_retries: API attempts repeated after a 429/5xx/timeout.
        api_tokens: Tokens the API reported (what it bills).
    """

    calls: int
    embedded: int
    truncated: int
    cache_hits: int
    cache_misses: int
    api_requests: int = 0
    api_retries: int = 0
    api_tokens: int = 0


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
            folder, Hugging Face id, a ``ModelSpec``, or an API model
            ``openai:<model>`` (also any OpenAI-compatible server, with ``base_url``),
            ``cohere:<model>``, ``voyage:<model>`` (see docs/api-models.md).
        dimensions: Output dims (Matryoshka truncation, then renormalisation); ``None``
            keeps the native dims. Must be <= native dims; warns once when the model was
            not trained for that size.
        batch_size: Texts per forward pass; ``None``: the runtime's best on CPU, 64 for
            PyTorch (16 for a transformer run in fp32 on a CPU) and 16 for OpenVINO
            (measured in docs/benchmarks.md).
        device: ``cuda``, ``mps``, ``cpu``...; ``None`` picks cuda > mps > cpu.
        normalize: L2-normalise outputs (cosine = dot product).
        query_prompt: Prepended to queries; ``None`` uses the prompt saved with the model
            (if any), ``""`` disables it.
        document_prompt: Prepended to documents; same rules.
        cache: ``EmbeddingCache`` or path of its SQLite file; ``None``: no cache.
        layer_norm: Layer-norm before Matryoshka slicing; ``None`` follows the model spec.
        fp16: Half-precision weights; ``None`` follows ``precision``.
        precision: Arithmetic of local transformer models: ``auto`` = fp16 weights on
            CUDA, bf16 autocast on CPUs where it beats fp32 (AMX, or AVX512-BF16 where
            a probe shows it faster: ``precision.bf16_native``), fp32 elsewhere; or
            ``fp32``, ``bf16`` (autocast), ``fp16`` (half weights). Every precision
            makes vectors of the same space (same fingerprint; agreement with fp32
            measured in docs/embedding.md), so collections written at one are searched
            at another.
        trust_remote_code: Let a sentence-transformers model run code from its folder.
        runtime: What runs a local transformer model: ``torch`` (PyTorch), or
            ``openvino`` (CPU only, ``pip install 'embedweave[openvino]'``): the
            transformer converted once to OpenVINO IR (cached), bf16 where ``precision``
            picks it; on a 2-core AMX CPU 1.3x the PyTorch bf16 speed
            (docs/embedding.md). Same vectors' space either way. ``None``:
            ``$EMBEDWEAVE_RUNTIME`` (so the CLI and route tables follow it) where the
            model and device can take it, else ``torch``.
        api_key: API models: the key; default ``$OPENAI_API_KEY`` / ``$CO_API_KEY`` /
            ``$VOYAGE_API_KEY``. Never shown in reprs, errors or records.
        base_url: API models: the API root, e.g. ``http://tei:8080/v1``; default
            ``$OPENAI_BASE_URL`` / ``$CO_API_URL`` / ``$VOYAGE_BASE_URL`` or the public one.
        max_concurrency: API models: requests in flight at once.
        timeout: API models: seconds per request attempt.
        max_retries: API models: retries of a request after 429/5xx/timeouts.
        request_size: API models: texts per request (default the provider's cap; e.g.
            32 for Text Embeddings Inference's default ``--max-client-batch-size``).

    Attributes:
        spec: The resolved model.
        model_name: ``spec.name``.
        dims: Output dims.
        fingerprint: Identifies the vectors this embedder makes: model weights, dims,
            normalisation (and layer norm / document prompt when used).
        calls: Model invocations so far; 0 new calls when everything came from the cache.
        precision: Arithmetic in effect: ``bf16``, ``fp16``, ``fp32`` (``api`` for API
            models).
        runtime: ``torch``, ``openvino``, or ``api``.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | ModelSpec = "minilm",
        *,
        dimensions: int | None = None,
        batch_size: int | None = None,
        device: str | None = None,
        normalize: bool = True,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        cache: EmbeddingCache | str | os.PathLike[str] | None = None,
        layer_norm: bool | None = None,
        fp16: bool | None = None,
        precision: EmbedPrecision = "auto",
        trust_remote_code: bool = False,
        runtime: Runtime | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        max_concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 6,
        request_size: int | None = None,
    ) -> None:
        if batch_size is not None and (
            not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0
        ):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        for label, value in (("query_prompt", query_prompt), ("document_prompt", document_prompt)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{label} must be a str or None, got {type(value).__name__}")
        api = _api_name(model)
        api_backend: ApiBackend | None = None
        if api is not None:
            if (device is not None or fp16 is not None or precision != "auto"
                    or runtime not in (None, "torch")):
                raise ValueError(
                    f"{api} runs on its provider's servers: device/fp16/precision/runtime "
                    "do not apply"
                )
            from embedweave.backends.api_factory import open_api_model

            opened = open_api_model(
                api, api_key=api_key, dimensions=dimensions, max_concurrency=max_concurrency,
                base_url=base_url or (model.path if isinstance(model, ModelSpec) else None),
                timeout=timeout, max_retries=max_retries, request_size=request_size,
            )  # fmt: skip
            self.spec: ModelSpec = opened.spec
            self.dims = opened.dims
            self.dims_source: str = opened.dims_source
            api_backend = opened.backend
        else:
            if api_key is not None or base_url is not None:
                raise ValueError(
                    f"api_key/base_url apply to API models (openai:, cohere:, voyage:), not "
                    f"{os.fspath(model) if not isinstance(model, ModelSpec) else model.name!r}"
                )
            self.spec = resolve_model(model)
            if dimensions is None:
                self.dims = self.spec.dims
            else:
                check_dims(self.spec, dimensions)
                self.dims = int(dimensions)
            self.dims_source = "local" if self.dims < self.spec.dims else "native"
        self.model_name = self.spec.name
        self.truncating = self.dims_source == "local"
        self.normalize = bool(normalize)
        self.layer_norm = self.spec.layer_norm if layer_norm is None else bool(layer_norm)
        self.query_prompt = self.spec.query_prompt if query_prompt is None else query_prompt
        self.document_prompt = (
            self.spec.document_prompt if document_prompt is None else document_prompt
        )
        self.cache: EmbeddingCache | None = (
            cache if isinstance(cache, EmbeddingCache) or cache is None else EmbeddingCache(cache)
        )
        self._api: ApiBackend | None = api_backend
        if precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ValueError(
                f"precision must be 'auto', 'fp32', 'bf16' or 'fp16', got {precision!r}"
            )
        if runtime is None:
            runtime = _default_runtime(self.spec, api_backend, device, precision)
        if fp16 is None and api_backend is None:
            on_cuda = runtime == "torch" and pick_device(device).startswith("cuda")
            fp16 = precision == "fp16" or (precision == "auto" and on_cuda)
        self._backend: Backend = api_backend if api_backend is not None else load_backend(
            self.spec, device, fp16=fp16, trust_remote_code=trust_remote_code, runtime=runtime
        )
        self.runtime: str = "api" if api_backend is not None else runtime
        self.device = self._backend.device
        self.precision, self._bf16 = _resolve_precision(self._backend, precision, bool(fp16))
        self.batch_size: int = (
            batch_size if batch_size is not None else _default_batch_size(self._backend,
                                                                          self.runtime,
                                                                          self.precision)
        )
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
        if self.dims_source == "server":
            parts.append("srv")  # the API shortened the vectors, not a local slice
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
        return self._embed(validate_texts(texts), p, show_progress, "document")

    def embed_queries(self, texts: Sequence[str], *, prompt: str | None = None) -> np.ndarray:
        """Embed queries (query prompt applied) -> float32 array (len(texts), dims)."""
        p = self.query_prompt if prompt is None else prompt
        return self._embed(validate_texts(texts, "query"), p, False, "query")

    def embed_query(self, text: str, *, prompt: str | None = None) -> np.ndarray:
        """Embed one query -> float32 vector (dims,)."""
        p = self.query_prompt if prompt is None else prompt
        return self._embed(validate_texts([text], "query"), p, False, "query")[0]

    async def aembed_documents(
        self, texts: Sequence[str], *, prompt: str | None = None
    ) -> np.ndarray:
        """``embed_documents`` without blocking the loop: API models await their async
        client on this loop; local models run in a worker thread."""
        if self._api is None:
            return await asyncio.to_thread(self.embed_documents, texts, prompt=prompt)
        p = self.document_prompt if prompt is None else prompt
        return await self._aembed(validate_texts(texts), p, "document")

    async def aembed_queries(
        self, texts: Sequence[str], *, prompt: str | None = None
    ) -> np.ndarray:
        """``embed_queries`` without blocking the loop (see ``aembed_documents``)."""
        if self._api is None:
            return await asyncio.to_thread(self.embed_queries, texts, prompt=prompt)
        p = self.query_prompt if prompt is None else prompt
        return await self._aembed(validate_texts(texts, "query"), p, "query")

    async def aembed_query(self, text: str, *, prompt: str | None = None) -> np.ndarray:
        """``embed_query`` without blocking the loop (see ``aembed_documents``)."""
        if self._api is None:
            return await asyncio.to_thread(self.embed_query, text, prompt=prompt)
        p = self.query_prompt if prompt is None else prompt
        return (await self._aembed(validate_texts([text], "query"), p, "query"))[0]

    def space(self, name: str | None = None) -> VectorSpace:
        """The store space (named vector) these vectors belong in.

        Args:
            name: Named-vector name; defaults to the model name (plus ``_d<dims>`` when
                truncated), e.g. ``minilm`` or ``minilm_d128``.
        """
        label = Path(self.model_name).name if self.spec.source == "local" else self.model_name
        return VectorSpace(
            name=name or space_name(label, self.dims if self.dims != self.spec.dims else None),
            model=self.model_name,
            fingerprint=self.fingerprint,
            dims=self.dims,
            distance="cosine",
            dims_source=self.dims_source,
        )

    @property
    def stats(self) -> EmbedderStats:
        """Model calls, texts embedded and truncated, cache hits and misses."""
        api = self._api
        with self._lock:
            return EmbedderStats(
                self.calls, self.embedded, self.truncated, self._cache_hits, self._cache_misses,
                api.requests if api else 0, api.retries if api else 0, api.tokens if api else 0,
            )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"Embedder({self.model_name!r}, dims={self.dims}, device={self.device!r}, "
            f"fingerprint={self.fingerprint!r})"
        )

    # ---- internals ---------------------------------------------------------------------

    def _cache_prompt(self, prompt: str, kind: Kind) -> str:
        """The cache's prompt key: API models that embed by ``input_type`` add the kind."""
        if self._api is not None and self._api.provider in ("cohere", "voyage"):
            return f"[{kind}]{prompt}"
        return prompt

    def _lookup(
        self, items: list[str], prompt: str
    ) -> tuple[np.ndarray | None, list[str], list[int]]:
        """(rows found so far or None without a cache, text hashes, indices still to embed)."""
        n = len(items)
        cache = self.cache
        if cache is None:
            return None, [], list(range(n))
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
        return out, hashes, missing

    @staticmethod
    def _distinct(items: list[str], missing: list[int]) -> dict[str, int]:
        """Each distinct missing text -> its first index (embedded once)."""
        first: dict[str, int] = {}
        for i in missing:
            first.setdefault(items[i], i)
        return first

    def _fill(
        self, items: list[str], out: np.ndarray | None, missing: list[int],
        todo: list[str], vecs: np.ndarray,
    ) -> np.ndarray:  # fmt: skip
        if out is None and len(todo) == len(items):
            return vecs  # no cache, no duplicates: the model's output in input order
        if out is None:
            out = np.empty((len(items), self.dims), dtype=np.float32)
        row = {t: j for j, t in enumerate(todo)}
        for i in missing:
            out[i] = vecs[row[items[i]]]
        return out

    def _embed(
        self, items: list[str], prompt: str, show_progress: bool, kind: Kind = "document"
    ) -> np.ndarray:
        n = len(items)
        if n == 0:
            return np.zeros((0, self.dims), dtype=np.float32)
        key = self._cache_prompt(prompt, kind)
        out, hashes, missing = self._lookup(items, key)
        if not missing and out is not None:
            return out
        first = self._distinct(items, missing)
        todo = list(first)
        vecs = self._run(todo, list(first.values()), prompt, show_progress, kind)
        if self.cache is not None:
            self.cache.put(
                self.fingerprint, self.dims, key, [hashes[i] for i in first.values()], vecs
            )
        return self._fill(items, out, missing, todo, vecs)

    async def _aembed(self, items: list[str], prompt: str, kind: Kind) -> np.ndarray:
        """``_embed`` for API models on the running loop (cache I/O in a worker thread)."""
        api = self._api
        assert api is not None
        n = len(items)
        if n == 0:
            return np.zeros((0, self.dims), dtype=np.float32)
        key = self._cache_prompt(prompt, kind)
        out, hashes, missing = await asyncio.to_thread(self._lookup, items, key)
        if not missing and out is not None:
            return out
        first = self._distinct(items, missing)
        todo = list(first)
        raw = await api.aencode(todo, prompt=prompt, kind=kind)
        vecs = self._finish(raw, len(todo))
        if self.cache is not None:
            await asyncio.to_thread(
                self.cache.put, self.fingerprint, self.dims, key,
                [hashes[i] for i in first.values()], vecs,
            )  # fmt: skip
        return self._fill(items, out, missing, todo, vecs)

    def _run(
        self,
        texts: list[str],
        positions: list[int],
        prompt: str,
        show_progress: bool,
        kind: Kind = "document",
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
        if self._api is not None:
            raw = self._api.encode(texts, prompt=prompt, kind=kind)
        else:
            raw = self._backend.encode(
                texts, prompt=prompt, batch_size=self.batch_size, show_progress=show_progress,
                **({"bf16": True} if self._bf16 else {}),
            )
        return self._finish(raw, len(texts))

    def _finish(self, raw: np.ndarray, count: int) -> np.ndarray:
        """Count one model call, then Matryoshka truncation and normalisation."""
        with self._lock:
            self.calls += 1
            self.embedded += count
        if self.truncating:
            return truncate(
                raw, self.dims, normalize=self.normalize, layer_norm_first=self.layer_norm
            )
        return np.ascontiguousarray(l2_normalize(raw) if self.normalize else raw)


def _is_transformer(backend: Backend) -> bool:
    """A transformer under sentence-transformers (not a static lookup, USE or an API)."""
    from embedweave.backends.sentence_transformer import SentenceTransformerBackend

    return isinstance(backend, SentenceTransformerBackend) and not backend.spec.tokenizer_path


def _default_batch_size(backend: Backend, runtime: str, precision: str) -> int:
    """``batch_size=None``: the runtime's default, smaller for an fp32 transformer on CPU."""
    if (runtime == "torch" and precision == "fp32" and str(backend.device).startswith("cpu")
            and _is_transformer(backend)):
        return CPU_FP32_BATCH_SIZE
    return DEFAULT_BATCH_SIZE.get(runtime, 64)


def _resolve_precision(backend: Backend, precision: str, half: bool) -> tuple[str, bool]:
    """``(precision in effect, bf16 autocast on)`` of a loaded backend.

    Only transformer models under sentence-transformers use autocast; static-embedding
    models (a lookup and a mean) and numpy models run fp32 whatever is asked.
    """
    if not _is_transformer(backend):
        if precision in ("bf16", "fp16"):
            raise ValueError(
                f"precision={precision!r} applies to transformer models; "
                f"{backend.spec.name!r} runs in fp32 (use 'auto' or 'fp32')"
            )
        return ("fp32", False) if not isinstance(backend, ApiBackend) else ("api", False)
    if half:
        return "fp16", False
    if precision == "auto":
        on = use_bf16("auto", backend.device)
    else:
        on = use_bf16(precision, backend.device) if precision == "bf16" else False
    return ("bf16" if on else "fp32"), on


def _default_runtime(
    spec: ModelSpec, api: ApiBackend | None, device: str | None, precision: str
) -> Runtime:
    """``$EMBEDWEAVE_RUNTIME`` where it applies (local transformer models on CPU), else torch.

    An explicit ``runtime=`` is checked strictly; the variable is a machine-wide
    preference, so models it cannot run (API, static, USE, GPU, fp16) keep PyTorch.
    """
    if preferred_runtime() == "torch" or api is not None or precision == "fp16":
        return "torch"
    if spec.backend != ST_BACKEND or spec.tokenizer_path or pick_device(device) != "cpu":
        return "torch"
    return "openvino"


def _api_name(model: object) -> ApiModelName | None:
    """The parsed ``provider:model`` of an API model name or spec, else ``None``."""
    if isinstance(model, ModelSpec):
        return parse_api_model(model.name) if model.backend == API_BACKEND else None
    return parse_api_model(model) if isinstance(model, str) else None
