"""Connect the v4 client to a Weaviate: a URL (any server) or a started managed one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from embedweave.errors import EmbedweaveError

if TYPE_CHECKING:
    from embedweave.server import ManagedWeaviate


def connect(url: str | None, grpc_port: int | None, api_key: str | None,
            server: ManagedWeaviate | None) -> Any:
    """A connected ``weaviate.WeaviateClient`` that answered ready (closed on failure)."""
    import weaviate
    from weaviate.classes.init import AdditionalConfig, Auth, Timeout

    if url is None and server is None:
        raise ValueError("give url= (any Weaviate) or server= (a started ManagedWeaviate)")
    if url is not None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"url must look like http://host:port, got {url!r}")
        host, secure = parsed.hostname, parsed.scheme == "https"
        port = parsed.port or (443 if secure else 80)
        gport = grpc_port or 50051
    else:
        assert server is not None
        host, secure, port, gport = server.host, False, server.http_port, server.grpc_port
        api_key = api_key or server.api_key
    client = weaviate.connect_to_custom(
        http_host=host, http_port=port, http_secure=secure,
        grpc_host=host, grpc_port=gport, grpc_secure=secure,
        auth_credentials=Auth.api_key(api_key) if api_key else None,
        # skip_init_checks avoids the client's PyPI version probe: nothing phones home.
        skip_init_checks=True,
        additional_config=AdditionalConfig(timeout=Timeout(init=30, query=120, insert=300)),
    )
    try:
        if not client.is_ready():
            raise EmbedweaveError(f"Weaviate at {host}:{port} is not ready")
    except Exception:
        client.close()
        raise
    return client
