"""``embedweave weaviate start|stop|status``: a detached local server for the CLI.

``embedweave weaviate cluster start|stop|status``: a detached local N-node cluster, for
trying replication (``ingest --replication-factor 3 --url <a node's URL>``).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from embedweave.paths import cache_dir


def default_data_dir() -> Path:
    """CLI server data dir: ``$EMBEDWEAVE_WEAVIATE_DATA`` or ``<cache>/weaviate-data/cli``."""
    env = os.environ.get("EMBEDWEAVE_WEAVIATE_DATA")
    return Path(env) if env else cache_dir() / "weaviate-data" / "cli"


def register(sub: Any) -> None:
    """Add the ``weaviate`` command group."""
    p = sub.add_parser("weaviate", help="run a local Weaviate server (no Docker)")
    actions = p.add_subparsers(dest="action", required=True)
    for name, func, text in (
        ("start", _start, "start a detached server and wait until ready"),
        ("stop", _stop, "stop the server (SIGTERM, then kill)"),
        ("status", _status, "report running state, version and ports"),
    ):
        a = actions.add_parser(name, help=text)
        a.add_argument("--data-dir", type=Path, default=None, help="persistence directory")
        a.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "start":
            a.add_argument("--port", type=int, default=None, help="HTTP port (default: free)")
            a.add_argument("--grpc-port", type=int, default=None, help="gRPC port")
        a.set_defaults(func=func)
    c = actions.add_parser("cluster", help="a local N-node cluster (replication)")
    c_actions = c.add_subparsers(dest="cluster_action", required=True)
    for name, func, text in (
        ("start", _cluster_start, "start N detached nodes on free ports and wait until ready"),
        ("stop", _cluster_stop, "stop every node of the cluster"),
        ("status", _cluster_status, "report each node's state and URL"),
    ):
        a = c_actions.add_parser(name, help=text)
        a.add_argument("--data-dir", type=Path, default=None,
                       help="cluster directory (default <cache>/weaviate-data/cluster)")
        a.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "start":
            a.add_argument("--nodes", type=int, default=3, help="number of nodes (default 3)")
        a.set_defaults(func=func)


def default_cluster_dir() -> Path:
    """CLI cluster dir: ``$EMBEDWEAVE_WEAVIATE_CLUSTER`` or ``<cache>/weaviate-data/cluster``."""
    env = os.environ.get("EMBEDWEAVE_WEAVIATE_CLUSTER")
    return Path(env) if env else cache_dir() / "weaviate-data" / "cluster"


def _print_cluster(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(info))
        return
    print(f"cluster at {info['data_dir']}: {info['running']} of {info['size']} node(s) running")
    for i, node in enumerate(info["nodes"], 1):
        state = (f"{node['url']} (grpc {node['ports']['grpc']}, pid {node['pid']})"
                 if node.get("running") else "not running")
        print(f"  node{i}: {state}")


def _cluster_start(args: argparse.Namespace) -> int:
    from embedweave.server.cluster import ManagedCluster, cluster_status

    data = args.data_dir or default_cluster_dir()
    info = cluster_status(data)
    if info["size"] and info["running"] == info["size"]:
        _print_cluster(info, args.json)
        return 0
    size = info["size"] or args.nodes
    ManagedCluster(data, size).start(detach=True)
    _print_cluster(cluster_status(data), args.json)
    return 0


def _cluster_stop(args: argparse.Namespace) -> int:
    from embedweave.server.cluster import stop_detached_cluster

    stopped = stop_detached_cluster(args.data_dir or default_cluster_dir())
    if args.json:
        print(json.dumps({"stopped": stopped}))
    else:
        print(f"stopped {stopped} node(s)" if stopped else "not running")
    return 0


def _cluster_status(args: argparse.Namespace) -> int:
    from embedweave.server.cluster import cluster_status

    info = cluster_status(args.data_dir or default_cluster_dir())
    _print_cluster(info, args.json)
    return 0 if info["size"] and info["running"] == info["size"] else 3


def _print(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(info))
        return
    if not info.get("running"):
        print(f"not running (data dir {info['data_dir']})")
        return
    ports = info["ports"]
    print(f"Weaviate {info['version']} running (pid {info['pid']}) at {info['url']}")
    print("ports: " + ", ".join(f"{k}={v}" for k, v in ports.items()))
    print(f"data dir: {info['data_dir']}")


def _start(args: argparse.Namespace) -> int:
    from embedweave import server as srv

    data = args.data_dir or default_data_dir()
    info = srv.status(data)
    if not info["running"]:
        srv.ManagedWeaviate(data, http_port=args.port, grpc_port=args.grpc_port).start(
            detach=True
        )
        info = srv.status(data)
    _print(info, args.json)
    return 0


def _stop(args: argparse.Namespace) -> int:
    from embedweave import server as srv

    data = args.data_dir or default_data_dir()
    stopped = srv.stop_detached(data)
    if args.json:
        print(json.dumps({"stopped": stopped}))
    else:
        print("stopped" if stopped else "not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from embedweave import server as srv

    data = args.data_dir or default_data_dir()
    info = srv.status(data)
    _print(info, args.json)
    return 0 if info["running"] else 3
