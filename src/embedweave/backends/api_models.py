"""API model names (``openai:``, ``cohere:``, ``voyage:``), what each model allows, its spec.

The spelling is ``provider:model``: ``openai:text-embedding-3-small``,
``cohere:embed-v4.0``, ``voyage:voyage-3.5``, ``openai:bge-m3`` (any OpenAI-compatible
server, with ``base_url``). It is parsed before any local folder or Hugging Face lookup;
a Hugging Face id has a ``/`` and never a ``:`` (``openai/clip-vit-base-patch32``,
``Cohere/Cohere-embed-multilingual-v3.0``), so the two never meet. A local folder that
really is named ``openai:x`` is reached as ``./openai:x``.

Nothing here imports a provider client; ``embedweave.backends.api`` runs the requests.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from typing import Literal

from embedweave.errors import ModelNotAvailableError
from embedweave.model_spec import ModelSpec

API_BACKEND = "api"
Provider = Literal["openai", "cohere", "voyage"]
PROVIDERS: tuple[Provider, ...] = ("openai", "cohere", "voyage")

#: Environment variables holding each provider's key, first found wins.
KEY_ENV: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "cohere": ("CO_API_KEY", "COHERE_API_KEY"),
    "voyage": ("VOYAGE_API_KEY",),
}
#: Environment variables holding each provider's API root.
URL_ENV: dict[str, str] = {
    "openai": "OPENAI_BASE_URL",
    "cohere": "CO_API_URL",
    "voyage": "VOYAGE_BASE_URL",
}
DEFAULT_URL: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "cohere": "https://api.cohere.com",
    "voyage": "https://api.voyageai.com/v1",
}
EXTRA: dict[str, str] = {"openai": "openai", "cohere": "cohere", "voyage": "voyageai"}


@dataclass(frozen=True)
class Limits:
    """What one request may carry (the provider's documented caps).

    Attributes:
        texts: Inputs per request.
        tokens: Tokens summed over a request's inputs; ``None``: no documented cap.
    """

    texts: int
    tokens: int | None = None


#: ``"any"``: every size 1..native (OpenAI text-embedding-3-*); a tuple: those sizes only.
ServerDims = Literal["any"] | tuple[int, ...]


@dataclass(frozen=True)
class ApiModelInfo:
    """Facts about one hosted model.

    Attributes:
        dims: Default output dims (what the API returns without a size).
        server_dims: Sizes the API shortens to itself; empty: none (truncate locally).
        context: Tokens per input.
        limits: Per-request caps.
        matryoshka: Trained so that a prefix of the vector is a good embedding.
    """

    dims: int
    server_dims: ServerDims = ()
    context: int | None = None
    limits: Limits | None = None
    matryoshka: bool = False

    def allows_server(self, dims: int) -> bool:
        """Whether the API itself returns ``dims``-sized vectors for this model."""
        if self.server_dims == "any":
            return 1 <= dims <= self.dims
        return dims in self.server_dims

    @property
    def max_dims(self) -> int:
        """The largest size this model can output (Voyage 3.5: 2048 > default 1024)."""
        if self.server_dims == "any" or not self.server_dims:
            return self.dims
        return max(self.dims, *self.server_dims)


#: Provider-wide request caps: OpenAI 2,048 inputs and 300k tokens per request;
#: Cohere 96 texts per call; Voyage 1,000 texts and a token cap per model (below; from
#: https://docs.voyageai.com/reference/embeddings-api; models it does not list get the
#: smallest, 120k).
PROVIDER_LIMITS: dict[str, Limits] = {
    "openai": Limits(2048, 300_000),
    "cohere": Limits(96, None),
    "voyage": Limits(1000, 120_000),
}

_V35 = (256, 512, 1024, 2048)
KNOWN: dict[str, dict[str, ApiModelInfo]] = {
    "openai": {
        "text-embedding-3-small": ApiModelInfo(1536, "any", 8191, matryoshka=True),
        "text-embedding-3-large": ApiModelInfo(3072, "any", 8191, matryoshka=True),
        "text-embedding-ada-002": ApiModelInfo(1536, (), 8191),
    },
    "cohere": {
        "embed-v4.0": ApiModelInfo(1536, (256, 512, 1024, 1536), 128_000, matryoshka=True),
        "embed-english-v3.0": ApiModelInfo(1024, (), 512),
        "embed-multilingual-v3.0": ApiModelInfo(1024, (), 512),
        "embed-english-light-v3.0": ApiModelInfo(384, (), 512),
        "embed-multilingual-light-v3.0": ApiModelInfo(384, (), 512),
    },
    "voyage": {
        "voyage-4": ApiModelInfo(1024, _V35, 32_000, Limits(1000, 320_000), True),
        "voyage-4-lite": ApiModelInfo(1024, _V35, 32_000, Limits(1000, 1_000_000), True),
        "voyage-4-large": ApiModelInfo(1024, _V35, 32_000, Limits(1000, 120_000), True),
        "voyage-3.5": ApiModelInfo(1024, _V35, 32_000, Limits(1000, 320_000), True),
        "voyage-3.5-lite": ApiModelInfo(1024, _V35, 32_000, Limits(1000, 1_000_000), True),
        "voyage-3-large": ApiModelInfo(1024, _V35, 32_000, Limits(1000, 120_000), True),
        "voyage-code-3": ApiModelInfo(1024, _V35, 32_000, Limits(1000, 120_000), True),
        "voyage-3": ApiModelInfo(1024, (), 32_000, Limits(1000, 120_000)),
        "voyage-3-lite": ApiModelInfo(512, (), 32_000, Limits(1000, 120_000)),
        "voyage-multilingual-2": ApiModelInfo(1024, (), 32_000, Limits(1000, 120_000)),
        "voyage-finance-2": ApiModelInfo(1024, (), 32_000, Limits(1000, 120_000)),
        "voyage-law-2": ApiModelInfo(1024, (), 16_000, Limits(1000, 120_000)),
    },
}


@dataclass(frozen=True)
class ApiModelName:
    """A parsed ``provider:model``."""

    provider: Provider
    model: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


def parse_api_model(name: object) -> ApiModelName | None:
    """``"cohere:embed-v4.0"`` -> ``ApiModelName("cohere", "embed-v4.0")``; else ``None``.

    Only the three lower-case provider prefixes count, so Hugging Face ids
    (``openai/...``, ``Cohere/...``), paths (``./openai:x``) and Windows drives
    (``C:\\models``) are never taken for API models.
    """
    if not isinstance(name, str):
        return None
    provider, sep, model = name.partition(":")
    if not sep or provider not in PROVIDERS:
        return None
    model = model.strip()
    if not model or "\n" in model:
        raise ModelNotAvailableError(f"API model {name!r}: the model name after ':' is empty")
    return ApiModelName(provider, model)


def is_api_model(name: object) -> bool:
    """Whether ``name`` is spelled ``openai:``/``cohere:``/``voyage:`` + model."""
    return parse_api_model(name) is not None


def base_url_for(provider: str, base_url: str | None) -> str:
    """The API root: the argument, else the provider's variable, else its public URL."""
    return (base_url or os.environ.get(URL_ENV[provider]) or DEFAULT_URL[provider]).rstrip("/")


def is_hosted(provider: str, url: str) -> bool:
    """Whether ``url`` is the provider's own public endpoint."""
    return url.rstrip("/") == DEFAULT_URL[provider]


def api_key_for(provider: str, api_key: str | None) -> str | None:
    """The key: the argument, else the provider's usual variable (``OPENAI_API_KEY`` ...)."""
    if api_key:
        return api_key
    for var in KEY_ENV[provider]:
        if os.environ.get(var):
            return os.environ[var]
    return None


def model_info(name: ApiModelName) -> ApiModelInfo | None:
    """The catalogued facts of a model, or ``None`` for one not listed here."""
    return KNOWN[name.provider].get(name.model)


def request_limits(name: ApiModelName, info: ApiModelInfo | None) -> Limits:
    """Per-request caps for a model (its own, else the provider's)."""
    if info is not None and info.limits is not None:
        return info.limits
    return PROVIDER_LIMITS[name.provider]


def api_fingerprint(name: ApiModelName, url: str) -> str:
    """Provider + model, plus the server when it is not the provider's own endpoint.

    Two OpenAI-compatible servers may serve different weights under one model name
    (``bge-m3`` on TEI and on vLLM with another revision), so their vectors never mix.
    """
    parts = [name.provider, name.model]
    if not is_hosted(name.provider, url):
        parts.append(url)
    return "api-" + hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


_PROBED: dict[tuple[str, str, str], int] = {}
_PROBE_LOCK = threading.Lock()


def remember_dims(name: ApiModelName, url: str, dims: int) -> None:
    """Record the dims a server answered for a model (probed once per process)."""
    with _PROBE_LOCK:
        _PROBED[(name.provider, name.model, url)] = dims


def probed_dims(name: ApiModelName, url: str) -> int | None:
    """Dims learnt from an earlier probe in this process, if any."""
    with _PROBE_LOCK:
        return _PROBED.get((name.provider, name.model, url))


def api_spec(name: ApiModelName, url: str, dims: int, info: ApiModelInfo | None) -> ModelSpec:
    """The ``ModelSpec`` of an API model whose native dims are known."""
    trained: tuple[int, ...] = ()
    if info is not None and info.matryoshka and info.server_dims != "any":
        trained = tuple(sorted({*info.server_dims, dims}))  # "any": every size is server-side
    return ModelSpec(
        name=str(name),
        dims=dims,
        matryoshka_dims=trained,
        max_seq_length=info.context if info is not None else None,
        prompts={},
        languages=None,
        fingerprint=api_fingerprint(name, url),
        backend=API_BACKEND,
        path=url,
        source="api",
        description=f"{name.provider} embeddings API model {name.model!r} at {url}",
    )
