"""Open an API model: check the extra and key, settle the dims, build its backend.

``dimensions`` goes to the API when that model shortens server-side to that size
(OpenAI text-embedding-3-*: any 1..native; Cohere embed-v4.0: 256/512/1024/1536;
Voyage 3.5/3-large/code-3: 256/512/1024/2048); any other size up to the native one is
truncated and renormalised locally (``dims_source="local"``), warning as for local
models when the model was not trained for it. A model not in the catalogue (any
OpenAI-compatible server) is asked once per process for one vector to learn its width.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal

from embedweave.backends.api import ApiBackend, RetryPolicy
from embedweave.backends.api_models import (
    EXTRA,
    KEY_ENV,
    ApiModelInfo,
    ApiModelName,
    api_key_for,
    api_spec,
    base_url_for,
    model_info,
    probed_dims,
    remember_dims,
    request_limits,
)
from embedweave.errors import ModelNotAvailableError
from embedweave.matryoshka import check_dims
from embedweave.model_spec import ModelSpec

DimsSource = Literal["native", "server", "local"]


class MissingApiKeyError(ModelNotAvailableError, ValueError):
    """No API key was given and the provider's variable is not set."""


@dataclass(frozen=True)
class ApiModel:
    """An opened API model.

    Attributes:
        spec: Its spec (``dims`` = the API's default size, ``path`` = the API root).
        backend: Runs the requests.
        dims: Output dims.
        dims_source: ``native`` (the API's default size), ``server`` (the API shortened
            the vectors) or ``local`` (truncated and renormalised here).
    """

    spec: ModelSpec
    backend: ApiBackend
    dims: int
    dims_source: DimsSource


def require_extra(provider: str) -> None:
    """Raise naming the ``pip install`` when the provider's client is not installed."""
    module = EXTRA[provider]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ModelNotAvailableError(
            f"{provider} embedding models need the {module!r} package, which is not "
            f"installed: pip install 'embedweave[{provider}]'"
        ) from exc


def backend_class(provider: str) -> type[ApiBackend]:
    """The backend class of a provider."""
    if provider == "openai":
        from embedweave.backends.openai import OpenAIBackend

        return OpenAIBackend
    if provider == "cohere":
        from embedweave.backends.cohere import CohereBackend

        return CohereBackend
    from embedweave.backends.voyage import VoyageBackend

    return VoyageBackend


def plan_dims(
    spec: ModelSpec, info: ApiModelInfo | None, dimensions: int | None
) -> tuple[int, int | None, DimsSource]:
    """(output dims, size to ask the API for, where the size comes from).

    Raises:
        ValueError: ``dimensions`` is not positive, or larger than the model can give.
    """
    if dimensions is None:
        return spec.dims, None, "native"
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions <= 0:
        raise ValueError(f"dimensions must be a positive integer, got {dimensions!r}")
    if info is not None and info.allows_server(dimensions):
        if dimensions == spec.dims:
            return spec.dims, None, "native"
        return dimensions, dimensions, "server"
    if dimensions > spec.dims:
        sizes = "" if info is None or not info.server_dims else f" (API sizes: {info.server_dims})"
        raise ValueError(
            f"dimensions={dimensions} exceeds the {spec.dims} dims of {spec.name!r}{sizes}"
        )
    check_dims(spec, dimensions)  # warns when the model was not trained for this size
    return dimensions, None, "local"


def open_api_model(
    name: ApiModelName,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    dimensions: int | None = None,
    max_concurrency: int = 8,
    timeout: float = 60.0,
    max_retries: int = 6,
    request_size: int | None = None,
) -> ApiModel:
    """Build the backend of ``provider:model`` (see the module doc).

    Raises:
        ModelNotAvailableError: the provider's extra is not installed.
        MissingApiKeyError: no key in the argument or the provider's variable.
        ValueError: bad ``dimensions`` or request options.
        ApiEmbeddingError: probing an uncatalogued model's width failed.
    """
    require_extra(name.provider)
    key = api_key_for(name.provider, api_key)
    if not key:
        raise MissingApiKeyError(
            f"{name} needs an API key: pass api_key= or set "
            + " or ".join(f"${v}" for v in KEY_ENV[name.provider])
        )
    if not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
    url = base_url_for(name.provider, base_url)
    info = model_info(name)
    cls = backend_class(name.provider)
    limits = request_limits(name, info)
    retry = RetryPolicy(max_retries=max_retries)
    native = info.dims if info is not None else probed_dims(name, url)
    if native is None:
        probe_spec = api_spec(name, url, 1, info)
        probe = cls(
            probe_spec, name, api_key=key, server_dims=None, expect_dims=None, limits=limits,
            max_concurrency=1, timeout=timeout, retry=retry,
        )  # fmt: skip
        native = int(probe.encode(["dimension probe"], prompt="").shape[1])
        remember_dims(name, url, native)
    spec = api_spec(name, url, native, info)
    dims, server_dims, source = plan_dims(spec, info, dimensions)
    backend = cls(
        spec, name, api_key=key, server_dims=server_dims,
        expect_dims=dims if source != "local" else spec.dims, limits=limits,
        max_concurrency=max_concurrency, timeout=timeout, retry=retry, request_size=request_size,
    )  # fmt: skip
    return ApiModel(spec, backend, dims, source)


def resolve_api_spec(
    name: ApiModelName, *, api_key: str | None = None, base_url: str | None = None
) -> ModelSpec:
    """The spec of an API model; a catalogued one needs no key and no request."""
    url = base_url_for(name.provider, base_url)
    info = model_info(name)
    native = info.dims if info is not None else probed_dims(name, url)
    if native is not None:
        return api_spec(name, url, native, info)
    return open_api_model(name, api_key=api_key, base_url=base_url).spec
