"""Weaviate as plain local processes: the managed single server (``managed``) and a
local N-node cluster (``cluster``)."""

from embedweave.server.cluster import ManagedCluster
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
    "ManagedCluster",
    "ManagedWeaviate",
    "ServerPorts",
    "allocate_ports",
    "resolve_binary",
    "status",
    "stop_detached",
]
