"""Weaviate as a plain local process: the managed single server (``managed``)."""

from embedweave.server.managed import (
    WEAVIATE_VERSION,
    ManagedWeaviate,
    ServerPorts,
    allocate_ports,
    resolve_binary,
    status,
    stop_detached,
)

__all__ = [
    "WEAVIATE_VERSION",
    "ManagedWeaviate",
    "ServerPorts",
    "allocate_ports",
    "resolve_binary",
    "status",
    "stop_detached",
]
