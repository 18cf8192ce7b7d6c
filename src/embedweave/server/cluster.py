"""A local N-node Weaviate cluster on loopback: the managed server's big brother.

Each node is a ``ManagedWeaviate`` process with its own data dir and free ports
(HTTP, gRPC, gossip, data, raft and raft + 1), joined by memberlist (``CLUSTER_JOIN``
to node 1) and raft (``RAFT_JOIN`` listing every node, ``RAFT_BOOTSTRAP_EXPECT`` = N).
For trying replication (``WeaviateStore(replication_factor=..., consistency=...)``) and
for tests that stop and restart nodes; nothing here is meant for production.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from embedweave.errors import ServerError
from embedweave.server.managed import (
    WEAVIATE_VERSION,
    ManagedWeaviate,
    ServerPorts,
    allocate_ports,
    read_state,
    status,
    stop_detached,
)

CLUSTER_FILE = "embedweave-cluster.json"


class _ClusterNode(ManagedWeaviate):
    """A cluster member: ports fixed up front, since every node must know the others'."""

    def __init__(self, data_dir: Path, ports: ServerPorts, **kwargs: Any) -> None:
        super().__init__(data_dir, **kwargs)
        self._fixed = ports

    def _choose_ports(self) -> ServerPorts:
        return self._fixed


class ManagedCluster:
    """``size`` local Weaviate nodes forming one replicated cluster on 127.0.0.1.

    Use as a context manager, or ``start()`` / ``stop()``; ``stop_node(i)`` and
    ``start_node(i)`` take one node down and bring it back on the same data and ports.

    Args:
        data_dir: Parent folder; node ``i`` keeps its data in ``<data_dir>/node<i>``.
        size: Number of nodes (at least 1).
        version: Pinned server version used when building a binary.
        binary: Explicit server binary.
        startup_timeout: Seconds each node may take to become ready.
        env: Extra environment for every node (e.g. ``REPLICATION_MINIMUM_FACTOR``).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        size: int = 3,
        *,
        version: str = WEAVIATE_VERSION,
        binary: str | os.PathLike[str] | None = None,
        startup_timeout: float = 120.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"a cluster needs at least one node, got size={size!r}")
        self.data_dir = Path(data_dir)
        self.size = size
        self.version = version
        self.binary = binary
        self.startup_timeout = startup_timeout
        self.extra_env = dict(env or {})
        self.nodes: list[ManagedWeaviate] = []

    @property
    def urls(self) -> list[str]:
        """HTTP base URL of every node, node 1 first."""
        return [n.url for n in self._require_nodes()]

    def node(self, i: int) -> ManagedWeaviate:
        """Node ``i`` (1-based, as the node names are)."""
        nodes = self._require_nodes()
        if not 1 <= i <= len(nodes):
            raise ValueError(f"node must be in 1..{len(nodes)}, got {i}")
        return nodes[i - 1]

    def _require_nodes(self) -> list[ManagedWeaviate]:
        if not self.nodes:
            raise ServerError("the cluster is not started")
        return self.nodes

    def _ports(self) -> list[ServerPorts]:
        recorded = self._recorded_ports()
        if recorded is not None:
            return recorded
        taken: set[int] = set()
        out: list[ServerPorts] = []
        while len(out) < self.size:
            p = allocate_ports()
            mine = {*asdict(p).values(), p.raft_rpc}
            if mine & taken:
                continue
            taken |= mine
            out.append(p)
        return out

    def _recorded_ports(self) -> list[ServerPorts] | None:
        """Ports of an earlier start on this data dir: raft remembers its peers by them."""
        path = self.data_dir / CLUSTER_FILE
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            ports = [ServerPorts(**p) for p in data["ports"]]
        except (ValueError, KeyError, TypeError):
            return None
        return ports if len(ports) == self.size else None

    def _build(self) -> list[ManagedWeaviate]:
        ports = self._ports()
        raft_join = ",".join(f"node{i + 1}:{p.raft}" for i, p in enumerate(ports))
        nodes: list[ManagedWeaviate] = []
        for i, p in enumerate(ports):
            env = {
                "CLUSTER_HOSTNAME": f"node{i + 1}",
                "RAFT_JOIN": raft_join,
                "RAFT_BOOTSTRAP_EXPECT": str(self.size),
                **({"CLUSTER_JOIN": f"127.0.0.1:{ports[0].gossip}"} if i else {}),
                **self.extra_env,
            }
            nodes.append(_ClusterNode(
                self.data_dir / f"node{i + 1}", p, version=self.version, binary=self.binary,
                startup_timeout=self.startup_timeout, env=env,
            ))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / CLUSTER_FILE).write_text(
            json.dumps({"size": self.size, "ports": [asdict(p) for p in ports]})
        )
        return nodes

    def start(self, *, detach: bool = False) -> ManagedCluster:
        """Start every node at once (raft needs a quorum to elect a leader) and wait.

        Raises:
            ServerError: naming each node that did not become ready, with its log tail.
        """
        if not self.nodes:
            self.nodes = self._build()
        errors: dict[int, BaseException] = {}

        def run(i: int, node: ManagedWeaviate) -> None:
            try:
                node.start(detach=detach)
            except BaseException as exc:  # reported below, for every node
                errors[i] = exc

        threads = [threading.Thread(target=run, args=(i, n), daemon=True)
                   for i, n in enumerate(self.nodes) if not n.is_running()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            self.stop()
            raise ServerError("cluster nodes failed to start:\n" + "\n".join(
                f"node{i + 1}: {exc}" for i, exc in sorted(errors.items())))
        return self

    def stop_node(self, i: int) -> None:
        """Stop node ``i`` (1-based); its data stays for ``start_node``."""
        self.node(i).stop()

    def kill_node(self, i: int) -> None:
        """SIGKILL node ``i``: a crash, not a shutdown (it does not leave the cluster)."""
        node = self.node(i)
        proc = node._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        node._proc = None

    def start_node(self, i: int) -> None:
        """Start node ``i`` again on its data dir and ports, and wait until ready."""
        self.node(i).start()

    def stop(self) -> None:
        """Stop every node."""
        for n in self.nodes:
            n.stop()

    def __enter__(self) -> ManagedCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- detached clusters (CLI) ----------------------------------------------------------
def cluster_status(data_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Running state of each node of the cluster recorded in ``data_dir``."""
    root = Path(data_dir)
    path = root / CLUSTER_FILE
    size = json.loads(path.read_text())["size"] if path.exists() else 0
    nodes = [status(root / f"node{i + 1}") for i in range(size)]
    return {"data_dir": str(root), "size": size, "nodes": nodes,
            "running": sum(bool(n["running"]) for n in nodes)}


def stop_detached_cluster(data_dir: str | os.PathLike[str]) -> int:
    """Stop every detached node recorded under ``data_dir``; return how many ran."""
    root = Path(data_dir)
    stopped = 0
    for node_dir in sorted(root.glob("node*")):
        if read_state(node_dir) is not None and stop_detached(node_dir):
            stopped += 1
    return stopped


__all__ = ["ManagedCluster", "cluster_status", "stop_detached_cluster"]
