"""Voyage embeddings (``POST {base_url}/embeddings``) through the official ``voyageai`` client.

Goes through ``voyageai.Embedding.acreate`` rather than ``AsyncClient.embed``: the
latter drops each item's ``index`` and retries on its own. ``input_type`` is
``document``/``query``; ``output_dimension`` is sent for the sizes the model
shortens to server-side; ``output_dtype="float"``; the client asks for base64 and
decodes it. ``usage.total_tokens`` is counted.
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


class VoyageBackend(ApiBackend):
    """Voyage AI embedding models."""

    provider = "voyage"

    def _new_client(self) -> Any:
        import voyageai

        return voyageai.Embedding  # stateless: key, URL and timeout go with each call

    async def _send(self, client: Any, texts: list[str], kind: Kind) -> Reply:
        from voyageai import error as verr

        extra: dict[str, Any] = {}
        if self.server_dims is not None:
            extra["output_dimension"] = self.server_dims
        try:
            resp = await client.acreate(
                input=texts, model=self.model, input_type=kind, truncation=True,
                output_dtype="float", api_key=self._key, base_url=self.url,
                request_timeout=self.timeout, **extra,
            )  # fmt: skip
        except (verr.Timeout, verr.APIConnectionError) as exc:
            raise ProviderFailure(f"{type(exc).__name__}: {exc.user_message}") from None
        except verr.VoyageError as exc:
            headers = {str(k).lower(): v for k, v in (exc.headers or {}).items()}
            message = str(exc.user_message or "")
            body = str(exc.http_body or "")
            if body and body not in message:  # the client words 5xx itself: keep the server's
                message = f"{message} {body[:300]}".strip()
            raise ProviderFailure(
                message, status=exc.http_status,
                retry_after=parse_retry_after(headers.get("retry-after")),
            ) from None
        try:
            pairs = [(item["index"], item["embedding"]) for item in resp.data]
            tokens = resp.usage.total_tokens
        except (AttributeError, KeyError, TypeError) as exc:
            raise malformed(f"no data[].index/embedding ({type(exc).__name__}: {exc})") from None
        return Reply(
            order_by_index(pairs, len(texts)), int(tokens) if isinstance(tokens, int) else None
        )
