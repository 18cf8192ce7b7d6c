"""Cohere embeddings (``POST /v2/embed``) through the official ``cohere`` client.

``input_type`` is ``search_document`` for documents and ``search_query`` for queries
(Cohere's v3/v4 models embed the two differently); ``output_dimension`` is sent for
embed-v4.0 sizes; ``embedding_types=["float"]``. The answer's ``embeddings.float``
rows are in input order; ``meta.billed_units.input_tokens`` is counted.
"""

from __future__ import annotations

from typing import Any

from embedweave.backends.api import (
    ApiBackend,
    Kind,
    ProviderFailure,
    Reply,
    malformed,
    order_by_index,
    parse_retry_after,
)

INPUT_TYPES: dict[str, str] = {"query": "search_query", "document": "search_document"}


class CohereBackend(ApiBackend):
    """Cohere embed v3 / v4."""

    provider = "cohere"

    def _new_client(self) -> Any:
        import cohere
        import httpx

        http = httpx.AsyncClient(timeout=self.timeout)  # ours, so we can close it
        sdk = cohere.AsyncClientV2(
            api_key=self._key, base_url=self.url, timeout=self.timeout, max_retries=0,
            httpx_client=http,
        )  # fmt: skip
        return sdk, http

    async def _close_client(self, client: Any) -> None:
        await client[1].aclose()

    async def _send(self, client: Any, texts: list[str], kind: Kind) -> Reply:
        import httpx
        from cohere.core.api_error import ApiError

        extra: dict[str, Any] = {}
        if self.server_dims is not None:
            extra["output_dimension"] = self.server_dims
        try:
            resp = await client[0].embed(
                model=self.model, texts=texts, input_type=INPUT_TYPES[kind],
                embedding_types=["float"], request_options={"max_retries": 0}, **extra,
            )  # fmt: skip
        except ApiError as exc:
            headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
            raise ProviderFailure(
                _message(exc.body), status=exc.status_code,
                retry_after=parse_retry_after(headers.get("retry-after")),
            ) from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise ProviderFailure(f"{type(exc).__name__}: {exc}") from None
        except (ValueError, TypeError, KeyError) as exc:  # the SDK could not parse the body
            raise malformed(f"{type(exc).__name__}: {exc}"[:300]) from None
        rows = getattr(getattr(resp, "embeddings", None), "float_", None)
        if not isinstance(rows, list):
            raise malformed("no embeddings.float in the answer")
        billed = getattr(getattr(resp, "meta", None), "billed_units", None)
        tokens = getattr(billed, "input_tokens", None)
        return Reply(
            order_by_index(list(enumerate(rows)), len(texts)),
            int(tokens) if isinstance(tokens, (int, float)) else None,
        )


def _message(body: Any) -> str:
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(body)
